/**
 * A retry budget the initiator asks for (docs/contract.md §2.1): how long and how many times the
 * coordinator retries a branch's phase-two work (confirm, cancel, compensation, delivery) before a
 * person is asked to look. Unset: the coordinator's defaults (TCC_RETRY_FOR_MS, TCC_MAX_ATTEMPTS),
 * unlimited unless it sets them. A branch's own budget replaces its transaction's.
 */
export interface RetryBudgetOptions {
  /** Ms from the branch's first failed phase-two call. */
  retryFor?: number;
  /** Failed phase-two calls of the branch. */
  maxAttempts?: number;
}

/** The budget's fields as the wire takes them, only those given. */
export function budgetFields(options: RetryBudgetOptions): RetryBudgetOptions {
  return {
    ...(options.retryFor === undefined ? {} : { retryFor: options.retryFor }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  };
}
