/**
 * The audit trail of manual actions (who, when, why, in the same transaction as the effect) and
 * the history of failed phase-two attempts (written only when an attempt fails, so the happy path
 * costs nothing more).
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes } from './column-types';

export class AuditAndFailures1732500000000 implements MigrationInterface {
  name = 'AuditAndFailures1732500000000';

  async up(q: QueryRunner): Promise<void> {
    const { id, serial, tableSuffix: suffix } = columnTypes(q);
    const pk = 'PRIMARY KEY (id)';
    await q.query(`CREATE TABLE tcc_audit (
      id ${serial},
      gid ${id(128)} NOT NULL,
      branch_id ${id(64)} NULL,
      action VARCHAR(32) NOT NULL,
      actor VARCHAR(128) NOT NULL,
      reason VARCHAR(1024) NULL,
      created_at BIGINT NOT NULL,
      ${pk}
    )${suffix}`);
    await q.query('CREATE INDEX idx_tcc_audit_gid ON tcc_audit (gid, id)');
    await q.query(`CREATE TABLE tcc_branch_failures (
      id ${serial},
      gid ${id(128)} NOT NULL,
      branch_id ${id(64)} NOT NULL,
      phase VARCHAR(8) NOT NULL,
      attempt INT NOT NULL,
      error VARCHAR(1024) NOT NULL,
      created_at BIGINT NOT NULL,
      ${pk}
    )${suffix}`);
    await q.query('CREATE INDEX idx_tcc_branch_failures_gid ON tcc_branch_failures (gid, branch_id, id)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE tcc_branch_failures');
    await q.query('DROP TABLE tcc_audit');
  }
}
