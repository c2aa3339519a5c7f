import { Injectable } from '@nestjs/common';
import { BranchStatus, GlobalStatus } from '@tcc/client/protocol';
import type { DecisionEvent } from '../domain/transaction.state-machine';
import { branchesDone, registrationCondition, transition } from './transition.sql';
import type { Database, Executor, Row } from './database';
import { BRANCH_COLUMNS, num, toBranch, toTransaction, TRANSACTION_COLUMNS, type BeginOutcome, type BranchOutcome, type BranchRecord, type NewBranch, type TransactionRecord } from './records';
import { LAST_ERROR_MAX, PHASE_TWO, PHASE_TWO_STATUSES, StoreBase } from './store.sql';
import { WriteBatcher, type BatchedWrite, type BatchSettings } from './write.batcher';

/** A decision's writer: the replica that takes the lease, the reason, and the client it is decided for (unset: the coordinator's own, e.g. a timeout). */
export interface DecisionOptions {
  owner: string;
  leaseMs: number;
  reason?: string | null;
  client?: string;
}

/**
 * The life of a transaction: begin, branch registration, the decision, the rounds of phase two and
 * the finish; and the reads that go with them. The writes of concurrent requests share batches on
 * MySQL and PostgreSQL. Every status change is a compare-and-set built from the state machine (store.sql.ts).
 * Times are epoch milliseconds from the database's clock, never a replica's.
 */
@Injectable()
export class LifecycleStore extends StoreBase {
  /**
   * MySQL and PostgreSQL: the lifecycle writes of concurrent requests share one batch and one
   * durable commit (write.batcher.ts). SQLite: each write runs alone (its single connection
   * serialises them anyway).
   */
  private readonly batcher: WriteBatcher | null;

  constructor(db: Database, batching: BatchSettings = { concurrency: 4, windowMs: 0 }) {
    super(db);
    this.batcher = db.dialect === 'sqlite' ? null : new WriteBatcher(db, batching);
  }

  /** Batches and writes gathered in them so far (MySQL, PostgreSQL), for the benchmark and the tests. */
  get batchStats(): { batches: number; writes: number } {
    return this.batcher ? { ...this.batcher.stats } : { batches: 0, writes: 0 };
  }

  /** Runs a lifecycle write: in the next batch on MySQL and PostgreSQL, alone (with `now` as the clock) on SQLite. */
  private write<T>(gid: string, build: (now: string) => Omit<BatchedWrite<T>, 'gid'>): Promise<T> {
    if (this.batcher) return this.batcher.submit({ gid, ...build(this.db.sql.batchNow) });
    const { statements, read } = build(this.now);
    return this.db.transaction(async (tx) => {
      const results: Array<Row[] | number> = [];
      for (const statement of statements) {
        results.push(/^\s*SELECT/i.test(statement.sql) ? await tx.select(statement.sql, statement.params) : await tx.execute(statement.sql, statement.params));
      }
      const [clock] = await tx.select(`SELECT ${this.now} AS now_ms`);
      return read(results, num(clock.now_ms));
    });
  }

  /**
   * Inserts a TRYING transaction. Created: answers its times without reading them back (the
   * batch's clock when batched). Not created (the gid exists): the caller reads what is there.
   */
  begin(gid: string, timeoutMs: number, metadata: string | null, traceparent: string | null, client: string): Promise<BeginOutcome> {
    if (!this.batcher) {
      return this.insertTransaction(gid, timeoutMs, metadata, traceparent, client).then(async (created): Promise<BeginOutcome> => {
        const tx = created ? await this.findTransaction(gid) : null;
        return tx ? { created: true, createdAt: tx.createdAt, expiresAt: tx.expiresAt } : { created: false };
      });
    }
    const now = this.db.sql.batchNow;
    return this.batcher.submit({
      gid,
      statements: [
        {
          sql: this.insertIfAbsent(`INTO tcc_transactions (gid, status, timeout_ms, metadata, traceparent, client, created_at, updated_at, expires_at, next_attempt_at, rounds)
                VALUES (?, ?, ?, ?, ?, ?, ${now}, ${now}, ${now} + ?, ${now} + ?, 0)`),
          params: [gid, GlobalStatus.TRYING, timeoutMs, metadata, traceparent, client, timeoutMs, timeoutMs],
        },
      ],
      read: ([inserted], nowMs): BeginOutcome => (inserted === 1 ? { created: true, createdAt: nowMs, expiresAt: nowMs + timeoutMs } : { created: false }),
    });
  }

