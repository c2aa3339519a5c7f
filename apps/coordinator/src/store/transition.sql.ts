/**
 * The one place where SQL changes a status (docs/contract.md §2): `transition()` builds the
 * compare-and-set UPDATE of a transaction's status for one transaction or a batch, and
 * `branchesDone()` the one of its branches. Everything the WHERE says about the status (the
 * statuses an event may leave, the one it reaches, the deadline) comes from the state machine's
 * TRANSITIONS; the guards a caller adds (the owning client, the lease holder, the scan leader's
 * fence, no branch left) are written here too, once. Every writer uses these: the lifecycle
 * (decisions and finishes), the scan (timeouts), the operator's actions. A test reads the store's
 * SQL and fails if a status is set anywhere else.
 */
import { BranchStatus, type GlobalStatus, type TransactionMode } from '@tcc/client/protocol';
import { BRANCH_DONE_FROM, PENDING_BRANCH_STATUSES, TRANSITIONS, type BranchDoneStatus, type StatusEvent } from '../domain/transaction.state-machine';

export interface Statement {
  sql: string;
  params: unknown[];
}

/** `IN (?, ...)` for a list, the values going in the statement's params. */
export function inList(values: readonly unknown[]): string {
  return `IN (${values.map(() => '?').join(', ')})`;
}

/** Which transactions a transition may change, besides what TRANSITIONS says of their status and deadline. */
export interface TransitionGuard {
  /** Only a transaction this client began (or one begun before clients were recorded). */
  client?: string;
  /** Only while this replica holds the lease (phase two's finish). */
  leaseHolder?: string;
  /** Only while no replica holds a live lease (an operator's action between rounds). */
  leaseFree?: boolean;
  /** Only while this fencing epoch is still the scan leader's (timeouts found by the scan). */
  fence?: number | null;
  /**
   * Only when no branch is left waiting for its phase-two call, and every branch the row counts
   * (branch_count) is there: a branch not yet seen where this runs keeps it from finishing.
   */
  noPendingBranches?: boolean;
}

/** What a decision writes beside the status: its reason, and the lease the deciding replica takes to drive phase two. */
export interface DecisionWrite {
  reason: string | null;
  leaseOwner: string;
  leaseMs: number;
}

/** What a finish writes beside the status: whether it ends a round of phase-two calls. */
export interface FinishWrite {
  countRound: boolean;
}

/** What an abort (a message closed while prepared, no call to make) writes beside the status. */
export interface CloseWrite {
  closeReason: string | null;
}

/**
 * The UPDATE that performs `event` on `gids`, as a compare-and-set: it changes a row only where the
 * state machine allows the event from the row's current status (and deadline), and where every
 * guard holds. Its affected-row count says how many moved.
 */
export function transition(
  event: StatusEvent,
  gids: readonly string[],
  now: string,
  write: DecisionWrite | FinishWrite | CloseWrite,
  guard: TransitionGuard = {},
): Statement {
  const kind = 'countRound' in write ? 'finish' : 'closeReason' in write ? 'abort' : 'decision';
  if (kind !== (event === 'finish' || event === 'abort' ? event : 'decision')) {
    throw new Error(`transition ${event}: a finish writes FinishWrite, an abort CloseWrite, a decision DecisionWrite`);
  }
  const t: { modes: readonly TransactionMode[]; from: readonly GlobalStatus[]; to: Partial<Record<GlobalStatus, GlobalStatus>>; deadline: string } =
    TRANSITIONS[event];
  const targets = Object.entries(t.to) as [GlobalStatus, GlobalStatus][];
  const params: unknown[] = [];
  // One target: `status = ?`; several (finish): the target of each status it may leave.
  let set: string;
  if (targets.length === 1) {
    set = 'status = ?';
    params.push(targets[0][1]);
  } else {
    set = `status = CASE status ${targets.map(() => 'WHEN ? THEN ?').join(' ')} END`;
    for (const [from, to] of targets) params.push(from, to);
  }
  if ('leaseOwner' in write) {
    set += `, reason = ?, owner = ?, decided_at = ${now}, lease_expires_at = ${now} + ?, next_attempt_at = ${now} + ?`;
    params.push(write.reason, write.leaseOwner, write.leaseMs, write.leaseMs);
  } else if ('closeReason' in write) {
    set += `, reason = ?, decided_at = ${now}, owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL`;
    params.push(write.closeReason);
  } else {
    set += `, owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL${write.countRound ? ', rounds = rounds + 1' : ''}`;
  }
  set += `, updated_at = ${now}`;

  const where = [gids.length === 1 ? 'gid = ?' : `gid ${inList(gids)}`, `status ${inList(t.from)}`];
  params.push(...gids, ...t.from);
  // Every mode shares the finish; the other events belong to one mode each.
  if (t.modes.length < 3) {
    where.push(`mode ${inList(t.modes)}`);
    params.push(...t.modes);
  }
  if (t.deadline === 'ahead') where.push(`expires_at > ${now}`);
  if (t.deadline === 'past') where.push(`expires_at <= ${now}`);
  where.push(...guards(guard, params, now));
  return { sql: `UPDATE tcc_transactions SET ${set} WHERE ${where.join(' AND ')}`, params };
}

