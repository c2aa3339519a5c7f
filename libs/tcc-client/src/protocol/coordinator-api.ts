/** Request and response bodies of the coordinator's HTTP API v1 (docs/contract.md §3). */
import type { BranchStatus, GlobalStatus, TransactionMode } from './status';

export type Protocol = 'http' | 'grpc';
/** How a message step is delivered: called like a participant, or published to a named broker (TCC_BROKERS). */
export type MessageProtocol = Protocol | 'amqp' | 'nats';
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface BeginRequest {
  gid?: string;
  timeoutMs?: number;
  metadata?: Record<string, JsonValue>;
  /**
   * Where the coordinator reports the final view once the transaction is COMMITTED or ROLLED_BACK
   * (docs/contract.md §11): an http(s) URL or a gRPC target `host:port/package.Service/Method`,
   * under TCC_ALLOWED_TARGETS. Unset: no callback.
   */
  callback?: string;
  /** How `callback` is called: `http` or `grpc`. Default: `http` for an http(s):// URL, else `grpc`. */
  callbackProtocol?: Protocol;
}

export interface BeginResponse {
  gid: string;
  status: GlobalStatus;
  createdAt: string;
  expiresAt: string;
}

export interface RegisterBranchRequest {
  branchId: string;
  participant?: string;
  protocol: Protocol;
  confirm: string;
  cancel: string;
  payload?: JsonValue;
}

export interface RegisterBranchResponse {
  gid: string;
  branchId: string;
  status: BranchStatus;
}

export interface CommitRequest {
  wait?: boolean;
}

export interface RollbackRequest {
  wait?: boolean;
  reason?: string;
}

export interface DecisionResponse {
  gid: string;
  status: GlobalStatus;
}

export interface BranchView {
  branchId: string;
  participant: string | null;
  protocol: MessageProtocol;
  status: BranchStatus;
  attempts: number;
  lastError: string | null;
}

export interface TransactionView {
  gid: string;
  mode: TransactionMode;
  status: GlobalStatus;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  metadata: Record<string, JsonValue> | null;
  branches: BranchView[];
}

/** One saga step (docs/contract.md §9): its action and the compensation that undoes it. */
export interface SagaStep {
  branchId: string;
  participant?: string;
  protocol: Protocol;
  action: string;
  compensate: string;
  payload?: JsonValue;
}

/** `POST /v1/sagas`. */
export interface StartSagaRequest {
  gid?: string;
  /** How long failing actions are retried before the saga compensates (default: TCC_DEFAULT_TIMEOUT_MS). */
  timeoutMs?: number;
  steps: SagaStep[];
  /** Run actions as soon as the steps named in `after` are done, instead of one after another. */
  concurrent?: boolean;
  /** With `concurrent`: branchId -> the branchIds whose actions must succeed first. */
  after?: Record<string, string[]>;
  /** Answer with the final status (up to the coordinator's wait bound), as commit does. Default false. */
  wait?: boolean;
  metadata?: Record<string, JsonValue>;
  /**
   * Where the coordinator reports the final view once the transaction is COMMITTED or ROLLED_BACK
   * (docs/contract.md §11): an http(s) URL or a gRPC target `host:port/package.Service/Method`,
   * under TCC_ALLOWED_TARGETS. Unset: no callback.
   */
  callback?: string;
  /** How `callback` is called: `http` or `grpc`. Default: `http` for an http(s):// URL, else `grpc`. */
  callbackProtocol?: Protocol;
}

/** One reliable-message step (docs/contract.md §10). */
export interface MessageStep {
  branchId: string;
  participant?: string;
  protocol: MessageProtocol;
  /** http/grpc: the target called; amqp: `<broker>/<exchange>/<routingKey>`; nats: `<broker>/<subject>`. */
  action: string;
  payload?: JsonValue;
}

/** `POST /v1/messages`: records the message PREPARED. */
export interface PrepareMessageRequest {
  gid: string;
  steps: MessageStep[];
  /** The initiator's endpoint that says whether its local transaction committed: an http(s) URL or a gRPC target. */
  queryPrepared: string;
  /** How long it may stay PREPARED before the coordinator asks queryPrepared (default: TCC_DEFAULT_TIMEOUT_MS). */
  timeoutMs?: number;
  metadata?: Record<string, JsonValue>;
  /**
   * Where the coordinator reports the final view once the transaction is COMMITTED or ROLLED_BACK
   * (docs/contract.md §11): an http(s) URL or a gRPC target `host:port/package.Service/Method`,
   * under TCC_ALLOWED_TARGETS. Unset: no callback.
   */
  callback?: string;
  /** How `callback` is called: `http` or `grpc`. Default: `http` for an http(s):// URL, else `grpc`. */
  callbackProtocol?: Protocol;
}

/** `POST /v1/messages/:gid/submit`. */
export interface SubmitMessageRequest {
  /** Wait for every step's delivery (up to the coordinator's wait bound). Default false. */
  wait?: boolean;
}

/** `POST /v1/messages/:gid/abort`. */
export interface AbortMessageRequest {
  reason?: string;
}

/** Every error the coordinator answers has this shape; 409s carry the current `status`. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  /** Offending fields of a 400. */
  fields?: string[];
  /** Current status of the transaction, on a 409. */
  status?: GlobalStatus;
}

/**
 * What a completion callback carries (docs/contract.md §11): the `payload` of a participant-shaped
 * call `{ gid, branchId: "callback", phase: "callback", payload }`, the same view as
 * GET /v1/transactions/:gid of the finished transaction.
 */
export type TransactionFinished = TransactionView & { status: 'COMMITTED' | 'ROLLED_BACK' };
