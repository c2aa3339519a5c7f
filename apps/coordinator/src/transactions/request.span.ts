/**
 * The coordinator's span of one API request (docs/contract.md §12): `tcc.coordinator.<operation>`,
 * a SERVER span child of the caller's traceparent (a new root without one). Phase two driven within
 * the request is its child, so the confirms show under the commit that caused them.
 */
import { inSpan, TCC_ATTRIBUTES, type TccSpan } from '@tcc/client/caller';
import type { TransactionMode } from '@tcc/client/protocol';

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export type RequestOperation = 'begin' | 'register' | 'commit' | 'rollback' | 'saga.start' | 'message.prepare' | 'message.submit' | 'message.abort';

export function inRequestSpan<T>(
  operation: RequestOperation,
  request: { traceparent?: string; gid?: string; mode: TransactionMode },
  work: (span: TccSpan) => Promise<T>,
): Promise<T> {
  const parent = request.traceparent && TRACEPARENT.test(request.traceparent) ? request.traceparent : null;
  return inSpan(`tcc.coordinator.${operation}`, { kind: 'server', parent, attributes: { [TCC_ATTRIBUTES.gid]: request.gid, [TCC_ATTRIBUTES.mode]: request.mode } }, work);
}

/** tcc.gid of a span whose gid is known only from the answer. */
export function gidAttribute(gid: string): { [TCC_ATTRIBUTES.gid]: string } {
  return { [TCC_ATTRIBUTES.gid]: gid };
}
