/** Orders of the example order service; one order per global transaction (`gid` is unique). */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateOrders1763900000200 implements MigrationInterface {
  name = 'CreateOrders1763900000200';

  async up(queryRunner: QueryRunner): Promise<void> {
    const type = queryRunner.connection.options.type;
    if (type === 'mysql' || type === 'mariadb') {
      await queryRunner.query(`CREATE TABLE orders (
        id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        account_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        amount BIGINT NOT NULL,
        status VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        gid VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uq_orders_gid (gid),
        KEY ix_orders_account (account_id),
        CONSTRAINT ck_orders_amount CHECK (amount > 0)
      ) ENGINE=InnoDB`);
      return;
    }
    if (type === 'postgres') {
      await queryRunner.query(`CREATE TABLE orders (
        id VARCHAR(64) COLLATE "C" NOT NULL PRIMARY KEY,
        account_id VARCHAR(64) COLLATE "C" NOT NULL,
        amount BIGINT NOT NULL,
        status VARCHAR(16) NOT NULL,
        gid VARCHAR(128) COLLATE "C" NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        CONSTRAINT uq_orders_gid UNIQUE (gid),
        CONSTRAINT ck_orders_amount CHECK (amount > 0)
      )`);
      await queryRunner.query('CREATE INDEX ix_orders_account ON orders (account_id)');
      return;
    }
    await queryRunner.query(`CREATE TABLE orders (
      id TEXT NOT NULL PRIMARY KEY,
      account_id TEXT NOT NULL,
      amount INTEGER NOT NULL CHECK (amount > 0),
      status TEXT NOT NULL,
      gid TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      CONSTRAINT uq_orders_gid UNIQUE (gid)
    )`);
    await queryRunner.query('CREATE INDEX ix_orders_account ON orders (account_id)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE orders');
  }
}
