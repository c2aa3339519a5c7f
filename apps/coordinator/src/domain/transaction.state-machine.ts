/**
 * The one state machine of a global transaction (docs/contract.md §2): pure, no I/O.
 * For every event it names the statuses the event may leave and the one it reaches
 * (TRANSITIONS); the store builds its compare-and-set conditions (`WHERE status IN (...)`) from
 * that table, for one row and for a batch, so no transition is written in SQL alone. Whoever loses
 * a race sees the winner's status and asks this machine again (decide()).
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

/** Statuses in which phase two still has calls to make: leases, retries, claims and operator actions apply only here. */
export const PHASE_TWO_STATUSES = [T.COMMITTING, T.ROLLING_BACK] as const;

/**
 * What each event does to the stored status: the statuses it may leave (`from`), the one it
 * reaches from each (`to`; none for `register`, which needs TRYING and changes nothing), and the
 * deadline it requires (a commit or a registration only before it, a timeout only after it).
 */
export const TRANSITIONS = {
  register: { from: [T.TRYING], deadline: 'ahead' },
  commit: { from: [T.TRYING], to: { TRYING: T.COMMITTING }, deadline: 'ahead' },
  rollback: { from: [T.TRYING], to: { TRYING: T.ROLLING_BACK }, deadline: 'any' },
  timeout: { from: [T.TRYING], to: { TRYING: T.ROLLING_BACK }, deadline: 'past' },
  finish: { from: [T.COMMITTING, T.ROLLING_BACK], to: { COMMITTING: T.COMMITTED, ROLLING_BACK: T.ROLLED_BACK }, deadline: 'any' },
} as const satisfies Record<
  TransactionEvent,
  { from: readonly GlobalStatus[]; to?: Partial<Record<GlobalStatus, GlobalStatus>>; deadline: 'ahead' | 'past' | 'any' }
>;

/** The events that move a transaction out of TRYING: the decisions. */
export type DecisionEvent = 'commit' | 'rollback' | 'timeout';

/** The events that change a transaction's status (each has a `to` in TRANSITIONS): the decisions and the finish. */
export type StatusEvent = DecisionEvent | 'finish';

/** Where a decision leads (from TRYING). */
export function decisionTarget(event: DecisionEvent): 'COMMITTING' | 'ROLLING_BACK' {
  return TRANSITIONS[event].to.TRYING;
}

/** Events whose target a transaction may already have reached: answered as success, nothing changes. */
const ALREADY: Record<TransactionEvent, readonly GlobalStatus[]> = {
  register: [],
  commit: [T.COMMITTING, T.COMMITTED],
  rollback: [T.ROLLING_BACK, T.ROLLED_BACK],
  timeout: [],
  finish: [T.COMMITTED, T.ROLLED_BACK],
};

export function decide(status: GlobalStatus, event: TransactionEvent): Decision {
  const transition: { from: readonly GlobalStatus[]; to?: Partial<Record<GlobalStatus, GlobalStatus>> } = TRANSITIONS[event];
  if (transition.from.includes(status)) {
    const to = transition.to?.[status];
    return to ? { kind: 'transition', to } : { kind: 'accept' };
  }
  // A timeout that lost to a decision has nothing to do; it is no one's error.
  if (event === 'timeout') return { kind: 'ignore' };
  return ALREADY[event].includes(status) ? { kind: 'already' } : { kind: 'conflict' };
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
