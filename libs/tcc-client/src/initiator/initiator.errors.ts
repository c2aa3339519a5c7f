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

/** A branch was started outside any @TccTransactional method, or after it finished. */
export class NoTransactionError extends Error {
  override readonly name = 'NoTransactionError';

  constructor(detail: string) {
    super(`no global transaction is current: ${detail}`);
  }
}