  /** Inserts a TRYING transaction; false when the gid exists already. */
  async insertTransaction(gid: string, timeoutMs: number, metadata: string | null, traceparent: string | null, client: string): Promise<boolean> {
    // One statement: the database's clock reads the same instant for every column of it.
    const affected = await this.db.execute(
      this.insertIfAbsent(`INTO tcc_transactions (gid, status, timeout_ms, metadata, traceparent, client, created_at, updated_at, expires_at, next_attempt_at, rounds)
       VALUES (?, ?, ?, ?, ?, ?, ${this.now}, ${this.now}, ${this.now} + ?, ${this.now} + ?, 0)`),
      [gid, GlobalStatus.TRYING, timeoutMs, metadata, traceparent, client, timeoutMs, timeoutMs],
    );
    return affected === 1;
  }

  async findTransaction(gid: string): Promise<TransactionRecord | null> {
    const rows = await this.db.select(`SELECT ${TRANSACTION_COLUMNS} FROM tcc_transactions WHERE gid = ?`, [gid]);
    return rows.length ? toTransaction(rows[0]) : null;
  }

  async findBranches(gid: string): Promise<BranchRecord[]> {
    const rows = await this.db.select(`SELECT ${BRANCH_COLUMNS} FROM tcc_branches WHERE gid = ? ORDER BY created_at, branch_id`, [gid]);
    return rows.map(toBranch);
  }

  async findBranch(gid: string, branchId: string): Promise<BranchRecord | null> {
    const rows = await this.db.select(`SELECT ${BRANCH_COLUMNS} FROM tcc_branches WHERE gid = ? AND branch_id = ?`, [gid, branchId]);
    return rows.length ? toBranch(rows[0]) : null;
  }

  /**
   * Inserts a branch only while its transaction may take one (TRANSITIONS.register: TRYING, before
   * its deadline), is owned by `client` and holds fewer than `maxBranches` branches; false when
   * nothing was inserted (duplicate, unknown gid, another client's, full, or no longer open).
   *
   * The registration writes the transaction's own row too, in the same local transaction: first a
   * provisional `branch_count + 1` (which takes the row's exclusive lock before the insert reads
   * it), then, where it differs, the count as it really is. Every decision writes that row as well, so a registration
   * and a decision conflict on it wherever they run: one waits for the other's row lock on one
   * server, and on a multi-writer cluster (Galera) certification refuses the second to commit, where
   * the insert's shared lock, taken on one node only, would not have stopped the decision.
   */
  insertBranch(gid: string, b: NewBranch, client: string, maxBranches: number): Promise<boolean> {
    return this.write(gid, (now) => {
      const open = registrationCondition(now, client);
      return {
        statements: [
          { sql: `UPDATE tcc_transactions SET branch_count = branch_count + 1 WHERE gid = ? AND ${open.sql}`, params: [gid, ...open.params] },
          {
            sql: this.insertIfAbsent(`INTO tcc_branches (gid, branch_id, participant, protocol, confirm_target, cancel_target, payload, status, attempts, created_at, updated_at)
                  SELECT gid, ?, ?, ?, ?, ?, ?, ?, 0, ${now}, ${now} FROM tcc_transactions
                  WHERE gid = ? AND ${open.sql} AND (SELECT COUNT(*) FROM tcc_branches c WHERE c.gid = ?) < ?${this.shareLock}`),
            params: [b.branchId, b.participant, b.protocol, b.confirmTarget, b.cancelTarget, b.payload, BranchStatus.REGISTERED, gid, ...open.params, gid, maxBranches],
          },
          // The provisional count corrected (a duplicate or a full transaction inserted nothing);
          // written only when it differs, so that nothing depends on the deadline being read the same twice.
          {
            sql: 'UPDATE tcc_transactions SET branch_count = (SELECT COUNT(*) FROM tcc_branches c WHERE c.gid = ?) WHERE gid = ? AND branch_count <> (SELECT COUNT(*) FROM tcc_branches c WHERE c.gid = ?)',
            params: [gid, gid, gid],
          },
        ],
        read: ([, inserted]) => inserted === 1,
      };
    });
  }

  /**
   * Records a decision (commit, rollback, timeout: TRYING -> COMMITTING or ROLLING_BACK) as a
   * compare-and-set (transition.sql.ts). The winner owns the transaction for `leaseMs` (it drives
   * phase two at once); if it dies, the scheduler takes over when the lease expires.
   */
  async recordDecision(gid: string, event: DecisionEvent, opts: DecisionOptions): Promise<boolean> {
    return (await this.recordDecisionCounting(gid, event, opts, false)).won;
  }

