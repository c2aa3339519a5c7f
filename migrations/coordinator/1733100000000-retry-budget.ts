/**
 * The retry budget (docs/contract.md §2.1): what a transaction and each branch ask for (retryFor in
 * ms, maxAttempts; NULL: not set), what a branch has used of it (failed phase-two calls since the
 * last reset, and when the first of them failed), and when it was spent: on the branch, and on the
 * transaction, which then waits for a person (no next attempt) while keeping its status.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class RetryBudget1733100000000 implements MigrationInterface {
  name = 'RetryBudget1733100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE tcc_transactions ADD COLUMN retry_for_ms BIGINT NULL');
    await q.query('ALTER TABLE tcc_transactions ADD COLUMN max_attempts INT NULL');
    await q.query('ALTER TABLE tcc_transactions ADD COLUMN budget_spent_at BIGINT NULL');
    await q.query('ALTER TABLE tcc_branches ADD COLUMN retry_for_ms BIGINT NULL');
    await q.query('ALTER TABLE tcc_branches ADD COLUMN max_attempts INT NULL');
    await q.query('ALTER TABLE tcc_branches ADD COLUMN budget_failures INT NOT NULL DEFAULT 0');
    await q.query('ALTER TABLE tcc_branches ADD COLUMN first_failed_at BIGINT NULL');
    await q.query('ALTER TABLE tcc_branches ADD COLUMN budget_spent_at BIGINT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    for (const column of ['budget_spent_at', 'first_failed_at', 'budget_failures', 'max_attempts', 'retry_for_ms']) {
      await q.query(`ALTER TABLE tcc_branches DROP COLUMN ${column}`);
    }
    for (const column of ['budget_spent_at', 'max_attempts', 'retry_for_ms']) {
      await q.query(`ALTER TABLE tcc_transactions DROP COLUMN ${column}`);
    }
  }
}
