/** Exponential backoff with jitter, without a limit on attempts: confirm and cancel must converge. */

export interface RetrySettings {
  baseMs: number;
  maxMs: number;
}

/**
 * Delay before the next round, after `rounds` failed rounds (1 = the first failure).
 * "Equal jitter": half the exponential step is kept, the other half is random, so retries of
 * many transactions that failed together spread out but never come back immediately.
 */
export function retryDelayMs(rounds: number, settings: RetrySettings, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(rounds - 1, 0), 30);
  const step = Math.min(settings.maxMs, settings.baseMs * 2 ** exponent);
  return Math.round(step / 2 + random() * (step / 2));
}