  /**
   * recordDecision(), also answering how many branches the transaction has: its row's branch_count,
   * read in the same batch after the decision wrote that row (so no registration can slip in
   * between), and a caller that knows its branches from memory can tell its list is complete
   * without reading them.
   */
  recordDecisionCounting(gid: string, event: DecisionEvent, opts: DecisionOptions, countBranches = true): Promise<{ won: boolean; branches: number | null }> {
    return this.write(gid, (now) => ({
      statements: [
        transition(event, [gid], now, { reason: opts.reason ?? null, leaseOwner: opts.owner, leaseMs: opts.leaseMs }, { client: opts.client }),
        ...(countBranches ? [{ sql: 'SELECT branch_count AS n FROM tcc_transactions WHERE gid = ?', params: [gid] }] : []),
      ],
      read: ([updated, counted]) => ({
        won: updated === 1,
        branches: countBranches && Array.isArray(counted) ? num(counted[0].n) : null,
      }),
    }));
  }

  /**
   * Records one round of phase-two calls in one local transaction: each branch's attempt and
   * outcome, then either the finish (every branch done) or the release of the lease with the time
   * of the next attempt. The transaction row changes only while `owner` still holds it. Answers
   * whether the transaction finished.
   */
  async completeRound(args: {
    gid: string;
    owner: string;
    branchDone: BranchStatus;
    phase: 'confirm' | 'cancel';
    outcomes: BranchOutcome[];
    allDone: boolean;
    retryDelayMs: number;
  }): Promise<boolean> {
    const { gid, owner, outcomes } = args;
    if (args.allDone) return this.finishRound(args);
    return this.db.transaction(async (tx) => {
      const succeeded = outcomes.filter((o) => o.ok).map((o) => o.branchId);
      if (succeeded.length) {
        const done = branchesDone(gid, succeeded, args.branchDone, this.now, { attempt: true });
        await tx.execute(done.sql, done.params);
      }
      for (const failed of outcomes.filter((o) => !o.ok)) {
        const error = (failed.error ?? 'failed').slice(0, LAST_ERROR_MAX);
        await tx.execute(
          `UPDATE tcc_branches SET attempts = attempts + 1, last_error = ?, updated_at = ${this.now}
           WHERE gid = ? AND branch_id = ? AND status = ?`,
          [error, gid, failed.branchId, BranchStatus.REGISTERED],
        );
        await tx.execute(
          `INSERT INTO tcc_branch_failures (gid, branch_id, phase, attempt, error, created_at)
           SELECT gid, branch_id, ?, attempts, ?, ${this.now} FROM tcc_branches WHERE gid = ? AND branch_id = ?`,
          [args.phase, error, gid, failed.branchId],
        );
      }
      await this.release(tx, gid, owner, args.retryDelayMs);
      return false;
    });
  }

  /**
   * A round in which every branch succeeded: the branches done and the transaction finished, as
   * one write of the next batch. Answers whether the transaction finished.
   */
  private finishRound(args: { gid: string; owner: string; branchDone: BranchStatus; outcomes: BranchOutcome[] }): Promise<boolean> {
    const { gid, owner, outcomes } = args;
    return this.write(gid, (now) => ({
      statements: [
        branchesDone(gid, outcomes.map((o) => o.branchId), args.branchDone, now, { attempt: true }),
        transition('finish', [gid], now, { countRound: true }, { leaseHolder: owner, noPendingBranches: true }),
      ],
      read: ([, finished]) => finished === 1,
    }));
  }

  /**
   * Finishes a phase-two transaction that has no branch left to call (e.g. it had none, a crash
   * hit between the last branch update and the finish, or an operator resolved the last one).
   * `owner`: only while this replica holds the lease; null: whoever holds it.
   */
  async finishIfNoPending(gid: string, owner: string | null): Promise<boolean> {
    const finish = transition('finish', [gid], this.now, { countRound: false }, { leaseHolder: owner ?? undefined, noPendingBranches: true });
    return (await this.db.execute(finish.sql, finish.params)) === 1;
  }

  private async release(ex: Executor, gid: string, owner: string, delayMs: number): Promise<void> {
    await ex.execute(
      `UPDATE tcc_transactions SET owner = NULL, lease_expires_at = NULL, rounds = rounds + 1,
         next_attempt_at = ${this.now} + ?, updated_at = ${this.now}
       WHERE gid = ? AND owner = ? AND status ${PHASE_TWO}`,
      [Math.max(0, Math.round(delayMs)), gid, owner, ...PHASE_TWO_STATUSES],
    );
  }
}
