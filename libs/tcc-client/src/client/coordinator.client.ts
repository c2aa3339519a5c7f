/**
 * The coordinator's API (docs/contract.md §3, §4) as typed calls: the injection token and the contract
 * that both transports implement (HttpCoordinatorClient, GrpcCoordinatorClient; TccModule picks one
 * with `transport`). Failures are typed the same way on both: CoordinatorError when the coordinator
 * answered no (`statusCode` in HTTP terms, 409s with the current status), CoordinatorUnavailableError
 * when there was no usable answer.
 */
import type {
  AbortMessageRequest,
  BeginRequest,
  BeginResponse,
  CommitRequest,
  DecisionResponse,
  PrepareMessageRequest,
  RegisterBranchRequest,
  RegisterBranchResponse,
  RollbackRequest,
  StartSagaRequest,
  SubmitMessageRequest,
  TransactionView,
} from '../protocol';
import { CoordinatorError, CoordinatorUnavailableError } from './coordinator.errors';

export abstract class CoordinatorClient {
  /** `traceparent`: the initiator's trace context, which the coordinator passes on to phase two. */
  abstract begin(request?: BeginRequest, traceparent?: string): Promise<BeginResponse>;
  abstract registerBranch(gid: string, request: RegisterBranchRequest, traceparent?: string): Promise<RegisterBranchResponse>;
  abstract commit(gid: string, request?: CommitRequest, traceparent?: string): Promise<DecisionResponse>;
  abstract rollback(gid: string, request?: RollbackRequest, traceparent?: string): Promise<DecisionResponse>;
  /** Any mode's transaction, with its `mode`. */
  abstract get(gid: string): Promise<TransactionView>;
  /**
   * Records a saga with all its steps (§9) and answers its status (with `wait`, the final one or
   * the current one past the coordinator's wait bound). Retried on no answer only when the request
   * names its gid (a repeat then answers the same saga); without one, sent once, as begin is.
   */
  abstract startSaga(request: StartSagaRequest, traceparent?: string): Promise<DecisionResponse>;
  /** Records a reliable message PREPARED (§10); idempotent for one gid. */
  abstract prepareMessage(request: PrepareMessageRequest, traceparent?: string): Promise<BeginResponse>;
  /** PREPARED -> COMMITTING: its steps are delivered. Idempotent; 409 once ROLLED_BACK. */
  abstract submitMessage(gid: string, request?: SubmitMessageRequest, traceparent?: string): Promise<DecisionResponse>;
  /** PREPARED -> ROLLED_BACK: nothing is delivered. Idempotent; 409 once submitted. */
  abstract abortMessage(gid: string, request?: AbortMessageRequest, traceparent?: string): Promise<DecisionResponse>;
}

/**
 * Idempotent calls (register, commit, rollback, get) are tried this often when there is no answer;
 * begin only once, because a lost answer may hide a created transaction (which then simply times
 * out with no branches).
 */
export const IDEMPOTENT_ATTEMPTS = 3;

/**
 * Runs `once` up to `attempts` times with a short random backoff, until it answers or the
 * coordinator refuses (CoordinatorError, thrown at once); anything else thrown counts as no answer.
 */
export async function withRetries<T>(operation: string, attempts: number, once: () => Promise<T>): Promise<T> {
  let lastFailure: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt * Math.random()));
    try {
      return await once();
    } catch (error) {
      if (error instanceof CoordinatorError) throw error;
      lastFailure = error;
    }
  }
  throw new CoordinatorUnavailableError(operation, lastFailure);
}
