/** How the coordinator and the initiator call a participant (docs/contract.md §5). */
import type { JsonValue } from './coordinator-api';

/**
 * TCC: try, confirm, cancel. Saga (§9): action, compensate. Reliable message (§10): message (a
 * step's delivery), and query (the coordinator asking the initiator's queryPrepared endpoint).
 * Reconciliation (§13): reconcile (the coordinator asking what a participant did for a branch).
 */
export type BranchPhase = 'try' | 'confirm' | 'cancel' | 'action' | 'compensate' | 'message' | 'query' | 'callback' | 'reconcile';

/** The branchId a queryPrepared call carries (the initiator's own row in its barrier table). */
export const PREPARED_BRANCH_ID = 'prepared';

/** The branchId and phase of a completion callback (docs/contract.md §11), whose payload is the finished transaction's view. */
export const CALLBACK_BRANCH_ID = 'callback';
export const CALLBACK_PHASE = 'callback';

/** What a queryPrepared endpoint answers (200 `{ status }`); anything else means "ask again later". */
export type PreparedAnswer = { status: 'COMMITTED' | 'ROLLED_BACK' | 'PREPARED' };

/** The id a message step is delivered with (AMQP messageId, JetStream Nats-Msg-Id): one per gid and step. */
export function messageIdOf(gid: string, branchId: string): string {
  return `${gid}/${branchId}`;
}

export interface BranchCallBody {
  gid: string;
  branchId: string;
  phase: BranchPhase;
  payload: JsonValue | null;
}

export const TCC_HEADERS = {
  gid: 'x-tcc-gid',
  branchId: 'x-tcc-branch-id',
  phase: 'x-tcc-phase',
  traceparent: 'traceparent',
} as const;

/**
 * Codes a participant built with this library refuses a call with: the `error` of its HTTP answer,
 * and over gRPC the `tcc-error-code` trailer (FAILED_PRECONDITION, `tcc-http-status` 409).
 */
/** A try arrived after the cancel of its branch (no hanging, docs/contract.md §5): refused for good. */
export const BRANCH_CANCELLED = 'BRANCH_CANCELLED';
/**
 * A confirm arrived with no try before it (none recorded, or only the marker an empty rollback
 * wrote): nothing ran and nothing was written, so the confirm may be sent again.
 */
export const BRANCH_NOT_TRIED = 'BRANCH_NOT_TRIED';

/**
 * The one rule that names a refusal (a 4xx answer of a participant): the answer's `code` when it
 * is text, else its `error`, else `HTTP_<status>`. The caller reads answers by it; a participant
 * built with the library answers so that it reads back what the participant meant.
 */
export function refusalCode(body: unknown, statusCode: number): string {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const { code, error } = body as { code?: unknown; error?: unknown };
    if (typeof code === 'string') return code;
    if (typeof error === 'string') return error;
  }
  return `HTTP_${statusCode}`;
}

/**
 * Reconciliation (docs/contract.md §13): what a participant answers to `phase: "reconcile"`.
 * `rows`: its barrier rows of the branch (`try`, `confirm`, `cancel`, `msg`; a saga's action and
 * compensation are stored as `try` and `cancel`), each with the call that wrote it (`reason`: a
 * `try` row written by a cancel is an empty rollback's marker) and when (epoch ms, its clock).
 * `business`: what its business tables say, when the participant has a @TccReconcile() method;
 * null otherwise. `retentionMs`: how long its barrier rows are kept (older ones may be gone), and
 * `now` its clock, so the caller can tell a row cleaned up from a row missing.
 */
export interface ReconcileAnswer {
  gid: string;
  branchId: string;
  participant: string;
  kind: 'tcc' | 'saga' | 'message';
  rows: ReconcileBarrierRow[];
  business: BusinessView | null;
  retentionMs: number;
  now: number;
}

export interface ReconcileBarrierRow {
  phase: string;
  reason: string;
  createdAt: number;
}

/**
 * A participant's own account of a branch, read from its business tables: `tried` (reserved, not
 * yet settled), `confirmed` (settled: a confirm, a saga action, a message consumed), `cancelled`
 * (released or compensated), `none` (nothing of it there). `detail`: free JSON for the operator.
 */
export type BusinessState = 'tried' | 'confirmed' | 'cancelled' | 'none';
export const BUSINESS_STATES: readonly BusinessState[] = ['tried', 'confirmed', 'cancelled', 'none'];

export interface BusinessView {
  state: BusinessState;
  detail?: JsonValue;
}

/** The path segment and gRPC method of the reconcile endpoint. */
export const RECONCILE_PATH = 'reconcile';
export const RECONCILE_GRPC_METHOD = 'Reconcile';

/**
 * The reconcile target of a branch, from the target of its confirm (action, delivery): an HTTP URL
 * with its last path segment replaced by `reconcile` (`http://h/tcc/wallet/confirm` ->
 * `http://h/tcc/wallet/reconcile`), a gRPC target with its method replaced by `Reconcile`
 * (`h:1/tcc.v1.participants.Wallet/Confirm` -> `h:1/tcc.v1.participants.Wallet/Reconcile`).
 * Undefined when the target has no such shape (a broker step).
 */
export function reconcileTargetOf(protocol: string, confirmTarget: string): string | undefined {
  if (protocol === 'grpc') {
    const slash = confirmTarget.lastIndexOf('/');
    return slash > 0 && confirmTarget.indexOf('/') < slash ? `${confirmTarget.slice(0, slash)}/${RECONCILE_GRPC_METHOD}` : undefined;
  }
  if (protocol !== 'http') return undefined;
  let url: URL;
  try {
    url = new URL(confirmTarget);
  } catch {
    return undefined;
  }
  const segments = url.pathname.split('/');
  if (segments.length < 2 || segments[segments.length - 1] === '') return undefined;
  segments[segments.length - 1] = RECONCILE_PATH;
  url.pathname = segments.join('/');
  url.search = '';
  return url.toString();
}
