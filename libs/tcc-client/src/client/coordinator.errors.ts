/** What a coordinator call can fail with: an answer carrying an HTTP status, or no answer at all. */
import type { ErrorBody, GlobalStatus } from '../protocol';

/**
 * The coordinator answered no. `statusCode` is the HTTP status, or over gRPC the HTTP status of the
 * same meaning (INVALID_ARGUMENT 400, NOT_FOUND 404, FAILED_PRECONDITION 409, RESOURCE_EXHAUSTED 413)
 * with the gRPC code in `grpcCode`; `body` is the ErrorBody (over gRPC rebuilt from the status and
 * its `tcc-fields` / `tcc-status` trailers), so a 409 carries the current `status` on both.
 */
export class CoordinatorError extends Error {
  override readonly name = 'CoordinatorError';

  constructor(
    readonly statusCode: number,
    readonly body: ErrorBody,
    readonly operation: string,
    /** The gRPC status code, when the call went over gRPC. */
    readonly grpcCode?: number,
  ) {
    const message = Array.isArray(body.message) ? body.message.join('; ') : body.message;
    super(`coordinator ${operation} answered ${grpcCode === undefined ? statusCode : `${body.error} (${statusCode})`}: ${message}`);
  }

  /** Offending fields of a 400 / INVALID_ARGUMENT. */
  get fields(): string[] {
    return this.body.fields ?? [];
  }

  /** Current status of the transaction on a 409. */
  get transactionStatus(): GlobalStatus | undefined {
    return this.body.status;
  }
}

/** No usable answer: connection refused, reset, timed out, a 5xx, or UNAVAILABLE / DEADLINE_EXCEEDED / INTERNAL. The outcome is unknown. */
export class CoordinatorUnavailableError extends Error {
  override readonly name = 'CoordinatorUnavailableError';

  constructor(
    readonly operation: string,
    override readonly cause: unknown,
  ) {
    super(`coordinator ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
