/**
 * The retry budget of a branch's phase-two work (docs/contract.md §2.1): how long (retryFor) and how
 * many times (maxAttempts) a confirm, cancel, compensation or message delivery is retried before a
 * person is asked to look. Pure arithmetic: the store counts and stamps, this decides.
 */

/** A budget; null in a field: no limit of that kind. */
export interface RetryBudget {
  retryForMs: number | null;
  maxAttempts: number | null;
}

/** What a branch has used of its budget: failed phase-two calls, and when the first of them failed. */
export interface BudgetUse {
  failures: number;
  /** Epoch ms (the database's clock) of the first failed call since the budget was last reset; null: none failed yet. */
  firstFailedAt: number | null;
}

export const UNLIMITED: RetryBudget = { retryForMs: null, maxAttempts: null };

const sets = (b: Partial<RetryBudget> | null | undefined): b is Partial<RetryBudget> =>
  !!b && ((b.retryForMs ?? null) !== null || (b.maxAttempts ?? null) !== null);

const whole = (b: Partial<RetryBudget>): RetryBudget => ({ retryForMs: b.retryForMs ?? null, maxAttempts: b.maxAttempts ?? null });

/**
 * The budget that applies to a branch: the most specific level that sets any field, taken whole
 * (a branch's own, else its transaction's, else the coordinator's defaults), so that a branch that
 * says `maxAttempts: 10` is not also cut short by a `retryFor` it never asked for.
 */
export function effectiveBudget(
  branch: Partial<RetryBudget> | null | undefined,
  transaction: Partial<RetryBudget> | null | undefined,
  defaults: Partial<RetryBudget> | null | undefined,
): RetryBudget {
  if (sets(branch)) return whole(branch);
  if (sets(transaction)) return whole(transaction);
  if (sets(defaults)) return whole(defaults);
  return UNLIMITED;
}

export function isLimited(budget: RetryBudget): boolean {
  return budget.retryForMs !== null || budget.maxAttempts !== null;
}

/**
 * Whether the budget is spent after `use`, at `nowMs`: `maxAttempts` failed calls, or `retryFor`
 * ms since the first failed one. A branch that has not failed yet has spent nothing.
 */
export function budgetSpent(budget: RetryBudget, use: BudgetUse, nowMs: number): boolean {
  if (use.failures <= 0) return false;
  if (budget.maxAttempts !== null && use.failures >= budget.maxAttempts) return true;
  if (budget.retryForMs !== null && use.firstFailedAt !== null && nowMs - use.firstFailedAt >= budget.retryForMs) return true;
  return false;
}

/** The attention reason a spent budget writes (the admin list, the webhook and the logs show it). */
export function budgetSpentReason(branchId: string, use: BudgetUse, nowMs: number, lastError: string): string {
  const overMs = use.firstFailedAt === null ? 0 : Math.max(0, nowMs - use.firstFailedAt);
  return `NEEDS_ATTENTION: retry budget spent: branch ${branchId} failed ${use.failures} times over ${overMs} ms: ${lastError}`;
}
