/** The W3C traceparent the initiator began with, handed on to every confirm and cancel. */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Traceparent1732600000000 implements MigrationInterface {
  name = 'Traceparent1732600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE tcc_transactions ADD COLUMN traceparent VARCHAR(64) NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE tcc_transactions DROP COLUMN traceparent');
  }
}
