/**
 * Accounts and the freezes their TCC tries record. CHECK constraints restate `0 <= frozen <= balance`
 * as a last line of defence; the service's conditional UPDATEs are what keep it.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateAccounts1763900000100 implements MigrationInterface {
  name = 'CreateAccounts1763900000100';

  async up(queryRunner: QueryRunner): Promise<void> {
    const type = queryRunner.connection.options.type;
    if (type === 'mysql' || type === 'mariadb') {
      await queryRunner.query(`CREATE TABLE accounts (
        id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        balance BIGINT NOT NULL,
        frozen BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (id),
        CONSTRAINT ck_accounts_frozen CHECK (frozen >= 0 AND frozen <= balance)
      ) ENGINE=InnoDB`);
      await queryRunner.query(`CREATE TABLE account_freezes (
        gid VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        branch_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        account_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        amount BIGINT NOT NULL,
        status VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (gid, branch_id),
        KEY ix_account_freezes_account (account_id),
        CONSTRAINT ck_account_freezes_amount CHECK (amount > 0)
      ) ENGINE=InnoDB`);
      return;
    }
    if (type === 'postgres') {
      await queryRunner.query(`CREATE TABLE accounts (
        id VARCHAR(64) COLLATE "C" NOT NULL PRIMARY KEY,
        balance BIGINT NOT NULL,
        frozen BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        CONSTRAINT ck_accounts_frozen CHECK (frozen >= 0 AND frozen <= balance)
      )`);
      await queryRunner.query(`CREATE TABLE account_freezes (
        gid VARCHAR(128) COLLATE "C" NOT NULL,
        branch_id VARCHAR(64) COLLATE "C" NOT NULL,
        account_id VARCHAR(64) COLLATE "C" NOT NULL,
        amount BIGINT NOT NULL,
        status VARCHAR(16) NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (gid, branch_id),
        CONSTRAINT ck_account_freezes_amount CHECK (amount > 0)
      )`);
      await queryRunner.query('CREATE INDEX ix_account_freezes_account ON account_freezes (account_id)');
      return;
    }
    await queryRunner.query(`CREATE TABLE accounts (
      id TEXT NOT NULL PRIMARY KEY,
      balance INTEGER NOT NULL,
      frozen INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL,
      CONSTRAINT ck_accounts_frozen CHECK (frozen >= 0 AND frozen <= balance)
    )`);
    await queryRunner.query(`CREATE TABLE account_freezes (
      gid TEXT NOT NULL,
      branch_id TEXT NOT NULL,
      account_id TEXT NOT NULL,
      amount INTEGER NOT NULL CHECK (amount > 0),
      status TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (gid, branch_id)
    )`);
    await queryRunner.query('CREATE INDEX ix_account_freezes_account ON account_freezes (account_id)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE account_freezes');
    await queryRunner.query('DROP TABLE accounts');
  }
}
