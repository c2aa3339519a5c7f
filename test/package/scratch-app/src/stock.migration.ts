/** The scratch app's own table: one row per article, `available` to sell and `reserved` by open tries. */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateStock1764000000000 implements MigrationInterface {
  name = 'CreateStock1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // The same statement on PostgreSQL and MariaDB; the checks make a broken try/confirm/cancel fail loudly.
    await queryRunner.query(`CREATE TABLE stock (
      sku VARCHAR(64) NOT NULL PRIMARY KEY,
      available INT NOT NULL CHECK (available >= 0),
      reserved INT NOT NULL CHECK (reserved >= 0)
    )`);
    await queryRunner.query("INSERT INTO stock (sku, available, reserved) VALUES ('widget', 10, 0)");
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE stock');
  }
}
