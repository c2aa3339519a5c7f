/**
 * Checks an incoming participant call (docs/contract.md §5), the same way over HTTP and gRPC: gid and
 * branchId of the contract's syntax, and the phase and the x-tcc-* headers (gRPC metadata) agreeing
 * with the body and with the endpoint called. Answers the call, or the offending field names.
 */
import { BRANCH_ID_MAX_LENGTH, CALLBACK_BRANCH_ID, GID_MAX_LENGTH, ID_PATTERN, PREPARED_BRANCH_ID, TCC_HEADERS } from '../protocol';
import type { BranchPhase, JsonValue } from '../protocol';
import type { BranchCall } from './branch-call.types';
import type { ParticipantPhase } from '../barrier/branch.barrier';

/** The phases of the participant endpoints `<prefix>/:participant/:phase` (every phase but `query`). */
export const PHASES: readonly ParticipantPhase[] = ['try', 'confirm', 'cancel', 'action', 'compensate', 'message'];

export interface BranchCallInput {
  gid: unknown;
  branchId: unknown;
  /** The phase named in the body, if any; must match the endpoint's. */
  phase: unknown;
  payload: JsonValue | null;
}

export function parseBranchCall(
  phase: BranchPhase,
  input: BranchCallInput,
  headers: Record<string, string | undefined>,
): { call: BranchCall } | { invalid: string[] } {
  const fields: string[] = [];
  const { gid, branchId } = input;
  if (typeof gid !== 'string' || gid.length > GID_MAX_LENGTH || !ID_PATTERN.test(gid)) fields.push('gid');
  if (typeof branchId !== 'string' || branchId.length > BRANCH_ID_MAX_LENGTH || !ID_PATTERN.test(branchId)) fields.push('branchId');
  if (input.phase !== undefined && input.phase !== phase) fields.push('phase');
  if (headers[TCC_HEADERS.gid] !== undefined && headers[TCC_HEADERS.gid] !== gid) fields.push(TCC_HEADERS.gid);
  if (headers[TCC_HEADERS.branchId] !== undefined && headers[TCC_HEADERS.branchId] !== branchId) fields.push(TCC_HEADERS.branchId);
  if (headers[TCC_HEADERS.phase] !== undefined && headers[TCC_HEADERS.phase] !== phase) fields.push(TCC_HEADERS.phase);
  if (phase === 'query') {
    // A queryPrepared (§10) names the initiator's own barrier row and carries nothing.
    if (branchId !== PREPARED_BRANCH_ID && !fields.includes('branchId')) fields.push('branchId');
    if (input.payload !== null) fields.push('payload');
  }
  if (phase === 'callback') {
    // A completion callback (§11) names itself and carries the view of the transaction it is about.
    if (branchId !== CALLBACK_BRANCH_ID && !fields.includes('branchId')) fields.push('branchId');
    const view = input.payload;
    if (!view || typeof view !== 'object' || Array.isArray(view) || view.gid !== gid || typeof view.status !== 'string') fields.push('payload');
  }
  // A reconcile call (§13) asks about a branch and carries nothing.
  if (phase === 'reconcile' && input.payload !== null) fields.push('payload');
  if (fields.length > 0) return { invalid: fields };
  return { call: { gid: gid as string, branchId: branchId as string, phase, payload: input.payload } };
}
