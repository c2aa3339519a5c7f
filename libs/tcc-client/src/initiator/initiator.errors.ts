/** How running a global transaction (TCC, saga, message) fails, as seen by the business code that started it. */
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
  override readonly name: string = 'TransactionOutcomeUnknownError';

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

/**
 * A saga submitted with `wait` did not commit: a step's action was refused (4xx), or kept failing
 * past the saga's deadline. `status` is ROLLED_BACK, or ROLLING_BACK when its compensations were
 * not all done within the coordinator's wait bound (they are retried until they are: the saga ends
 * ROLLED_BACK either way).
 */
export class SagaRolledBackError extends Error {
  override readonly name = 'SagaRolledBackError';

  constructor(
    readonly gid: string,
    readonly status: GlobalStatus,
  ) {
    super(`saga ${gid} did not commit: it is ${status} (a step's action was refused or failed past the deadline; every action sent is compensated)`);
  }
}

/**
 * Whether a saga commits is not known yet: it was still running when the coordinator's wait bound
 * passed (`lastStatus` COMMITTING), or a start got no usable answer (it may or may not have been
 * recorded; TccSagas generates the gid, so it is named here either way). TccSagas.waitForOutcome(gid)
 * answers its final status; a saga that was never recorded answers 404 there (CoordinatorError).
 */
export class SagaOutcomeUnknownError extends TransactionOutcomeUnknownError {
  override readonly name: string = 'SagaOutcomeUnknownError';

  constructor(gid: string, cause: unknown, lastStatus?: GlobalStatus) {
    super(gid, cause, lastStatus);
    const why = cause instanceof Error ? cause.message : String(cause);
    this.message = `whether saga ${gid} commits is not known yet (${why}); TccSagas.waitForOutcome(gid) answers it once the coordinator can tell`;
  }
}

/**
 * A reliable message whose local transaction committed was found ROLLED_BACK at the coordinator when
 * it was submitted (an operator aborted it, or its queryPrepared was answered by another database):
 * its steps will not be delivered. `result` is what the business function returned, committed.
 */
export class MessageAbortedError extends Error {
  override readonly name = 'MessageAbortedError';

  constructor(
    readonly gid: string,
    readonly result: unknown,
  ) {
    super(`message ${gid}: the local transaction committed but the coordinator had rolled the message back; its steps will not be delivered`);
  }
}

/** TccMessages.sendInTransaction was called outside a local transaction of the participant database. */
export class NoLocalTransactionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoLocalTransactionError';
  }
}
