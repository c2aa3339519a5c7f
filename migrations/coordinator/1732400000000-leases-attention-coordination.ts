/**
 * Replica coordination: when each transaction was decided and flagged for attention, and the
 * fencing epoch of the scan leader (a paused old leader's claims fail once a newer one wrote its
 * epoch here).
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes } from './column-types';

export class LeasesAttentionCoordination1732400000000 implements MigrationInterface {
  name = 'LeasesAttentionCoordination1732400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE tcc_transactions ADD COLUMN decided_at BIGINT NULL');
    await q.query('ALTER TABLE tcc_transactions ADD COLUMN attention_at BIGINT NULL');
    await q.query('CREATE INDEX idx_tcc_transactions_attention ON tcc_transactions (attention_at)');
    const suffix = columnTypes(q).tableSuffix;
    await q.query(`CREATE TABLE tcc_coordination (
      name VARCHAR(64) NOT NULL,
      epoch BIGINT NOT NULL,
      holder VARCHAR(64) NULL,
      updated_at BIGINT NOT NULL,
      PRIMARY KEY (name)
    )${suffix}`);
    await q.query("INSERT INTO tcc_coordination (name, epoch, holder, updated_at) VALUES ('scan-leader', 0, NULL, 0)");
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE tcc_coordination');
    await q.query(columnTypes(q).dropIndex('idx_tcc_transactions_attention', 'tcc_transactions'));
    await q.query('ALTER TABLE tcc_transactions DROP COLUMN attention_at');
    await q.query('ALTER TABLE tcc_transactions DROP COLUMN decided_at');
  }
}
