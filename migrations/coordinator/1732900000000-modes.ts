/**
 * Sagas and reliable messages on the same tables as TCC (docs/contract.md §9, §10): each
 * transaction's mode, a message's queryPrepared target, and each saga step's position and the steps
 * it waits for. Existing rows are TCC transactions.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes } from './column-types';

export class Modes1732900000000 implements MigrationInterface {
  name = 'Modes1732900000000';

  async up(q: QueryRunner): Promise<void> {
    const t = columnTypes(q);
    await q.query(`ALTER TABLE tcc_transactions ADD COLUMN mode VARCHAR(8) NOT NULL DEFAULT 'tcc'`);
    await q.query('ALTER TABLE tcc_transactions ADD COLUMN query_prepared VARCHAR(2048) NULL');
    await q.query('ALTER TABLE tcc_branches ADD COLUMN seq INT NOT NULL DEFAULT 0');
    await q.query(`ALTER TABLE tcc_branches ADD COLUMN after_ids ${t.text} NULL`);
    await q.query('CREATE INDEX idx_tcc_transactions_mode_created ON tcc_transactions (mode, created_at)');
    // A failure's phase may now be `compensate` (10 characters). SQLite does not enforce lengths.
    const type = q.connection.options.type;
    if (type === 'mysql' || type === 'mariadb') await q.query('ALTER TABLE tcc_branch_failures MODIFY phase VARCHAR(16) NOT NULL');
    if (type === 'postgres') await q.query('ALTER TABLE tcc_branch_failures ALTER COLUMN phase TYPE VARCHAR(16)');
  }

  async down(q: QueryRunner): Promise<void> {
    const t = columnTypes(q);
    await q.query(t.dropIndex('idx_tcc_transactions_mode_created', 'tcc_transactions'));
    await q.query('ALTER TABLE tcc_branches DROP COLUMN after_ids');
    await q.query('ALTER TABLE tcc_branches DROP COLUMN seq');
    await q.query('ALTER TABLE tcc_transactions DROP COLUMN query_prepared');
    await q.query('ALTER TABLE tcc_transactions DROP COLUMN mode');
  }
}
