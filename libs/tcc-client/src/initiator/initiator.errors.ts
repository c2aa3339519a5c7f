/** How running a global transaction fails, as seen by the business code that started it. */
import type { GlobalStatus, JsonValue } from '../protocol';

/** A participant answered its try with a 4xx: the business refused (e.g. insufficient funds). */
export class BranchRefusedError extends Error {
  override readonly name = 'BranchRefusedError';

  constructor(
    readonly gid: string,
    readonly branchId: string,
    readonly statusCode: number,
    /** The `error` code of the participant's answer, e.g. `INSUFFICIENT_FUNDS`. */
    readonly code: string,
    readonly body: JsonValue | undefined,
  ) {
    super(`branch ${branchId} of ${gid} refused its try (${statusCode} ${code})`);
  }
}

/** A try got no answer, a 5xx, or timed out: whether it ran is unknown, so the transaction rolls back. */
export class BranchFailedError extends Error {
  override readonly name = 'BranchFailedError';

  constructor(
    readonly gid: string,
    readonly branchId: string,
    readonly reason: string,
  ) {
    super(`branch ${branchId} of ${gid} failed its try: ${reason}`);
  }
}

/** The decorated method returned but the transaction could not commit (timed out and rolled back). */
export class TransactionAbortedError extends Error {
  override readonly name = 'TransactionAbortedError';

  constructor(
    readonly gid: string,
    readonly status: GlobalStatus | undefined,
  ) {
    super(`global transaction ${gid} could not commit: it is ${status ?? 'in an unknown state'}`);
  }
}

/**
 * Whether the transaction committed is not known: the commit got no usable answer (no answer, a
 * 5xx, a timeout) and the rollback that would have settled it got none either, so the decision may
 * or may not have been recorded. Never a guess either way: the coordinator finishes whatever was
 * decided (or its deadline rolls the transaction back), and `TccInitiator.waitForOutcome(gid)`
 * answers the final status once it can be read. `lastStatus`: the last status the coordinator
 * did report, when there was one (e.g. TRYING read while waiting).
 */
export class TransactionOutcomeUnknownError extends Error {
  override readonly name = 'TransactionOutcomeUnknownError';

  constructor(
    readonly gid: string,
    override readonly cause: unknown,
    readonly lastStatus?: GlobalStatus,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`whether global transaction ${gid} committed is unknown (${why}); TccInitiator.waitForOutcome(gid) answers it once the coordinator can tell`);
  }
}

/** A branch was started outside any @TccTransactional method, or after it finished. */
export class NoTransactionError extends Error {
  override readonly name = 'NoTransactionError';

  constructor(detail: string) {
    super(`no global transaction is current: ${detail}`);
  }
}
