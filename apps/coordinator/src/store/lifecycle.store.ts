import { Injectable } from '@nestjs/common';
import { BranchStatus, GlobalStatus, type BranchPhase } from '@tcc/client/protocol';
import { BRANCH_DONE_FROM, INITIAL_STATUS, type BranchDoneStatus, type DecisionEvent } from '../domain/transaction.state-machine';
import { branchesDone, inList, registrationCondition, transition } from './transition.sql';
import type { Database, Executor, Row } from './database';
import { BRANCH_COLUMNS, num, toBranch, toTransaction, TRANSACTION_COLUMNS, type BeginOutcome, type BranchOutcome, type BranchRecord, type NewBranch, type NewCallback, type TransactionRecord } from './records';
import { LAST_ERROR_MAX, LEASED, LEASED_STATUSES, StoreBase } from './store.sql';
import { WriteBatcher, type BatchedWrite, type BatchSettings } from './write.batcher';

/** A decision's writer: the replica that takes the lease, the reason, and the client it is decided for (unset: the coordinator's own, e.g. a timeout). */
/** A saga or a message with all its steps, created in one write (docs/contract.md §9, §10). */
export interface NewStepTransaction {
  gid: string;
  mode: 'saga' | 'message';
  timeoutMs: number;
  metadata: string | null;
  traceparent: string | null;
  client: string;
  /** A message's queryPrepared target. */
  queryPrepared: string | null;
  steps: NewBranch[];
  /** A saga is driven at once by the replica that created it, under this lease. */
  owner: string;
  leaseMs: number;
  /** A completion callback (docs/contract.md §11), written in the same local transaction. */
  callback?: NewCallback | null;
}

/** One call of a saga round: done, refused (4xx) or failed (no usable answer). */
export interface SagaCallOutcome {
  branchId: string;
  result: 'done' | 'refused' | 'failed';
  error?: string;
}

/**
 * What a recorded saga round leads to: finished; turned to compensating (the caller goes on with
 * the compensations, still holding the lease); more calls due now (lease kept); released until
 * its next attempt; or the lease was lost to another replica.
 */
