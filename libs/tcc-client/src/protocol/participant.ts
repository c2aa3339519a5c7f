/** How the coordinator and the initiator call a participant (docs/contract.md §5). */
import type { JsonValue } from './coordinator-api';

/**
 * TCC: try, confirm, cancel. Saga (§9): action, compensate. Reliable message (§10): message (a
 * step's delivery), and query (the coordinator asking the initiator's queryPrepared endpoint).
 */
export type BranchPhase = 'try' | 'confirm' | 'cancel' | 'action' | 'compensate' | 'message' | 'query' | 'callback';

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
