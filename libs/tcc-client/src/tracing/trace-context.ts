/**
 * The W3C trace context (`traceparent`) of the work in progress, if any: captured from the incoming
 * request by TraceparentInterceptor (or set with withTraceparent), and sent by the initiator with
 * begin, commit, rollback and every try, so confirms and cancels join the same trace.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const storage = new AsyncLocalStorage<string>();

export function isTraceparent(value: unknown): value is string {
  return typeof value === 'string' && TRACEPARENT.test(value);
}

/** Runs `work` with `traceparent` current; a missing or malformed value leaves the context as it is. */
export function withTraceparent<T>(traceparent: string | undefined, work: () => T): T {
  return isTraceparent(traceparent) ? storage.run(traceparent, work) : work();
}

export function currentTraceparent(): string | undefined {
  return storage.getStore();
}
