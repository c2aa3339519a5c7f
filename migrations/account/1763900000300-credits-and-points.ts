/**
 * Refund credits and loyalty points: a refund saga's credit step records what it credited (so its
 * compensation takes back exactly that), and each paid order's points are awarded once, keyed by
 * the order (a second award of one order is impossible by the primary key, beside the barrier).
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreditsAndPoints1763900000300 implements MigrationInterface {
  name = 'CreditsAndPoints1763900000300';

  async up(q: QueryRunner): Promise<void> {
    const type = q.connection.options.type;
    const mysql = type === 'mysql' || type === 'mariadb';
    const id = (n: number): string => (mysql ? `VARCHAR(${n}) CHARACTER SET ascii COLLATE ascii_bin` : type === 'postgres' ? `VARCHAR(${n}) COLLATE "C"` : 'TEXT');
    const big = mysql || type === 'postgres' ? 'BIGINT' : 'INTEGER';
    const suffix = mysql ? ' ENGINE=InnoDB' : '';
    await q.query(`ALTER TABLE accounts ADD COLUMN points ${big} NOT NULL DEFAULT 0`);
    await q.query(`CREATE TABLE account_credits (
      gid ${id(128)} NOT NULL,
      branch_id ${id(64)} NOT NULL,
      account_id ${id(64)} NOT NULL,
      order_id ${id(64)} NOT NULL,
      amount ${big} NOT NULL,
      status ${id(16)} NOT NULL,
      created_at ${big} NOT NULL,
      updated_at ${big} NOT NULL,
      PRIMARY KEY (gid, branch_id)
    )${suffix}`);
    await q.query(`CREATE TABLE points_awards (
      order_id ${id(64)} NOT NULL,
      account_id ${id(64)} NOT NULL,
      points ${big} NOT NULL,
      gid ${id(128)} NOT NULL,
      created_at ${big} NOT NULL,
      PRIMARY KEY (order_id)
    )${suffix}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE points_awards');
    await q.query('DROP TABLE account_credits');
    await q.query('ALTER TABLE accounts DROP COLUMN points');
  }
}