export type SagaRoundResult = 'finished' | 'compensating' | 'continue' | 'released' | 'lost';

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
  begin(gid: string, timeoutMs: number, metadata: string | null, traceparent: string | null, client: string, callback: NewCallback | null = null): Promise<BeginOutcome> {
    if (callback) return this.beginWithCallback(gid, timeoutMs, metadata, traceparent, client, callback);
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

  /**
   * A begin with a completion callback (docs/contract.md §11): the transaction and its callback in
   * one local transaction, outside the batches (the callback is written only when the transaction
   * was, which a batch's statements cannot see of each other).
   */
  private beginWithCallback(gid: string, timeoutMs: number, metadata: string | null, traceparent: string | null, client: string, callback: NewCallback): Promise<BeginOutcome> {
    return this.db.transaction(async (tx): Promise<BeginOutcome> => {
      const inserted = await tx.execute(
        this.insertIfAbsent(`INTO tcc_transactions (gid, status, timeout_ms, metadata, traceparent, client, created_at, updated_at, expires_at, next_attempt_at, rounds)
         VALUES (?, ?, ?, ?, ?, ?, ${this.now}, ${this.now}, ${this.now} + ?, ${this.now} + ?, 0)`),
        [gid, GlobalStatus.TRYING, timeoutMs, metadata, traceparent, client, timeoutMs, timeoutMs],
      );
      if (inserted !== 1) return { created: false };
      await this.insertCallback(tx, gid, callback);
      const [times] = await tx.select(`SELECT created_at, expires_at FROM tcc_transactions WHERE gid = ?`, [gid]);
      return { created: true, createdAt: num(times.created_at), expiresAt: num(times.expires_at) };
    });
  }

  /** A transaction's callback, WAITING, due as soon as its transaction is final. */
  private async insertCallback(ex: Executor, gid: string, callback: NewCallback): Promise<void> {
    await ex.execute(
      `INSERT INTO tcc_callbacks (gid, target, protocol, state, attempts, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, 'WAITING', 0, ${this.now}, ${this.now}, ${this.now})`,
      [gid, callback.target, callback.protocol],
    );
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
    const rows = await this.db.select(`SELECT ${BRANCH_COLUMNS} FROM tcc_branches WHERE gid = ? ORDER BY seq, created_at, branch_id`, [gid]);
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

  /** Aborts a prepared message for `client` (PREPARED -> ROLLED_BACK); false when it was not PREPARED (or not theirs). */
  async close(gid: string, client: string | undefined, reason: string): Promise<boolean> {
    const abort = transition('abort', [gid], this.now, { closeReason: reason.slice(0, 1024) }, { client });
    return (await this.db.execute(abort.sql, abort.params)) === 1;
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
    branchDone: BranchDoneStatus;
    phase: BranchPhase;
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
      for (const failed of outcomes.filter((o) => !o.ok)) await this.recordFailure(tx, gid, failed.branchId, args.phase, failed.error, [BranchStatus.REGISTERED]);
      await this.release(tx, gid, owner, args.retryDelayMs);
      return false;
    });
  }

  /** A failed call of a branch: its attempt and last error, and a row of its failure history. */
  private async recordFailure(ex: Executor, gid: string, branchId: string, phase: BranchPhase, error: string | undefined, whileIn: readonly BranchStatus[]): Promise<void> {
    const text = (error ?? 'failed').slice(0, LAST_ERROR_MAX);
    await ex.execute(
      `UPDATE tcc_branches SET attempts = attempts + 1, last_error = ?, updated_at = ${this.now}
       WHERE gid = ? AND branch_id = ? AND status ${inList(whileIn)}`,
      [text, gid, branchId, ...whileIn],
    );
    await ex.execute(
      `INSERT INTO tcc_branch_failures (gid, branch_id, phase, attempt, error, created_at)
       SELECT gid, branch_id, ?, attempts, ?, ${this.now} FROM tcc_branches WHERE gid = ? AND branch_id = ?`,
      [phase, text, gid, branchId],
    );
  }

  /**
   * Creates a saga (COMMITTING, held by `owner`, who drives it at once) or a message (PREPARED, due
   * for its queryPrepared at its deadline) with every step, in one local transaction. Not created
   * (the gid exists): the caller reads what is there.
   */
  createWithSteps(t: NewStepTransaction): Promise<BeginOutcome> {
    return this.db.transaction(async (tx) => {
      const saga = t.mode === 'saga';
      const inserted = await tx.execute(
        this.insertIfAbsent(`INTO tcc_transactions (gid, mode, status, timeout_ms, metadata, traceparent, client, query_prepared, branch_count,
                created_at, updated_at, expires_at, next_attempt_at, decided_at, owner, lease_expires_at, rounds)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ${this.now}, ${this.now}, ${this.now} + ?, ${this.now} + ?, ${saga ? this.now : 'NULL'}, ?, ${saga ? `${this.now} + ?` : '?'}, 0)`),
        [t.gid, t.mode, INITIAL_STATUS[t.mode], t.timeoutMs, t.metadata, t.traceparent, t.client, t.queryPrepared, t.steps.length, t.timeoutMs,
          saga ? t.leaseMs : t.timeoutMs, saga ? t.owner : null, saga ? t.leaseMs : null],
      );
      if (inserted !== 1) return { created: false };
      const row = `(?, ?, ?, ?, ?, ?, ?, ?, 0, ${this.now}, ${this.now}, ?, ?)`;
      await tx.execute(
        `INSERT INTO tcc_branches (gid, branch_id, participant, protocol, confirm_target, cancel_target, payload, status, attempts, created_at, updated_at, seq, after_ids)
         VALUES ${t.steps.map(() => row).join(', ')}`,
        t.steps.flatMap((b, i) => [t.gid, b.branchId, b.participant, b.protocol, b.confirmTarget, b.cancelTarget, b.payload, BranchStatus.REGISTERED, b.seq ?? i, b.after?.length ? b.after.join(',') : null]),
      );
      if (t.callback) await this.insertCallback(tx, t.gid, t.callback);
      const [times] = await tx.select(`SELECT created_at, expires_at FROM tcc_transactions WHERE gid = ?`, [t.gid]);
      return { created: true, createdAt: num(times.created_at), expiresAt: num(times.expires_at) };
    });
  }

  /**
   * Records one round of a saga's calls (actions while COMMITTING, compensations while ROLLING_BACK)
   * in one local transaction, and what follows from it (docs/contract.md §9): a refused action turns
   * the saga to compensating at once, a failed one once its deadline has passed (else it is retried
   * after `retryDelayMs`); the steps never sent are then SKIPPED in the same write. A round in
   * which every call succeeded finishes the saga when nothing is left, else keeps the lease for
   * the next round. The transaction row changes only while `owner` holds it.
   */
  recordSagaRound(args: {
    gid: string;
    owner: string;
    status: 'COMMITTING' | 'ROLLING_BACK';
    outcomes: SagaCallOutcome[];
    retryDelayMs: number;
    leaseMs: number;
  }): Promise<SagaRoundResult> {
    const { gid, owner, status, outcomes } = args;
    const acting = status === GlobalStatus.COMMITTING;
    const phase: BranchPhase = acting ? 'action' : 'compensate';
    return this.db.transaction(async (tx) => {
      const done = outcomes.filter((o) => o.result === 'done').map((o) => o.branchId);
      if (done.length) {
        const statement = branchesDone(gid, done, acting ? BranchStatus.SUCCEEDED : BranchStatus.COMPENSATED, this.now, { attempt: true });
        await tx.execute(statement.sql, statement.params);
      }
      // A refused action fails its step; a refused compensation is retried like any failure.
      const refused = acting ? outcomes.filter((o) => o.result === 'refused') : [];
      for (const r of refused) {
        const error = (r.error ?? 'refused').slice(0, LAST_ERROR_MAX);
        const statement = branchesDone(gid, [r.branchId], BranchStatus.FAILED, this.now, { attempt: true, lastError: error });
        await tx.execute(statement.sql, statement.params);
        await this.recordFailureRow(tx, gid, r.branchId, phase, error);
      }
      const failed = outcomes.filter((o) => o.result === 'failed' || (!acting && o.result === 'refused'));
      const owed: BranchDoneStatus = acting ? BranchStatus.SUCCEEDED : BranchStatus.COMPENSATED;
      for (const f of failed) await this.recordFailure(tx, gid, f.branchId, phase, f.error, BRANCH_DONE_FROM[owed]);

      if (acting && (refused.length > 0 || failed.length > 0)) {
        const event = refused.length > 0 ? 'compensate' : 'expire';
        const reason = refused.length > 0 ? `step ${refused[0].branchId} refused: ${refused[0].error ?? ''}`.slice(0, 1024) : 'timeout: actions kept failing past the saga deadline';
        const turn = transition(event, [gid], this.now, { reason, leaseOwner: owner, leaseMs: args.leaseMs }, { leaseHolder: owner });
        if ((await tx.execute(turn.sql, turn.params)) === 1) {
          const skip = branchesDone(gid, 'unsent', BranchStatus.SKIPPED, this.now, { attempt: false, lastError: 'never sent: the saga turned to compensating' });
          await tx.execute(skip.sql, skip.params);
          return 'compensating';
        }
        if (refused.length > 0) return 'lost';
      }
      if (failed.length > 0) {
        return (await this.release(tx, gid, owner, args.retryDelayMs)) ? 'released' : 'lost';
      }
      const finish = transition('finish', [gid], this.now, { countRound: true }, { leaseHolder: owner, noPendingBranches: true });
      if ((await tx.execute(finish.sql, finish.params)) === 1) return 'finished';
      const kept = await tx.execute(
        `UPDATE tcc_transactions SET lease_expires_at = ${this.now} + ?, next_attempt_at = ${this.now} + ?, rounds = rounds + 1, updated_at = ${this.now}
         WHERE gid = ? AND owner = ? AND status ${LEASED}`,
        [args.leaseMs, args.leaseMs, gid, owner, ...LEASED_STATUSES],
      );
      return kept === 1 ? 'continue' : 'lost';
    });
  }

  /**
   * Records what a prepared message's initiator answered (docs/contract.md §10): COMMITTED submits
   * it (this replica keeps the lease and delivers), ROLLED_BACK aborts it, anything else is asked
   * again after `retryDelayMs`. Answers the status after, or null when the lease was lost.
   */
  recordQueryAnswer(args: { gid: string; owner: string; answer: 'COMMITTED' | 'ROLLED_BACK' | null; error?: string; retryDelayMs: number; leaseMs: number }): Promise<GlobalStatus | null> {
    const { gid, owner } = args;
    return this.db.transaction(async (tx) => {
      if (args.answer === 'COMMITTED') {
        const submit = transition('submit', [gid], this.now, { reason: 'queryPrepared answered COMMITTED', leaseOwner: owner, leaseMs: args.leaseMs }, { leaseHolder: owner });
        return (await tx.execute(submit.sql, submit.params)) === 1 ? GlobalStatus.COMMITTING : null;
      }
      if (args.answer === 'ROLLED_BACK') {
        const abort = transition('abort', [gid], this.now, { closeReason: 'queryPrepared answered ROLLED_BACK' }, { leaseHolder: owner });
        return (await tx.execute(abort.sql, abort.params)) === 1 ? GlobalStatus.ROLLED_BACK : null;
      }
      await this.recordFailureRow(tx, gid, 'prepared', 'query', args.error ?? 'no usable answer');
      return (await this.release(tx, gid, owner, args.retryDelayMs)) ? GlobalStatus.PREPARED : null;
    });
  }

  /** A call's failure in the history only (queryPrepared has no branch row; a refused action's row is written by its status change). */
  private async recordFailureRow(ex: Executor, gid: string, branchId: string, phase: BranchPhase, error: string): Promise<void> {
    await ex.execute(
      `INSERT INTO tcc_branch_failures (gid, branch_id, phase, attempt, error, created_at)
       VALUES (?, ?, ?, (SELECT COUNT(*) + 1 FROM tcc_branch_failures f WHERE f.gid = ? AND f.branch_id = ?), ?, ${this.now})`,
      [gid, branchId, phase, gid, branchId, error.slice(0, LAST_ERROR_MAX)],
    );
  }

  /**
   * A round in which every branch succeeded: the branches done and the transaction finished, as
   * one write of the next batch. Answers whether the transaction finished.
   */
  private finishRound(args: { gid: string; owner: string; branchDone: BranchDoneStatus; outcomes: BranchOutcome[] }): Promise<boolean> {
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

  /** Hands the lease back with the time of the next attempt; false when `owner` no longer held it. */
  private async release(ex: Executor, gid: string, owner: string, delayMs: number): Promise<boolean> {
    const released = await ex.execute(
      `UPDATE tcc_transactions SET owner = NULL, lease_expires_at = NULL, rounds = rounds + 1,
         next_attempt_at = ${this.now} + ?, updated_at = ${this.now}
       WHERE gid = ? AND owner = ? AND status ${LEASED}`,
      [Math.max(0, Math.round(delayMs)), gid, owner, ...LEASED_STATUSES],
    );
    return released === 1;
  }
}
