/**
 * Reconciliation (docs/contract.md §13): runs over a window of finished transactions, each with a
 * persisted cursor (the finish time and gid of the last transaction whose check is written) so a
 * replica killed mid-run is resumed from it, and the mismatches found, one per run and branch.
 * An index on the finish time (updated_at of a finished transaction) lets a run page through its
 * window in order.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes } from './column-types';

export class Reconciliation1733200000000 implements MigrationInterface {
  name = 'Reconciliation1733200000000';

  async up(q: QueryRunner): Promise<void> {
    const { id, text, serial, tableSuffix: suffix } = columnTypes(q);
    await q.query(`CREATE TABLE tcc_reconcile_runs (
      id ${id(64)} NOT NULL,
      trigger_kind VARCHAR(16) NOT NULL,
      requested_by VARCHAR(128) NULL,
      state VARCHAR(16) NOT NULL,
      window_from BIGINT NOT NULL,
      window_to BIGINT NOT NULL,
      cursor_at BIGINT NULL,
      cursor_gid ${id(128)} NULL,
      checked INT NOT NULL DEFAULT 0,
      branches INT NOT NULL DEFAULT 0,
      mismatches INT NOT NULL DEFAULT 0,
      unreachable INT NOT NULL DEFAULT 0,
      expired INT NOT NULL DEFAULT 0,
      skipped INT NOT NULL DEFAULT 0,
      queries INT NOT NULL DEFAULT 0,
      owner VARCHAR(64) NULL,
      lease_expires_at BIGINT NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      finished_at BIGINT NULL,
      error VARCHAR(1024) NULL,
      PRIMARY KEY (id)
    )${suffix}`);
    await q.query('CREATE INDEX idx_tcc_reconcile_runs_state ON tcc_reconcile_runs (state, lease_expires_at)');
    await q.query('CREATE INDEX idx_tcc_reconcile_runs_created ON tcc_reconcile_runs (created_at)');
    await q.query(`CREATE TABLE tcc_reconcile_mismatches (
      id ${serial},
      run_id ${id(64)} NOT NULL,
      gid ${id(128)} NOT NULL,
      branch_id ${id(64)} NOT NULL,
      kind VARCHAR(32) NOT NULL,
      coordinator_view ${text} NOT NULL,
      participant_view ${text} NOT NULL,
      created_at BIGINT NOT NULL,
      PRIMARY KEY (id)
    )${suffix}`);
    // One finding per run and branch: a page checked again after a crash adds nothing twice.
    await q.query('CREATE UNIQUE INDEX uq_tcc_reconcile_mismatches_branch ON tcc_reconcile_mismatches (run_id, gid, branch_id)');
    await q.query('CREATE INDEX idx_tcc_transactions_updated ON tcc_transactions (updated_at, gid)');
  }

  async down(q: QueryRunner): Promise<void> {
    const t = columnTypes(q);
    await q.query(t.dropIndex('idx_tcc_transactions_updated', 'tcc_transactions'));
    await q.query('DROP TABLE tcc_reconcile_mismatches');
    await q.query('DROP TABLE tcc_reconcile_runs');
  }
}
