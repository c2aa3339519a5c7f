/** Small timing helpers shared by the specs: sleeping and polling until a condition holds. */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface EventuallyOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Included in the error when the condition never held. */
  what?: string;
}

/**
 * Polls `probe` until it returns a value other than `undefined`/`false` and returns that value.
 * On timeout it throws, naming `what` and the last value seen, so a failure says what was waited on.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: EventuallyOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? `: last error ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'a condition'}${detail}`);
    }
    await sleep(intervalMs);
  }
}

/** A short random suffix that keeps ids of one run apart from another's. */
export function randomSuffix(length = 8): string {
  let out = '';
  while (out.length < length) out += Math.random().toString(36).slice(2);
  return out.slice(0, length);
}

/**
 * Runs every cleanup in order, each even when an earlier one failed, then throws the first
 * failure: what nested try/finally blocks in an afterAll would do.
 */
export async function closeAll(...cleanups: Array<() => Promise<unknown> | unknown>): Promise<void> {
  let failure: unknown;
  let failed = false;
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch (error) {
      if (!failed) failure = error;
      failed = true;
    }
  }
  if (failed) throw failure;
}
