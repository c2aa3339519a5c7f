-- First start of the compose PostgreSQL only (an empty data volume): the example services'
-- databases. The coordinator's database (tcc) comes from POSTGRES_DB. Tables come from the
-- migrations, never from here.
CREATE DATABASE tcc_account;
CREATE DATABASE tcc_order;
