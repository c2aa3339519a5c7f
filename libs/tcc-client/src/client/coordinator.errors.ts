/**
 * What a coordinator call can fail with: an answer carrying an HTTP status (a refused API key its
 * own kind), or no answer at all.
 */
import type { ErrorBody, GlobalStatus } from '../protocol';

/**
 * The coordinator answered no. `statusCode` is the HTTP status, or over gRPC the HTTP status of the
 * same meaning (INVALID_ARGUMENT 400, NOT_FOUND 404, FAILED_PRECONDITION 409, RESOURCE_EXHAUSTED 413)
 * with the gRPC code in `grpcCode`; `body` is the ErrorBody (over gRPC rebuilt from the status and
 * its `tcc-fields` / `tcc-status` trailers), so a 409 carries the current `status` on both.
 */
export class CoordinatorError extends Error {
  override readonly name: string = 'CoordinatorError';

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

/** Why the coordinator refused this client: no or a wrong API key (401), or a transaction of another client (403). */
export type CoordinatorAuthCode = 'UNAUTHENTICATED' | 'PERMISSION_DENIED';

/**
 * The coordinator refused this client: 401 / UNAUTHENTICATED (the apiKey option is missing or not
 * one of its TCC_API_KEYS) or 403 / PERMISSION_DENIED (the transaction belongs to another client).
 * A CoordinatorError, so it is never retried; the same call fails the same way until the
 * configuration changes.
 */
export class CoordinatorAuthError extends CoordinatorError {
  override readonly name = 'CoordinatorAuthError';
  readonly code: CoordinatorAuthCode;

  constructor(statusCode: 401 | 403, body: ErrorBody, operation: string, grpcCode?: number) {
    super(statusCode, body, operation, grpcCode);
    this.code = statusCode === 401 ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED';
    const hint = statusCode === 401 ? 'check the apiKey option (TCC_API_KEY)' : 'the transaction belongs to another client';
    this.message = `${this.message} (${this.code}: ${hint})`;
  }
}

/** The error of a refusal: a CoordinatorAuthError for 401 and 403, else a CoordinatorError. */
export function coordinatorError(statusCode: number, body: ErrorBody, operation: string, grpcCode?: number): CoordinatorError {
  if (statusCode === 401 || statusCode === 403) return new CoordinatorAuthError(statusCode, body, operation, grpcCode);
  return new CoordinatorError(statusCode, body, operation, grpcCode);
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
