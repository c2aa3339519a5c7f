/**
 * Reconciliation's verdicts (docs/contract.md §13): given what the coordinator decided for a branch
 * of a finished transaction and what its participant answered (barrier rows, business view), do the
 * books agree? Pure, no I/O. Nothing here ever changes a transaction: a verdict is only reported.
 */
import type { BusinessState, BranchStatus, TransactionMode } from '@tcc/client/protocol';

/** Every kind of disagreement, one per branch (the first that applies, in the order below). */
export const MISMATCH_KINDS = [
  /** The participant has no barrier row at all for the branch (and the window is within its retention). */
  'UNKNOWN_TO_PARTICIPANT',
  /** COMMITTED, but the participant recorded a cancel of the branch. */
  'CANCELLED_BUT_COMMITTED',
  /** ROLLED_BACK, but the participant recorded a confirm of the branch. */
  'CONFIRMED_BUT_ROLLED_BACK',
  /** COMMITTED, no confirm row. */
  'MISSING_CONFIRM',
  /** COMMITTED, a confirm row but no try row (the try's row was removed). */
  'MISSING_TRY',
  /** ROLLED_BACK, no cancel row. */
  'MISSING_CANCEL',
  /** A committed saga step with no action row. */
  'MISSING_ACTION',
  /** A committed saga step the participant compensated. */
  'COMPENSATED_BUT_COMMITTED',
  /** A compensated saga step with no compensation row. */
  'MISSING_COMPENSATION',
  /** A delivered message step with no delivery row. */
  'MISSING_DELIVERY',
  /** The barrier agrees, the business tables do not (the participant's @TccReconcile() view). */
  'BUSINESS_MISMATCH',
] as const;
export type MismatchKind = (typeof MISMATCH_KINDS)[number];

/** Not a mismatch of the books: the participant did not answer after retries. Reported apart. */
export const UNREACHABLE = 'UNREACHABLE';
/** A finding's kind as stored and listed: a mismatch, or UNREACHABLE. */
export type FindingKind = MismatchKind | typeof UNREACHABLE;

export interface CoordinatorSide {
  mode: TransactionMode;
  status: 'COMMITTED' | 'ROLLED_BACK';
  branchStatus: BranchStatus;
  /** When the transaction began (epoch ms): a barrier row is at least as recent. */
  createdAt: number;
}

export interface ParticipantSide {
  rows: readonly { phase: string; reason: string }[];
  business: { state: BusinessState } | null;
  /** How long the participant keeps barrier rows, and its clock when it answered. */
  retentionMs: number;
  now: number;
}

export type Verdict =
  | { kind: 'agree' }
  /** The rows may have been cleaned up by the participant's retention: unknown, not a mismatch. */
  | { kind: 'expired'; would: MismatchKind }
  | { kind: 'mismatch'; mismatch: MismatchKind; why: string };

/** Whether a branch is worth asking about: a step whose action was never sent, or a message never delivered, left no trace to compare. */
export function isCheckable(mode: TransactionMode, status: 'COMMITTED' | 'ROLLED_BACK', branchStatus: BranchStatus): boolean {
  if (mode === 'message') return status === 'COMMITTED' && branchStatus === 'SUCCEEDED';
  if (mode === 'saga') return branchStatus === 'SUCCEEDED' || branchStatus === 'COMPENSATED';
  return branchStatus === 'CONFIRMED' || branchStatus === 'CANCELLED';
}

type Expectation = { barrier: MismatchKind | null; why: string; business: readonly BusinessState[] };

function expectation(c: CoordinatorSide, p: ParticipantSide): Expectation {
  const has = (phase: string): boolean => p.rows.some((r) => r.phase === phase);
  const tried = p.rows.some((r) => r.phase === 'try' && r.reason === 'try');
  const fail = (barrier: MismatchKind, why: string): Expectation => ({ barrier, why, business: [] });
  if (p.rows.length === 0) return fail('UNKNOWN_TO_PARTICIPANT', 'the participant has no barrier row of this branch');
  const committed = c.status === 'COMMITTED';
  if (c.mode === 'message') {
    if (!has('msg')) return fail('MISSING_DELIVERY', 'delivered (SUCCEEDED) but no msg row');
    return { barrier: null, why: '', business: ['confirmed'] };
  }
  if (c.mode === 'saga') {
    if (committed && has('cancel')) return fail('COMPENSATED_BUT_COMMITTED', 'the saga COMMITTED but the step has a compensation row');
    if (committed && !tried) return fail('MISSING_ACTION', 'the saga COMMITTED but the step has no action row');
    if (!committed && c.branchStatus === 'COMPENSATED' && !has('cancel')) return fail('MISSING_COMPENSATION', 'the step is COMPENSATED but has no compensation row');
    return { barrier: null, why: '', business: committed ? ['confirmed'] : tried ? ['cancelled'] : ['cancelled', 'none'] };
  }
  if (committed) {
    if (has('cancel')) return fail('CANCELLED_BUT_COMMITTED', 'the transaction COMMITTED but the branch has a cancel row');
    if (!has('confirm')) return fail('MISSING_CONFIRM', 'the transaction COMMITTED but the branch has no confirm row');
    if (!tried) return fail('MISSING_TRY', 'the branch has a confirm row but no try row');
    return { barrier: null, why: '', business: ['confirmed'] };
  }
  if (has('confirm')) return fail('CONFIRMED_BUT_ROLLED_BACK', 'the transaction ROLLED_BACK but the branch has a confirm row');
  if (!has('cancel')) return fail('MISSING_CANCEL', 'the transaction ROLLED_BACK but the branch has no cancel row');
  // A try that ran was released; an empty rollback (the marker only) never touched the business.
  return { barrier: null, why: '', business: tried ? ['cancelled'] : ['cancelled', 'none'] };
}

/** The verdict on one branch. */
export function judge(c: CoordinatorSide, p: ParticipantSide): Verdict {
  const e = expectation(c, p);
  if (e.barrier) {
    // Rows older than the participant's retention may have been removed by its cleanup.
    if (p.now - c.createdAt >= p.retentionMs) return { kind: 'expired', would: e.barrier };
    return { kind: 'mismatch', mismatch: e.barrier, why: e.why };
  }
  if (p.business && !e.business.includes(p.business.state)) {
    return {
      kind: 'mismatch',
      mismatch: 'BUSINESS_MISMATCH',
      why: `the business view says ${p.business.state}; expected ${e.business.join(' or ')} for a ${c.status} ${c.mode} branch`,
    };
  }
  return { kind: 'agree' };
}
