-- First start of the compose MySQL only: the example services' databases. The coordinator's
-- database (tcc) comes from MYSQL_DATABASE. Tables come from the migrations, never from here.
CREATE DATABASE IF NOT EXISTS tcc_account CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE DATABASE IF NOT EXISTS tcc_order CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
