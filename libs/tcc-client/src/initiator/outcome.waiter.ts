/**
 * Waiting for the final status of a global transaction whose outcome could not be learnt (see
 * TransactionOutcomeUnknownError): reads it (GET /v1/transactions/:gid, gRPC GetTransaction) with
 * backoff until it is COMMITTED or ROLLED_BACK. It only reads: it never decides for the transaction.
 */
import type { CoordinatorClient } from '../client/coordinator.client';
import { CoordinatorError, CoordinatorUnavailableError } from '../client/coordinator.errors';
import { GlobalStatus } from '../protocol';
import { TransactionOutcomeUnknownError } from './initiator.errors';

export interface WaitForOutcomeOptions {
  /** Give up after this long: TransactionOutcomeUnknownError carrying the last status read. Default 30000. */
  timeoutMs?: number;
  /** First pause between two reads, doubled after each up to `maxIntervalMs` (default 2000). Default 100. */
  intervalMs?: number;
  maxIntervalMs?: number;
}

/** Where a global transaction ends: its branches all confirmed, or all cancelled. */
export type FinalStatus = typeof GlobalStatus.COMMITTED | typeof GlobalStatus.ROLLED_BACK;

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_INTERVAL_MS = 100;
const DEFAULT_MAX_INTERVAL_MS = 2_000;

/** Nothing read within the time left: the read itself may still be under way, which is harmless. */
const TIMED_OUT = Symbol('timed out');

function isFinal(status: GlobalStatus): status is FinalStatus {
  return status === GlobalStatus.COMMITTED || status === GlobalStatus.ROLLED_BACK;
}

/**
 * The final status of `gid`. A coordinator that cannot be reached or answers 5xx is read again
 * until `timeoutMs`; one that answers no (404 unknown gid, 401, 403) throws its CoordinatorError at
 * once, since asking again would answer the same.
 */
export async function waitForOutcome(coordinator: CoordinatorClient, gid: string, options: WaitForOutcomeOptions = {}): Promise<FinalStatus> {
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const maxInterval = options.maxIntervalMs ?? DEFAULT_MAX_INTERVAL_MS;
  let interval = Math.min(options.intervalMs ?? DEFAULT_INTERVAL_MS, maxInterval);
  let lastStatus: GlobalStatus | undefined;
  let lastFailure: unknown = new Error(`no final status read within ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`);
  for (;;) {
    const left = deadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const read = await Promise.race([
        coordinator.get(gid),
        new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), Math.max(left, 0)))),
      ]);
      if (read !== TIMED_OUT) {
        lastStatus = read.status;
        if (isFinal(read.status)) return read.status;
        lastFailure = new Error(`still ${read.status}`);
      }
    } catch (error) {
      if (error instanceof CoordinatorError || !(error instanceof CoordinatorUnavailableError)) throw error;
      lastFailure = error;
    } finally {
      clearTimeout(timer);
    }
    const pause = Math.min(interval, deadline - Date.now());
    if (pause <= 0) throw new TransactionOutcomeUnknownError(gid, lastFailure, lastStatus);
    await new Promise((resolve) => setTimeout(resolve, pause));
    interval = Math.min(interval * 2, maxInterval);
  }
}
