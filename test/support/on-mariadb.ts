/** Jest setup of the `mariadb` project: its server database is MariaDB, whatever the shell exports. */
process.env.TCC_TEST_DB = 'mariadb';
