/**
 * The one state machine of a global transaction (DESIGN.md §2): pure, no I/O.
 * The store applies each transition as a compare-and-set on the expected status, so whoever
 * loses a race sees the winner's status and asks this machine again.
 */
import { BranchStatus, GlobalStatus, type BranchPhase } from '@tcc/client/protocol';

export type TransactionEvent =
  /** A branch is being registered. */
  | 'register'
  /** The initiator asks for commit. */
  | 'commit'
  /** The initiator, an operator, or a refused try asks for rollback. */
  | 'rollback'
  /** The try phase outlived its deadline. */
  | 'timeout'
  /** Every branch finished its phase-two call. */
  | 'finish';

export const TRANSACTION_EVENTS: readonly TransactionEvent[] = ['register', 'commit', 'rollback', 'timeout', 'finish'];

export type Decision =
  /** Move to `to` (compare-and-set from the current status). */
  | { kind: 'transition'; to: GlobalStatus }
  /** Allowed without a status change (a branch registration while TRYING). */
  | { kind: 'accept' }
  /** Already where the event leads: answer success, change nothing. */
  | { kind: 'already' }
  /** Nothing to do (a timeout that lost to a decision). */
  | { kind: 'ignore' }
  /** Refused: the current status contradicts the event (HTTP 409). */
  | { kind: 'conflict' };

const T = GlobalStatus;

export function decide(status: GlobalStatus, event: TransactionEvent): Decision {
  switch (event) {
    case 'register':
      return status === T.TRYING ? { kind: 'accept' } : { kind: 'conflict' };
    case 'commit':
      if (status === T.TRYING) return { kind: 'transition', to: T.COMMITTING };
      if (status === T.COMMITTING || status === T.COMMITTED) return { kind: 'already' };
      return { kind: 'conflict' };
    case 'rollback':
      if (status === T.TRYING) return { kind: 'transition', to: T.ROLLING_BACK };
      if (status === T.ROLLING_BACK || status === T.ROLLED_BACK) return { kind: 'already' };
      return { kind: 'conflict' };
    case 'timeout':
      return status === T.TRYING ? { kind: 'transition', to: T.ROLLING_BACK } : { kind: 'ignore' };
    case 'finish':
      if (status === T.COMMITTING) return { kind: 'transition', to: T.COMMITTED };
      if (status === T.ROLLING_BACK) return { kind: 'transition', to: T.ROLLED_BACK };
      if (status === T.COMMITTED || status === T.ROLLED_BACK) return { kind: 'already' };
      return { kind: 'conflict' };
  }
}

/** Statuses in which phase two still has calls to make. */
export function isPhaseTwo(status: GlobalStatus): status is 'COMMITTING' | 'ROLLING_BACK' {
  return status === T.COMMITTING || status === T.ROLLING_BACK;
}

export function isFinal(status: GlobalStatus): boolean {
  return status === T.COMMITTED || status === T.ROLLED_BACK;
}

/** What phase two sends, and what a branch becomes once it succeeded. */
export function phaseTwoOf(status: 'COMMITTING' | 'ROLLING_BACK'): { phase: BranchPhase; branchDone: BranchStatus } {
  return status === T.COMMITTING
    ? { phase: 'confirm', branchDone: BranchStatus.CONFIRMED }
    : { phase: 'cancel', branchDone: BranchStatus.CANCELLED };
}
