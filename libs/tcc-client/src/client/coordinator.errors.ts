/** What a coordinator call can fail with: an answer carrying an HTTP status, or no answer at all. */
import type { ErrorBody, GlobalStatus } from '../protocol';

/** The coordinator answered with a non-2xx status; `body` is its ErrorBody (409s carry `status`). */
export class CoordinatorError extends Error {
  override readonly name = 'CoordinatorError';

  constructor(
    readonly statusCode: number,
    readonly body: ErrorBody,
    readonly operation: string,
  ) {
    const message = Array.isArray(body.message) ? body.message.join('; ') : body.message;
    super(`coordinator ${operation} answered ${statusCode}: ${message}`);
  }

  /** Current status of the transaction on a 409. */
  get transactionStatus(): GlobalStatus | undefined {
    return this.body.status;
  }
}

/** No usable answer: connection refused, reset, timed out, or a 5xx. The outcome is unknown. */
export class CoordinatorUnavailableError extends Error {
  override readonly name = 'CoordinatorUnavailableError';

  constructor(
    readonly operation: string,
    override readonly cause: unknown,
  ) {
    super(`coordinator ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
