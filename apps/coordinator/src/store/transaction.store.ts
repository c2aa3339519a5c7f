/**
 * The one place that writes SQL. Every status change is a compare-and-set on the statuses the
 * state machine lets its event leave (`UPDATE ... WHERE gid = ? AND status IN (...)`, built from
 * TRANSITIONS), by primary key, so concurrent requests, the scheduler and other replicas can never
 * both win, and no statement locks a range of rows.
 * Times are epoch milliseconds read from the database's clock (`now` below), never a replica's.
 */
import { Injectable } from '@nestjs/common';
import { BranchStatus, GlobalStatus, type Protocol } from '@tcc/client/protocol';
import type { Database, Executor, Row } from './database';
import { PHASE_TWO_STATUSES, TRANSITIONS, type DecisionEvent } from '../transactions/transaction.state-machine';
import { DATABASE_NOW_MYSQL, WriteBatcher, type BatchedWrite, type BatchSettings } from './write-batcher';

export interface TransactionRecord {
  gid: string;
  status: GlobalStatus;
  timeoutMs: number;
  metadata: string | null;
  reason: string | null;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
  nextAttemptAt: number | null;
  owner: string | null;
  leaseExpiresAt: number | null;
  rounds: number;
  decidedAt: number | null;
  attentionAt: number | null;
  traceparent: string | null;
}

