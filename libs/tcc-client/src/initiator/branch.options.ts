/** What business code says to run one branch of the current global transaction. */
import type { JsonValue, Protocol } from '../protocol';
import type { RetryBudgetOptions } from './retry-budget.options';

/** `retryFor` / `maxAttempts`: this branch's own retry budget (retry-budget.options.ts), replacing its transaction's. */
export interface BranchOptions extends RetryBudgetOptions {
  /** Participant name as declared with @TccParticipant(), e.g. `account-freeze`. */
  participant: string;
  /**
   * How the coordinator and this initiator call the participant. Default `http`. With `grpc` the
   * participant is reached at the service `tcc.v1.participants.<Name>` (see participantGrpcService)
   * of the gRPC server at `service`.
   */
  protocol?: Protocol;
  /**
   * Where the service hosting the participant is: for `http` its base URL, for `grpc` its
   * `host:port`. Default: this service itself (its HTTP address, or its participant gRPC server).
   */
  service?: string;
  /** Unique within the transaction. Default: the participant name. */
  branchId?: string;
  /** Handed to try as is, and back to confirm and cancel by the coordinator. */
  payload?: JsonValue;
  /** Explicit HTTP endpoints, for participants that are not built with this library (`http` only). */
  urls?: { try: string; confirm: string; cancel: string };
  /**
   * Explicit gRPC targets `host:port/package.Service/Method`, for participants that are not built
   * with this library (`grpc` only), e.g. `10.0.0.5:50051/bank.v1.Ledger/Confirm`.
   */
  targets?: { try: string; confirm: string; cancel: string };
}
