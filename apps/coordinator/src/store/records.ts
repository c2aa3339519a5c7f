/** What the stores read and write: the records of transactions, branches, audit and failures, and their mappers from rows. */
import type { BranchStatus, GlobalStatus, MessageProtocol, Protocol, TransactionMode } from '@tcc/client/protocol';
import type { Row } from './database';


export interface TransactionRecord {
  gid: string;
  mode: TransactionMode;
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
  /** The client that began it; null for transactions begun before clients were recorded. */
  client: string | null;
  attentionReason: string | null;
  /** Branches registered, written by each registration in the same local transaction as the branch. */
  branchCount: number;
  /** A message's queryPrepared target (null for the other modes). */
  queryPrepared: string | null;
}

export interface BranchRecord {
  gid: string;
  branchId: string;
  participant: string | null;
  protocol: MessageProtocol;
  /** TCC: confirm; saga: the action; message: the delivery. */
  confirmTarget: string;
  /** TCC: cancel; saga: the compensation; message: empty. */
  cancelTarget: string;
  payload: string | null;
  status: BranchStatus;
  attempts: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  /** A saga step's position, and the steps whose actions must succeed before its own. */
  seq: number;
  after: string[];
}

export interface NewBranch {
  branchId: string;
  participant: string | null;
  protocol: MessageProtocol;
  confirmTarget: string;
  cancelTarget: string;
  payload: string | null;
  /** Saga steps only. */
  seq?: number;
  after?: readonly string[];
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
  mode: TransactionMode;
  status: 'COMMITTING' | 'ROLLING_BACK' | 'PREPARED';
  rounds: number;
  traceparent: string | null;
}

export interface TransactionFilter {
  mode?: TransactionMode;
  status?: GlobalStatus;
  participant?: string;
  client?: string;
  attention?: boolean;
  createdFrom?: number;
  createdTo?: number;
  /** Page after this gid (gids are ordered; generated ones are time-sortable). */
  after?: string;
  limit: number;
}

/**
 * The columns the mappers below read, named rather than `*`: a prepared statement's result type
 * stays the same when a migration adds a column (PostgreSQL refuses a named statement whose
 * result changed), and reads carry nothing unused.
 */
export const TRANSACTION_COLUMNS =
  'gid, status, timeout_ms, metadata, reason, created_at, updated_at, expires_at, next_attempt_at, owner, lease_expires_at, rounds, decided_at, attention_at, traceparent, client, attention_reason, branch_count, mode, query_prepared';
export const BRANCH_COLUMNS =
  'gid, branch_id, participant, protocol, confirm_target, cancel_target, payload, status, attempts, last_error, created_at, updated_at, seq, after_ids';
export const AUDIT_COLUMNS = 'id, gid, branch_id, action, actor, reason, created_at';

export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export function toTransaction(r: Row): TransactionRecord {
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
    client: strOrNull(r.client),
    attentionReason: strOrNull(r.attention_reason),
    branchCount: num(r.branch_count),
    mode: (r.mode ?? 'tcc') as TransactionMode,
    queryPrepared: strOrNull(r.query_prepared),
  };
}

export function toBranch(r: Row): BranchRecord {
  return {
    gid: String(r.gid),
    branchId: String(r.branch_id),
    participant: strOrNull(r.participant),
    protocol: r.protocol as MessageProtocol,
    confirmTarget: String(r.confirm_target),
    cancelTarget: String(r.cancel_target),
    payload: strOrNull(r.payload),
    status: r.status as BranchStatus,
    attempts: num(r.attempts),
    lastError: strOrNull(r.last_error),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    seq: num(r.seq ?? 0),
    after: r.after_ids ? String(r.after_ids).split(',') : [],
  };
}

/** A completion callback's delivery state (docs/contract.md §11); a column named `state`, never `status`. */
export type CallbackState = 'WAITING' | 'DUE' | 'DELIVERED';

/** A completion callback asked for with a transaction, written with it. */
export interface NewCallback {
  target: string;
  protocol: Protocol;
}

export interface CallbackRecord {
  gid: string;
  target: string;
  protocol: Protocol;
  /** As stored: WAITING until the first attempt, DUE after a failed one, DELIVERED. */
  state: CallbackState;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: number;
  deliveredAt: number | null;
  owner: string | null;
  leaseExpiresAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export const CALLBACK_COLUMNS = 'gid, target, protocol, state, attempts, last_error, next_attempt_at, delivered_at, owner, lease_expires_at, created_at, updated_at';

export function toCallback(r: Row): CallbackRecord {
  return {
    gid: String(r.gid),
    target: String(r.target),
    protocol: r.protocol as Protocol,
    state: r.state as CallbackState,
    attempts: num(r.attempts),
    lastError: strOrNull(r.last_error),
    nextAttemptAt: num(r.next_attempt_at),
    deliveredAt: numOrNull(r.delivered_at),
    owner: strOrNull(r.owner),
    leaseExpiresAt: numOrNull(r.lease_expires_at),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}
