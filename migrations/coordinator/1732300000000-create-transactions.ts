/**
 * Global transactions and their branches. Times are epoch milliseconds written by the database's
 * own clock (see the coordinator store), so replicas with skewed clocks compare the same instants.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes } from './column-types';

export class CreateTransactions1732300000000 implements MigrationInterface {
  name = 'CreateTransactions1732300000000';

  async up(q: QueryRunner): Promise<void> {
    const { id, text, tableSuffix: suffix } = columnTypes(q);
    await q.query(`CREATE TABLE tcc_transactions (
      gid ${id(128)} NOT NULL,
      status VARCHAR(16) NOT NULL,
      timeout_ms BIGINT NOT NULL,
      metadata ${text} NULL,
      reason VARCHAR(1024) NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL,
      next_attempt_at BIGINT NULL,
      owner VARCHAR(64) NULL,
      lease_expires_at BIGINT NULL,
      rounds INT NOT NULL DEFAULT 0,
      PRIMARY KEY (gid)
    )${suffix}`);
    // The scheduler's one scan: every unfinished transaction has next_attempt_at set (its deadline
    // while TRYING, its lease or retry time in phase two); finished ones have NULL and drop out.
    await q.query('CREATE INDEX idx_tcc_transactions_due ON tcc_transactions (next_attempt_at)');
    await q.query('CREATE INDEX idx_tcc_transactions_status_created ON tcc_transactions (status, created_at)');
    await q.query(`CREATE TABLE tcc_branches (
      gid ${id(128)} NOT NULL,
      branch_id ${id(64)} NOT NULL,
      participant VARCHAR(128) NULL,
      protocol VARCHAR(8) NOT NULL,
      confirm_target VARCHAR(2048) NOT NULL,
      cancel_target VARCHAR(2048) NOT NULL,
      payload ${text} NULL,
      status VARCHAR(16) NOT NULL,
      attempts INT NOT NULL DEFAULT 0,
      last_error VARCHAR(1024) NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      PRIMARY KEY (gid, branch_id)
    )${suffix}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE tcc_branches');
    await q.query('DROP TABLE tcc_transactions');
  }
}
