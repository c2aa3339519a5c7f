import { Injectable } from '@nestjs/common';
import { BranchStatus, TransactionMode } from '@tcc/client/protocol';
import type { BranchDoneStatus } from '../domain/transaction.state-machine';
import type { Executor } from './database';
import { AUDIT_COLUMNS, num, strOrNull, type AuditRecord, type FailureRecord } from './records';
import { LAST_ERROR_MAX, LEASED, LEASED_STATUSES, StoreBase } from './store.sql';
import { branchesDone, transition } from './transition.sql';

/** What an operator does through the admin API, each action written with its audit row in one local transaction, and what the admin reads of that history. */
@Injectable()
export class OperatorStore extends StoreBase {
  /**
   * Operator: roll back, recording who and why in the same local transaction: a TRYING TCC
   * transaction (rollback); a running saga (compensate: only while no replica is in the middle of
   * a round, and its steps never sent are skipped in the same write); a PREPARED message (abort).
   */
  async forceRollback(gid: string, mode: TransactionMode, actor: string, reason: string, owner: string, leaseMs: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const why = `forced by ${actor}: ${reason}`.slice(0, 1024);
      const decision =
        mode === TransactionMode.MESSAGE
          ? transition('abort', [gid], this.now, { closeReason: why })
          : mode === TransactionMode.SAGA
            ? transition('compensate', [gid], this.now, { reason: why, leaseOwner: owner, leaseMs }, { leaseFree: true })
            : transition('rollback', [gid], this.now, { reason: why, leaseOwner: owner, leaseMs });
      const won = await tx.execute(decision.sql, decision.params);
      if (won === 1 && mode === TransactionMode.SAGA) {
        const skip = branchesDone(gid, 'unsent', BranchStatus.SKIPPED, this.now, { attempt: false, lastError: 'never sent: the saga was forced to compensate' });
        await tx.execute(skip.sql, skip.params);
      }
      if (won === 1) await this.audit(tx, gid, null, 'force-rollback', actor, reason);
      return won === 1;
    });
  }

  /**
   * Operator: make a phase-two transaction due now and claim it for `owner`, unless another
   * replica's lease is live (its round is under way). Audited with the claim.
   */
  async retryNow(gid: string, actor: string, reason: string | null, owner: string, leaseMs: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [before] = await tx.select('SELECT budget_spent_at FROM tcc_transactions WHERE gid = ?', [gid]);
      // A spent retry budget (docs/contract.md §2.1) is reset with the claim: the attention flag it set
      // is cleared (MySQL assigns left to right, so budget_spent_at, which the CASEs read, comes last).
      const claimed = await tx.execute(
        `UPDATE tcc_transactions SET owner = ?, lease_expires_at = ${this.now} + ?, next_attempt_at = ${this.now} + ?, updated_at = ${this.now},
           attention_at = CASE WHEN budget_spent_at IS NULL THEN attention_at ELSE NULL END,
           attention_reason = CASE WHEN budget_spent_at IS NULL THEN attention_reason ELSE NULL END,
           budget_spent_at = NULL
         WHERE gid = ? AND status ${LEASED} AND (owner IS NULL OR owner = ? OR lease_expires_at <= ${this.now})`,
        [owner, leaseMs, leaseMs, gid, ...LEASED_STATUSES, owner],
      );
      if (claimed !== 1) return false;
      await this.audit(tx, gid, null, 'retry', actor, reason);
      // Every branch's budget starts again: its count, its window and its mark.
      await tx.execute('UPDATE tcc_branches SET budget_failures = 0, first_failed_at = NULL, budget_spent_at = NULL WHERE gid = ? AND budget_failures > 0', [gid]);
      if (before && before.budget_spent_at !== null && before.budget_spent_at !== undefined) {
        await this.audit(tx, gid, null, 'reset-retry-budget', actor, reason);
      }
      return true;
    });
  }

  /**
   * Operator: count a branch as done by hand (confirmed while committing, cancelled while rolling
   * back), with a reason, in the same local transaction as the audit row.
   */
  async resolveBranch(gid: string, branchId: string, branchDone: BranchDoneStatus, from: 'COMMITTING' | 'ROLLING_BACK', actor: string, reason: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const done = branchesDone(gid, [branchId], branchDone, this.now, {
        attempt: false,
        lastError: `resolved by ${actor}: ${reason}`.slice(0, LAST_ERROR_MAX),
        whileStatus: from,
      });
      const resolved = await tx.execute(done.sql, done.params);
      if (resolved !== 1) return false;
      await this.audit(tx, gid, branchId, 'resolve-branch', actor, reason);
      // A transaction parked by a spent retry budget (docs/contract.md §2.1) is due again once no
      // other branch that spent its budget is left: its remaining branches are retried as before.
      await tx.execute(
        `UPDATE tcc_transactions SET next_attempt_at = ${this.now}, updated_at = ${this.now},
           attention_at = NULL, attention_reason = NULL, budget_spent_at = NULL
         WHERE gid = ? AND budget_spent_at IS NOT NULL AND owner IS NULL
           AND NOT EXISTS (SELECT 1 FROM tcc_branches b WHERE b.gid = ? AND b.branch_id <> ? AND b.budget_spent_at IS NOT NULL)`,
        [gid, gid, branchId],
      );
      return true;
    });
  }

  async findAudit(gid: string): Promise<AuditRecord[]> {
    const rows = await this.db.select(`SELECT ${AUDIT_COLUMNS} FROM tcc_audit WHERE gid = ? ORDER BY id`, [gid]);
    return rows.map((r) => ({
      id: num(r.id),
      gid: String(r.gid),
      branchId: strOrNull(r.branch_id),
      action: String(r.action),
      actor: String(r.actor),
      reason: strOrNull(r.reason),
      createdAt: num(r.created_at),
    }));
  }

  /** The latest failed attempts of a transaction's branches, newest first. */
  async findFailures(gid: string, limit: number): Promise<FailureRecord[]> {
    const rows = await this.db.select(
      `SELECT branch_id, phase, attempt, error, created_at FROM tcc_branch_failures WHERE gid = ? ORDER BY id DESC LIMIT ${Math.max(1, Math.floor(limit))}`,
      [gid],
    );
    return rows.map((r) => ({ branchId: String(r.branch_id), phase: String(r.phase), attempt: num(r.attempt), error: String(r.error), createdAt: num(r.created_at) }));
  }

  private async audit(ex: Executor, gid: string, branchId: string | null, action: string, actor: string, reason: string | null): Promise<void> {
    await ex.execute(
      `INSERT INTO tcc_audit (gid, branch_id, action, actor, reason, created_at) VALUES (?, ?, ?, ?, ?, ${this.now})`,
      [gid, branchId, action, actor.slice(0, 128), reason === null ? null : reason.slice(0, 1024)],
    );
  }
}