/** The condition a branch registration needs of its transaction (status and deadline from TRANSITIONS.register, and the owning client). */
export function registrationCondition(now: string, client: string): Statement {
  const t = TRANSITIONS.register;
  const params: unknown[] = [...t.from, ...t.modes];
  const where = [`status ${inList(t.from)}`, `mode ${inList(t.modes)}`];
  if (t.deadline === 'ahead') where.push(`expires_at > ${now}`);
  where.push(...guards({ client }, params));
  return { sql: where.join(' AND '), params };
}

/**
 * Marks branches of one transaction done (CONFIRMED or CANCELLED in TCC; SUCCEEDED, FAILED,
 * COMPENSATED or SKIPPED in a saga; SUCCEEDED for a delivered message), from the statuses the state
 * machine lets each leave (BRANCH_DONE_FROM), counting the call as an attempt unless it was resolved
 * by hand or skipped (`lastError` then says why). `whileStatus`: only while the transaction is still in it.
 * `unsent`: only branches never called (a saga's steps skipped when it turns to compensating).
 */
export function branchesDone(
  gid: string,
  branchIds: readonly string[] | 'unsent',
  done: BranchDoneStatus,
  now: string,
  by: { attempt: true; lastError?: string } | { attempt: false; lastError: string; whileStatus?: GlobalStatus },
): Statement {
  const params: unknown[] = [done];
  let set = `status = ?, updated_at = ${now}`;
  if (by.attempt) set += ', attempts = attempts + 1';
  if (by.lastError !== undefined) {
    set += ', last_error = ?';
    params.push(by.lastError);
  }
  const from = BRANCH_DONE_FROM[done];
  const where = [`gid = ?`, `status ${inList(from)}`, branchIds === 'unsent' ? 'attempts = 0' : `branch_id ${inList(branchIds)}`];
  params.push(gid, ...from, ...(branchIds === 'unsent' ? [] : branchIds));
  if (!by.attempt && by.whileStatus) {
    where.push('EXISTS (SELECT 1 FROM tcc_transactions t WHERE t.gid = ? AND t.status = ?)');
    params.push(gid, by.whileStatus);
  }
  return { sql: `UPDATE tcc_branches SET ${set} WHERE ${where.join(' AND ')}`, params };
}

/** The SQL conditions of `guard` on a tcc_transactions row, their values appended to `params`; also used by the lease claims, which change no status. */
export function guards(guard: TransitionGuard, params: unknown[], now = ''): string[] {
  const where: string[] = [];
  if (guard.client !== undefined) {
    where.push('(client IS NULL OR client = ?)');
    params.push(guard.client);
  }
  if (guard.leaseHolder !== undefined) {
    where.push('owner = ?');
    params.push(guard.leaseHolder);
  }
  if (guard.leaseFree) {
    if (!now) throw new Error('the leaseFree guard needs the database clock');
    where.push(`(owner IS NULL OR lease_expires_at <= ${now})`);
  }
  if (guard.fence !== undefined && guard.fence !== null) {
    where.push("EXISTS (SELECT 1 FROM tcc_coordination c WHERE c.name = 'scan-leader' AND c.epoch = ?)");
    params.push(guard.fence);
  }
  if (guard.noPendingBranches) {
    // PENDING_BRANCH_STATUSES: a REGISTERED branch keeps any transaction open; a saga's acted
    // steps keep it open while it rolls back, until compensated.
    const rollingBackOnly = PENDING_BRANCH_STATUSES.ROLLING_BACK.filter((s) => s !== BranchStatus.REGISTERED);
    where.push(
      `NOT EXISTS (SELECT 1 FROM tcc_branches b WHERE b.gid = tcc_transactions.gid AND (b.status = ? OR (tcc_transactions.status = ? AND b.status ${inList(rollingBackOnly)})))`,
    );
    where.push('(SELECT COUNT(*) FROM tcc_branches b WHERE b.gid = tcc_transactions.gid) = tcc_transactions.branch_count');
    params.push(BranchStatus.REGISTERED, 'ROLLING_BACK', ...rollingBackOnly);
  }
  return where;
}