export interface BranchRecord {
  gid: string;
  branchId: string;
  participant: string | null;
  protocol: Protocol;
  confirmTarget: string;
  cancelTarget: string;
  payload: string | null;
  status: BranchStatus;
  attempts: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface NewBranch {
  branchId: string;
  participant: string | null;
  protocol: Protocol;
  confirmTarget: string;
  cancelTarget: string;
  payload: string | null;
}

export interface AuditRecord {
  id: number;
  gid: string;
  branchId: string | null;
  action: string;
  actor: string;
  reason: string | null;
  createdAt: number;
}

export interface FailureRecord {
  branchId: string;
  phase: string;
  attempt: number;
  error: string;
  createdAt: number;
}

export type AdminOutcome = 'done' | 'not-found' | 'conflict' | 'busy';

export interface BranchOutcome {
  branchId: string;
  ok: boolean;
  error?: string;
}

/** A begin's outcome: when created, its times as the database set them; otherwise the gid existed. */
export type BeginOutcome = { created: true; createdAt: number; expiresAt: number } | { created: false };

export interface DueTransaction {
  gid: string;
  status: GlobalStatus;
}

export interface ClaimedTransaction {
  gid: string;
  status: 'COMMITTING' | 'ROLLING_BACK';
  rounds: number;
  traceparent: string | null;
}

export interface TransactionFilter {
  status?: GlobalStatus;
  participant?: string;
  attention?: boolean;
  createdFrom?: number;
  createdTo?: number;
  /** Page after this gid (gids are ordered; generated ones are time-sortable). */
  after?: string;
  limit: number;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function toTransaction(r: Row): TransactionRecord {
  return {
    gid: String(r.gid),
    status: r.status as GlobalStatus,
    timeoutMs: num(r.timeout_ms),
    metadata: strOrNull(r.metadata),
    reason: strOrNull(r.reason),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    expiresAt: num(r.expires_at),
    nextAttemptAt: numOrNull(r.next_attempt_at),
    owner: strOrNull(r.owner),
    leaseExpiresAt: numOrNull(r.lease_expires_at),
    rounds: num(r.rounds),
    decidedAt: numOrNull(r.decided_at),
    attentionAt: numOrNull(r.attention_at),
    traceparent: strOrNull(r.traceparent),
  };
}

function toBranch(r: Row): BranchRecord {
  return {
    gid: String(r.gid),
    branchId: String(r.branch_id),
    participant: strOrNull(r.participant),
    protocol: r.protocol as Protocol,
    confirmTarget: String(r.confirm_target),
    cancelTarget: String(r.cancel_target),
    payload: strOrNull(r.payload),
    status: r.status as BranchStatus,
    attempts: num(r.attempts),
    lastError: strOrNull(r.last_error),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

const LAST_ERROR_MAX = 1000;

/** `IN (?, ...)` for a list of statuses from the state machine, and its parameters. */
function inList(statuses: readonly string[]): string {
  return `IN (${statuses.map(() => '?').join(', ')})`;
}

/** What the state machine allows a decision (commit, rollback, timeout): from which statuses, to which, and the deadline condition. */
function decisionOf(event: DecisionEvent, now: string): { to: GlobalStatus; from: readonly GlobalStatus[]; deadline: string } {
  const t = TRANSITIONS[event];
  const deadline = t.deadline === 'ahead' ? ` AND expires_at > ${now}` : t.deadline === 'past' ? ` AND expires_at <= ${now}` : '';
  return { to: t.to.TRYING, from: t.from, deadline };
}

const PHASE_TWO = inList(PHASE_TWO_STATUSES);

@Injectable()
export class TransactionStore {
  /** SQL expression for the database's current time in epoch milliseconds. */
  private readonly now: string;
  private readonly insertIgnore: string;
  /** Locks the transaction row a branch insert reads, so a concurrent decision waits for it. */
  private readonly shareLock: string;

  /**
   * MySQL: the lifecycle writes of concurrent requests share one batch and one durable commit
   * (write-batcher.ts). SQLite: each write runs alone (its single connection serialises them anyway).
   */
  private readonly batcher: WriteBatcher | null;

  constructor(
    private readonly db: Database,
    batching: BatchSettings = { concurrency: 4, windowMs: 0 },
  ) {
    if (db.dialect === 'mysql') {
      this.now = DATABASE_NOW_MYSQL;
      this.insertIgnore = 'INSERT IGNORE';
      this.shareLock = ' LOCK IN SHARE MODE';
      this.batcher = new WriteBatcher(db, batching);
    } else {
      this.now = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";
      this.insertIgnore = 'INSERT OR IGNORE';
      this.shareLock = '';
      this.batcher = null;
    }
  }

  /** Batches and writes gathered in them so far (MySQL), for the benchmark and the tests. */
  get batchStats(): { batches: number; writes: number } {
    return this.batcher ? { ...this.batcher.stats } : { batches: 0, writes: 0 };
  }

  /** Runs a lifecycle write: in the next batch on MySQL, alone (with `now` as the clock) on SQLite. */
  private write<T>(gid: string, build: (now: string) => Omit<BatchedWrite<T>, 'gid'>): Promise<T> {
    if (this.batcher) return this.batcher.submit({ gid, ...build('@tcc_now') });
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
   * batch's clock on MySQL). Not created (the gid exists): the caller reads what is there.
   */
  begin(gid: string, timeoutMs: number, metadata: string | null, traceparent: string | null): Promise<BeginOutcome> {
    if (!this.batcher) {
      return this.insertTransaction(gid, timeoutMs, metadata, traceparent).then(async (created): Promise<BeginOutcome> => {
        const tx = created ? await this.findTransaction(gid) : null;
        return tx ? { created: true, createdAt: tx.createdAt, expiresAt: tx.expiresAt } : { created: false };
      });
    }
    return this.batcher.submit({
      gid,
      statements: [
        {
          sql: `INSERT IGNORE INTO tcc_transactions (gid, status, timeout_ms, metadata, traceparent, created_at, updated_at, expires_at, next_attempt_at, rounds)
                VALUES (?, ?, ?, ?, ?, @tcc_now, @tcc_now, @tcc_now + ?, @tcc_now + ?, 0)`,
          params: [gid, GlobalStatus.TRYING, timeoutMs, metadata, traceparent, timeoutMs, timeoutMs],
        },
      ],
      read: ([inserted], nowMs): BeginOutcome => (inserted === 1 ? { created: true, createdAt: nowMs, expiresAt: nowMs + timeoutMs } : { created: false }),
    });
  }

  /** Inserts a TRYING transaction; false when the gid exists already. */
  async insertTransaction(gid: string, timeoutMs: number, metadata: string | null, traceparent: string | null): Promise<boolean> {
    const affected = await this.db.execute(
      `${this.insertIgnore} INTO tcc_transactions (gid, status, timeout_ms, metadata, traceparent, created_at, updated_at, expires_at, next_attempt_at, rounds)
       SELECT ?, ?, ?, ?, ?, t.now_ms, t.now_ms, t.now_ms + ?, t.now_ms + ?, 0 FROM (SELECT ${this.now} AS now_ms) t`,
      [gid, GlobalStatus.TRYING, timeoutMs, metadata, traceparent, timeoutMs, timeoutMs],
    );
    return affected === 1;
  }

  async findTransaction(gid: string): Promise<TransactionRecord | null> {
    const rows = await this.db.select('SELECT * FROM tcc_transactions WHERE gid = ?', [gid]);
    return rows.length ? toTransaction(rows[0]) : null;
  }

  async findBranches(gid: string): Promise<BranchRecord[]> {
    const rows = await this.db.select('SELECT * FROM tcc_branches WHERE gid = ? ORDER BY created_at, branch_id', [gid]);
    return rows.map(toBranch);
  }

  async findBranch(gid: string, branchId: string): Promise<BranchRecord | null> {
    const rows = await this.db.select('SELECT * FROM tcc_branches WHERE gid = ? AND branch_id = ?', [gid, branchId]);
    return rows.length ? toBranch(rows[0]) : null;
  }

  /**
   * Inserts a branch only while its transaction is TRYING and before its deadline, in one
   * statement; false when nothing was inserted (duplicate, unknown gid, or no longer open).
   */
  insertBranch(gid: string, b: NewBranch): Promise<boolean> {
    return this.write(gid, (now) => ({
      statements: [
        {
          sql: `${this.insertIgnore} INTO tcc_branches (gid, branch_id, participant, protocol, confirm_target, cancel_target, payload, status, attempts, created_at, updated_at)
                SELECT gid, ?, ?, ?, ?, ?, ?, ?, 0, ${now}, ${now} FROM tcc_transactions
                WHERE gid = ? AND status ${inList(TRANSITIONS.register.from)} AND expires_at > ${now}${this.shareLock}`,
          params: [b.branchId, b.participant, b.protocol, b.confirmTarget, b.cancelTarget, b.payload, BranchStatus.REGISTERED, gid, ...TRANSITIONS.register.from],
        },
      ],
      read: ([inserted]) => inserted === 1,
    }));
  }

  /**
   * The decision: TRYING -> COMMITTING or ROLLING_BACK, as a compare-and-set. The winner owns the
   * transaction for `leaseMs` (it drives phase two at once); if it dies, the scheduler takes over
   * when the lease expires. `deadline` says whether the deadline must still be ahead (a commit) or
   * already past (a timeout rollback); an explicit rollback ignores it.
   */
  async decide(gid: string, event: DecisionEvent, opts: { owner: string; leaseMs: number; reason?: string | null }): Promise<boolean> {
    return (await this.decideCounting(gid, event, opts, false)).won;
  }

  /**
   * decide(), also answering how many branches the transaction has (in the same batch, so a caller
   * that knows its branches from memory can tell its list is complete without reading them).
   */
  decideCounting(
    gid: string,
    event: DecisionEvent,
    opts: { owner: string; leaseMs: number; reason?: string | null },
    countBranches = true,
  ): Promise<{ won: boolean; branches: number | null }> {
    return this.write(gid, (now) => {
      const { to, from, deadline } = decisionOf(event, now);
      return {
        statements: [
          {
            sql: `UPDATE tcc_transactions SET status = ?, reason = ?, owner = ?, updated_at = ${now}, decided_at = ${now},
                    lease_expires_at = ${now} + ?, next_attempt_at = ${now} + ?
                  WHERE gid = ? AND status ${inList(from)}${deadline}`,
            params: [to, opts.reason ?? null, opts.owner, opts.leaseMs, opts.leaseMs, gid, ...from],
          },
          ...(countBranches ? [{ sql: 'SELECT COUNT(*) AS n FROM tcc_branches WHERE gid = ?', params: [gid] }] : []),
        ],
        read: ([updated, counted]) => ({
          won: updated === 1,
          branches: countBranches && Array.isArray(counted) ? num(counted[0].n) : null,
        }),
      };
    });
  }

  /** Transactions whose next attempt (deadline, lease expiry or retry time) has come: a plain read, no locks. */
  async findDue(limit: number): Promise<DueTransaction[]> {
    const rows = await this.db.select(
      `SELECT gid, status FROM tcc_transactions WHERE next_attempt_at <= ${this.now} ORDER BY next_attempt_at LIMIT ${Math.max(1, Math.floor(limit))}`,
    );
    return rows.map((r) => ({ gid: String(r.gid), status: r.status as GlobalStatus }));
  }

  /**
   * Claims a batch of due transactions for `owner` until the lease expires: TRYING ones past their
   * deadline are decided ROLLING_BACK, phase-two ones whose retry time or lease expiry has come
   * are taken over. Point updates by primary key only. With a `fence`, the claims succeed only
   * while that epoch is still the scan leader's (a paused old leader cannot claim after losing).
   * Answers what this owner now holds among `gids`.
   */
  async claimDue(gids: string[], owner: string, leaseMs: number, fence: number | null): Promise<ClaimedTransaction[]> {
    if (gids.length === 0) return [];
    const list = gids.map(() => '?').join(', ');
    const fenced = fence === null ? '' : " AND EXISTS (SELECT 1 FROM tcc_coordination c WHERE c.name = 'scan-leader' AND c.epoch = ?)";
    const fenceParams = fence === null ? [] : [fence];
    const timeout = decisionOf('timeout', this.now);
    await this.db.execute(
      `UPDATE tcc_transactions SET status = ?, reason = 'timeout', owner = ?, updated_at = ${this.now}, decided_at = ${this.now},
         lease_expires_at = ${this.now} + ?, next_attempt_at = ${this.now} + ?
       WHERE gid IN (${list}) AND status ${inList(timeout.from)}${timeout.deadline}${fenced}`,
      [timeout.to, owner, leaseMs, leaseMs, ...gids, ...timeout.from, ...fenceParams],
    );
    await this.db.execute(
      `UPDATE tcc_transactions SET owner = ?, lease_expires_at = ${this.now} + ?, next_attempt_at = ${this.now} + ?
       WHERE gid IN (${list}) AND status ${PHASE_TWO} AND next_attempt_at <= ${this.now}${fenced}`,
      [owner, leaseMs, leaseMs, ...gids, ...PHASE_TWO_STATUSES, ...fenceParams],
    );
    const rows = await this.db.select(
      `SELECT gid, status, rounds, traceparent FROM tcc_transactions WHERE gid IN (${list}) AND owner = ? AND status ${PHASE_TWO}`,
      [...gids, owner, ...PHASE_TWO_STATUSES],
    );
    return rows.map((r) => ({
      gid: String(r.gid),
      status: r.status as ClaimedTransaction['status'],
      rounds: num(r.rounds),
      traceparent: strOrNull(r.traceparent),
    }));
  }

  /** Gives back every lease `owner` holds, due at once, so another replica takes over without waiting. */
  async releaseAllLeases(owner: string): Promise<number> {
    return this.db.execute(
      `UPDATE tcc_transactions SET owner = NULL, lease_expires_at = NULL, next_attempt_at = ${this.now}
       WHERE owner = ? AND status ${PHASE_TWO}`,
      [owner, ...PHASE_TWO_STATUSES],
    );
  }

  /** The scan leader's fencing epoch as the database knows it. */
  async currentFence(): Promise<number> {
    const rows = await this.db.select("SELECT epoch FROM tcc_coordination WHERE name = 'scan-leader'");
    return rows.length ? num(rows[0].epoch) : 0;
  }

  /** Moves the fencing epoch one up for a new scan leader (compare-and-set); null if it lost a race. */
  async advanceFence(holder: string): Promise<number | null> {
    const current = await this.currentFence();
    const affected = await this.db.execute(
      `UPDATE tcc_coordination SET epoch = ?, holder = ?, updated_at = ${this.now} WHERE name = 'scan-leader' AND epoch = ?`,
      [current + 1, holder, current],
    );
    return affected === 1 ? current + 1 : null;
  }

  /**
   * Flags a transaction whose phase two has kept failing for `afterMs` since its decision; true
   * only for the call that set the flag (so the alert goes out once).
   */
  async flagAttention(gid: string, afterMs: number): Promise<boolean> {
    const affected = await this.db.execute(
      `UPDATE tcc_transactions SET attention_at = ${this.now}
       WHERE gid = ? AND attention_at IS NULL AND status ${PHASE_TWO} AND decided_at <= ${this.now} - ?`,
      [gid, ...PHASE_TWO_STATUSES, afterMs],
    );
    return affected === 1;
  }

  /** Unfinished transactions flagged for attention. */
  async countAttention(): Promise<number> {
    const rows = await this.db.select(
      `SELECT COUNT(*) AS n FROM tcc_transactions WHERE attention_at IS NOT NULL AND status ${PHASE_TWO}`,
      [...PHASE_TWO_STATUSES],
    );
    return num(rows[0].n);
  }

  /** A page of transactions, ordered by gid, for the admin list. */
  async listTransactions(f: TransactionFilter): Promise<TransactionRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.status) {
      where.push('t.status = ?');
      params.push(f.status);
    }
    if (f.attention !== undefined) {
      where.push(f.attention ? `t.attention_at IS NOT NULL AND t.status ${PHASE_TWO}` : `(t.attention_at IS NULL OR t.status NOT ${PHASE_TWO})`);
      params.push(...PHASE_TWO_STATUSES);
    }
    if (f.createdFrom !== undefined) {
      where.push('t.created_at >= ?');
      params.push(f.createdFrom);
    }
    if (f.createdTo !== undefined) {
      where.push('t.created_at < ?');
      params.push(f.createdTo);
    }
    if (f.participant) {
      where.push('EXISTS (SELECT 1 FROM tcc_branches b WHERE b.gid = t.gid AND b.participant = ?)');
      params.push(f.participant);
    }
    if (f.after) {
      where.push('t.gid > ?');
      params.push(f.after);
    }
    const rows = await this.db.select(
      `SELECT t.* FROM tcc_transactions t${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY t.gid LIMIT ${Math.max(1, Math.floor(f.limit))}`,
      params,
    );
    return rows.map(toTransaction);
  }

  /** Open transactions by status and the creation time of the oldest unfinished one, for metrics. */
  async openSummary(): Promise<{ byStatus: Record<string, number>; oldestCreatedAt: number | null; now: number }> {
    const rows = await this.db.select(
      `SELECT status, COUNT(*) AS n, MIN(created_at) AS oldest, MAX(${this.now}) AS now_ms FROM tcc_transactions
       WHERE next_attempt_at IS NOT NULL GROUP BY status`,
    );
    const byStatus: Record<string, number> = {};
    let oldest: number | null = null;
    let now = Date.now();
    for (const r of rows) {
      byStatus[String(r.status)] = num(r.n);
      const o = num(r.oldest);
      oldest = oldest === null ? o : Math.min(oldest, o);
      now = num(r.now_ms);
    }
    return { byStatus, oldestCreatedAt: oldest, now };
  }

  /**
   * Records one round of phase-two calls in one local transaction: each branch's attempt and
   * outcome, then either the final status (every branch done) or the release of the lease with
   * the time of the next attempt. The transaction row changes only while `owner` still holds it.
   * Answers whether the transaction reached `finalStatus`.
   */
  async completeRound(args: {
    gid: string;
    owner: string;
    from: 'COMMITTING' | 'ROLLING_BACK';
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
        await tx.execute(
          `UPDATE tcc_branches SET status = ?, attempts = attempts + 1, updated_at = ${this.now}
           WHERE gid = ? AND status = ? AND branch_id IN (${succeeded.map(() => '?').join(', ')})`,
          [args.branchDone, gid, BranchStatus.REGISTERED, ...succeeded],
        );
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
      if (args.allDone) {
        const finished = await tx.execute(
          `UPDATE tcc_transactions SET status = ?, owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL,
             rounds = rounds + 1, updated_at = ${this.now}
           WHERE gid = ? AND status = ? AND owner = ?`,
          [TRANSITIONS.finish.to[args.from], gid, args.from, owner],
        );
        return finished === 1;
      }
      await this.release(tx, gid, owner, args.retryDelayMs);
      return false;
    });
  }

  /**
   * A round in which every branch succeeded: the branches done and the transaction final, as one
   * write of the next batch. Answers whether the transaction reached `finalStatus`.
   */
  private finishRound(args: {
    gid: string;
    owner: string;
    from: 'COMMITTING' | 'ROLLING_BACK';
    branchDone: BranchStatus;
    outcomes: BranchOutcome[];
  }): Promise<boolean> {
    const { gid, owner, outcomes } = args;
    return this.write(gid, (now) => ({
      statements: [
        {
          sql: `UPDATE tcc_branches SET status = ?, attempts = attempts + 1, updated_at = ${now}
                WHERE gid = ? AND status = ? AND branch_id IN (${outcomes.map(() => '?').join(', ')})`,
          params: [args.branchDone, gid, BranchStatus.REGISTERED, ...outcomes.map((o) => o.branchId)],
        },
        {
          sql: `UPDATE tcc_transactions SET status = ?, owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL,
                  rounds = rounds + 1, updated_at = ${now}
                WHERE gid = ? AND status = ? AND owner = ?`,
          params: [TRANSITIONS.finish.to[args.from], gid, args.from, owner],
        },
      ],
      read: ([, finished]) => finished === 1,
    }));
  }

  /** Gives the transaction back with its next attempt `delayMs` from now (database clock). */
  async releaseLease(gid: string, owner: string, delayMs: number): Promise<void> {
    await this.release(this.db, gid, owner, delayMs);
  }

  /**
   * Marks a phase-two transaction finished when no branch is left to call (e.g. it had none, or a
   * crash hit between the last branch update and the status change).
   */
  async finishIfNoPending(gid: string, owner: string | null, from: 'COMMITTING' | 'ROLLING_BACK'): Promise<boolean> {
    const affected = await this.db.execute(
      `UPDATE tcc_transactions SET status = ?, owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL, updated_at = ${this.now}
       WHERE gid = ? AND status = ?${owner === null ? '' : ' AND owner = ?'}
         AND NOT EXISTS (SELECT 1 FROM tcc_branches b WHERE b.gid = ? AND b.status = ?)`,
      [TRANSITIONS.finish.to[from], gid, from, ...(owner === null ? [] : [owner]), gid, BranchStatus.REGISTERED],
    );
    return affected === 1;
  }

  /** Operator: roll back a TRYING transaction, recording who and why in the same local transaction. */
  async forceRollback(gid: string, actor: string, reason: string, owner: string, leaseMs: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rollback = decisionOf('rollback', this.now);
      const won = await tx.execute(
        `UPDATE tcc_transactions SET status = ?, reason = ?, owner = ?, updated_at = ${this.now}, decided_at = ${this.now},
           lease_expires_at = ${this.now} + ?, next_attempt_at = ${this.now} + ?
         WHERE gid = ? AND status ${inList(rollback.from)}${rollback.deadline}`,
        [rollback.to, `forced by ${actor}: ${reason}`.slice(0, 1024), owner, leaseMs, leaseMs, gid, ...rollback.from],
      );
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
      const claimed = await tx.execute(
        `UPDATE tcc_transactions SET owner = ?, lease_expires_at = ${this.now} + ?, next_attempt_at = ${this.now} + ?, updated_at = ${this.now}
         WHERE gid = ? AND status ${PHASE_TWO} AND (owner IS NULL OR owner = ? OR lease_expires_at <= ${this.now})`,
        [owner, leaseMs, leaseMs, gid, ...PHASE_TWO_STATUSES, owner],
      );
      if (claimed === 1) await this.audit(tx, gid, null, 'retry', actor, reason);
      return claimed === 1;
    });
  }

