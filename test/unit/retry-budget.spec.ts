/** The retry budget's arithmetic (apps/coordinator/src/domain/retry.budget.ts): which budget applies, and when it is spent; and its default settings. */
import { budgetSpent, budgetSpentReason, effectiveBudget, isLimited, UNLIMITED } from '../../apps/coordinator/src/domain/retry.budget';
import { loadCoordinatorConfig } from '../../apps/coordinator/src/config/coordinator.config';

describe('effectiveBudget', () => {
  it('is unlimited when nothing sets one (the coordinator defaults unset)', () => {
    expect(effectiveBudget(null, null, null)).toEqual(UNLIMITED);
    expect(effectiveBudget({}, { retryForMs: null, maxAttempts: null }, {})).toEqual(UNLIMITED);
    expect(isLimited(effectiveBudget(undefined, undefined, undefined))).toBe(false);
  });

  it("takes the branch's own budget whole over its transaction's and the defaults", () => {
    expect(effectiveBudget({ maxAttempts: 10 }, { retryForMs: 5_000, maxAttempts: 3 }, { retryForMs: 60_000 })).toEqual({ retryForMs: null, maxAttempts: 10 });
  });

  it("takes the transaction's when the branch sets none, and the defaults when neither does", () => {
    expect(effectiveBudget({ retryForMs: null }, { retryForMs: 5_000 }, { maxAttempts: 7 })).toEqual({ retryForMs: 5_000, maxAttempts: null });
    expect(effectiveBudget(null, null, { maxAttempts: 7, retryForMs: 9 })).toEqual({ retryForMs: 9, maxAttempts: 7 });
  });
});

describe('budgetSpent', () => {
  const now = 1_000_000;

  it('never spends an unlimited budget', () => {
    expect(budgetSpent(UNLIMITED, { failures: 1_000_000, firstFailedAt: 0 }, now)).toBe(false);
  });

  it('spends maxAttempts at exactly that many failed calls', () => {
    const budget = { retryForMs: null, maxAttempts: 3 };
    expect(budgetSpent(budget, { failures: 2, firstFailedAt: now - 10 }, now)).toBe(false);
    expect(budgetSpent(budget, { failures: 3, firstFailedAt: now - 10 }, now)).toBe(true);
    expect(budgetSpent(budget, { failures: 4, firstFailedAt: now - 10 }, now)).toBe(true);
  });

  it('spends retryFor once that long has passed since the first failed call', () => {
    const budget = { retryForMs: 500, maxAttempts: null };
    expect(budgetSpent(budget, { failures: 9, firstFailedAt: now - 499 }, now)).toBe(false);
    expect(budgetSpent(budget, { failures: 2, firstFailedAt: now - 500 }, now)).toBe(true);
  });

  it('spends nothing before the first failure (a reset budget starts again)', () => {
    expect(budgetSpent({ retryForMs: 1, maxAttempts: 1 }, { failures: 0, firstFailedAt: null }, now)).toBe(false);
  });

  it('spends whichever limit comes first when both are set', () => {
    const budget = { retryForMs: 60_000, maxAttempts: 5 };
    expect(budgetSpent(budget, { failures: 5, firstFailedAt: now - 1 }, now)).toBe(true);
    expect(budgetSpent(budget, { failures: 2, firstFailedAt: now - 60_000 }, now)).toBe(true);
    expect(budgetSpent(budget, { failures: 4, firstFailedAt: now - 59_999 }, now)).toBe(false);
  });
});

describe('budgetSpentReason', () => {
  it('names the branch, the failures, the time since the first and the last error', () => {
    expect(budgetSpentReason('pay', { failures: 3, firstFailedAt: 1_000 }, 1_250, 'HTTP 503')).toBe(
      'NEEDS_ATTENTION: retry budget spent: branch pay failed 3 times over 250 ms: HTTP 503',
    );
  });
});

describe('the default budget settings', () => {
  it('are unlimited when unset', () => {
    expect(loadCoordinatorConfig({}).retryBudget).toEqual({ retryForMs: null, maxAttempts: null });
  });

  it('take TCC_RETRY_FOR_MS and TCC_MAX_ATTEMPTS', () => {
    expect(loadCoordinatorConfig({ TCC_RETRY_FOR_MS: '600000', TCC_MAX_ATTEMPTS: '12' }).retryBudget).toEqual({ retryForMs: 600_000, maxAttempts: 12 });
  });

  it.each([
    ['TCC_MAX_ATTEMPTS', '0'],
    ['TCC_MAX_ATTEMPTS', '1000001'],
    ['TCC_MAX_ATTEMPTS', 'many'],
    ['TCC_RETRY_FOR_MS', '-5'],
    ['TCC_RETRY_FOR_MS', String(30 * 86_400_000 + 1)],
  ])('refuse %s=%s at start, naming it', (name, value) => {
    expect(() => loadCoordinatorConfig({ [name]: value })).toThrow(new RegExp(`${name}=`));
  });
});
