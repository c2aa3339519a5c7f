/** Amounts are integers in minor units (cents), positive, at most 10^12. */
export const MAX_AMOUNT = 1_000_000_000_000;

export function isAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= MAX_AMOUNT;
}
