/** Jest setup of the `postgres` project: this spec's test databases (and its coordinators') are PostgreSQL. */
process.env.TCC_TEST_DB = 'postgres';
