/**
 * Completion callbacks (docs/contract.md §11): one row per transaction that asked for one, written
 * in the same local transaction as the transaction itself. `state` (not `status`: a transaction's
 * status changes only in the state machine's one door) is WAITING until the first attempt, DUE
 * once an attempt failed, DELIVERED once the receiver answered success. The callback is owed when
 * its transaction's status is final and it is not DELIVERED: derived from the stored status, so a
 * crash between the finish and the send loses nothing. Leases (owner, lease_expires_at) keep two
 * replicas from sending one callback at once; times are the database's clock, as everywhere.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes } from './column-types';

export class Callbacks1733000000000 implements MigrationInterface {
  name = 'Callbacks1733000000000';

  async up(q: QueryRunner): Promise<void> {
    const { id, tableSuffix: suffix } = columnTypes(q);
    await q.query(`CREATE TABLE tcc_callbacks (
      gid ${id(128)} NOT NULL,
      target VARCHAR(2048) NOT NULL,
      protocol VARCHAR(8) NOT NULL,
      state VARCHAR(16) NOT NULL,
      attempts INT NOT NULL DEFAULT 0,
      last_error VARCHAR(1024) NULL,
      next_attempt_at BIGINT NOT NULL,
      delivered_at BIGINT NULL,
      owner VARCHAR(64) NULL,
      lease_expires_at BIGINT NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      PRIMARY KEY (gid)
    )${suffix}`);
    // The scan's read: callbacks not yet delivered, by their next attempt.
    await q.query('CREATE INDEX idx_tcc_callbacks_due ON tcc_callbacks (state, next_attempt_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    const t = columnTypes(q);
    await q.query(t.dropIndex('idx_tcc_callbacks_due', 'tcc_callbacks'));
    await q.query('DROP TABLE tcc_callbacks');
  }
}