  /**
   * Operator: count a branch as done by hand (confirmed while committing, cancelled while rolling
   * back), with a reason, in the same local transaction as the audit row.
   */
  async resolveBranch(gid: string, branchId: string, branchDone: BranchStatus, from: 'COMMITTING' | 'ROLLING_BACK', actor: string, reason: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const resolved = await tx.execute(
        `UPDATE tcc_branches SET status = ?, last_error = ?, updated_at = ${this.now}
         WHERE gid = ? AND branch_id = ? AND status = ?
           AND EXISTS (SELECT 1 FROM tcc_transactions t WHERE t.gid = ? AND t.status = ?)`,
        [branchDone, `resolved by ${actor}: ${reason}`.slice(0, LAST_ERROR_MAX), gid, branchId, BranchStatus.REGISTERED, gid, from],
      );
      if (resolved === 1) await this.audit(tx, gid, branchId, 'resolve-branch', actor, reason);
      return resolved === 1;
    });
  }

  async findAudit(gid: string): Promise<AuditRecord[]> {
    const rows = await this.db.select('SELECT * FROM tcc_audit WHERE gid = ? ORDER BY id', [gid]);
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

  private async release(ex: Executor, gid: string, owner: string, delayMs: number): Promise<void> {
    await ex.execute(
      `UPDATE tcc_transactions SET owner = NULL, lease_expires_at = NULL, rounds = rounds + 1,
         next_attempt_at = ${this.now} + ?, updated_at = ${this.now}
       WHERE gid = ? AND owner = ? AND status ${PHASE_TWO}`,
      [Math.max(0, Math.round(delayMs)), gid, owner, ...PHASE_TWO_STATUSES],
    );
  }

  /** The database's clock, for reporting. */
  async databaseNow(): Promise<number> {
    const rows = await this.db.select(`SELECT ${this.now} AS now_ms`);
    return num(rows[0].now_ms);
  }

  async ping(): Promise<void> {
    await this.db.select('SELECT 1 AS ok');
  }
}
