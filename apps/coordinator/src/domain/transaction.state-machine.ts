/**
 * The one state machine of a global transaction (docs/contract.md §2, §9, §10): pure, no I/O.
 * For every event it names the modes it applies to, the statuses it may leave and the one it
 * reaches (TRANSITIONS); the store builds its compare-and-set conditions (`WHERE status IN (...)`)
 * from that table, for one row and for a batch, so no transition is written in SQL alone. Whoever
 * loses a race sees the winner's status and asks this machine again (decide()). The branch
 * statuses a phase-two round leaves and reaches are here too (BRANCH_DONE_FROM).
 */
import { BranchStatus, GlobalStatus, TransactionMode, type BranchPhase } from '@tcc/client/protocol';

export type TransactionEvent =
  /** A branch is being registered (TCC). */
  | 'register'
  /** The initiator asks for commit (TCC). */
  | 'commit'
  /** The initiator, an operator, or a refused try asks for rollback (TCC). */
  | 'rollback'
  /** The try phase outlived its deadline (TCC). */
  | 'timeout'
  /** A saga's action was refused, or an operator forces the saga to compensate. */
  | 'compensate'
  /** A saga's actions kept failing past its deadline. */
  | 'expire'
  /** The initiator (or its queryPrepared answer) submits a prepared message. */
  | 'submit'
  /** The initiator (or its queryPrepared answer) aborts a prepared message. */
  | 'abort'
  /** Every branch finished its phase-two call. */
  | 'finish';

export const TRANSACTION_EVENTS: readonly TransactionEvent[] = ['register', 'commit', 'rollback', 'timeout', 'compensate', 'expire', 'submit', 'abort', 'finish'];

export type Decision =
  /** Move to `to` (compare-and-set from the current status). */
  | { kind: 'transition'; to: GlobalStatus }
  /** Allowed without a status change (a branch registration while TRYING). */
  | { kind: 'accept' }
  /** Already where the event leads: answer success, change nothing. */
  | { kind: 'already' }
  /** Nothing to do (a timeout that lost to a decision). */
  | { kind: 'ignore' }
  /** Refused: the current status (or the transaction's mode) contradicts the event (HTTP 409). */
  | { kind: 'conflict' };

const T = GlobalStatus;
const M = TransactionMode;
const B = BranchStatus;
const ALL_MODES = [M.TCC, M.SAGA, M.MESSAGE] as const;

/** Statuses in which phase two still has calls to make: retries, attention and operator actions apply only here. */
export const PHASE_TWO_STATUSES = [T.COMMITTING, T.ROLLING_BACK] as const;

/**
 * Statuses in which a replica may hold a transaction's lease: phase two, and a prepared message
 * whose initiator the coordinator asks (queryPrepared) once its timeout has passed.
 */
export const LEASED_STATUSES = [T.COMMITTING, T.ROLLING_BACK, T.PREPARED] as const;

/** The status each mode starts in: a TCC transaction tries, a saga runs its actions at once, a message waits for its submit. */
export const INITIAL_STATUS = { tcc: T.TRYING, saga: T.COMMITTING, message: T.PREPARED } as const satisfies Record<TransactionMode, GlobalStatus>;

/**
 * What each event does to the stored status: the modes it applies to, the statuses it may leave
 * (`from`), the one it reaches from each (`to`; none for `register`, which needs TRYING and changes
 * nothing), and the deadline it requires (a commit or a registration only before it, a timeout or
 * a saga's expiry only after it).
 */
export const TRANSITIONS = {
  register: { modes: [M.TCC], from: [T.TRYING], deadline: 'ahead' },
  commit: { modes: [M.TCC], from: [T.TRYING], to: { TRYING: T.COMMITTING }, deadline: 'ahead' },
  rollback: { modes: [M.TCC], from: [T.TRYING], to: { TRYING: T.ROLLING_BACK }, deadline: 'any' },
  timeout: { modes: [M.TCC], from: [T.TRYING], to: { TRYING: T.ROLLING_BACK }, deadline: 'past' },
  compensate: { modes: [M.SAGA], from: [T.COMMITTING], to: { COMMITTING: T.ROLLING_BACK }, deadline: 'any' },
  expire: { modes: [M.SAGA], from: [T.COMMITTING], to: { COMMITTING: T.ROLLING_BACK }, deadline: 'past' },
  submit: { modes: [M.MESSAGE], from: [T.PREPARED], to: { PREPARED: T.COMMITTING }, deadline: 'any' },
  abort: { modes: [M.MESSAGE], from: [T.PREPARED], to: { PREPARED: T.ROLLED_BACK }, deadline: 'any' },
  finish: { modes: ALL_MODES, from: [T.COMMITTING, T.ROLLING_BACK], to: { COMMITTING: T.COMMITTED, ROLLING_BACK: T.ROLLED_BACK }, deadline: 'any' },
} as const satisfies Record<
  TransactionEvent,
  {
    modes: readonly TransactionMode[];
    from: readonly GlobalStatus[];
    to?: Partial<Record<GlobalStatus, GlobalStatus>>;
    deadline: 'ahead' | 'past' | 'any';
  }
>;

/** The events that change a status and hand the transaction to a replica to drive: the decisions. */
export type DecisionEvent = 'commit' | 'rollback' | 'timeout' | 'compensate' | 'expire' | 'submit';

/** The events that end a transaction without any call to make: a message aborted while prepared. */
export type CloseEvent = 'abort';

/** The events that change a transaction's status (each has a `to` in TRANSITIONS). */
export type StatusEvent = DecisionEvent | CloseEvent | 'finish';

/** Where a decision leads. */
export function decisionTarget(event: DecisionEvent): 'COMMITTING' | 'ROLLING_BACK' {
  const to: Partial<Record<GlobalStatus, GlobalStatus>> = TRANSITIONS[event].to;
  return Object.values(to)[0] as 'COMMITTING' | 'ROLLING_BACK';
}

/** Events whose target a transaction may already have reached: answered as success, nothing changes. */
const ALREADY: Record<TransactionEvent, readonly GlobalStatus[]> = {
  register: [],
  commit: [T.COMMITTING, T.COMMITTED],
  rollback: [T.ROLLING_BACK, T.ROLLED_BACK],
  timeout: [],
  compensate: [T.ROLLING_BACK, T.ROLLED_BACK],
  expire: [],
  submit: [T.COMMITTING, T.COMMITTED],
  abort: [T.ROLLED_BACK],
  finish: [T.COMMITTED, T.ROLLED_BACK],
};

/** What `event` does to a transaction of `mode` in `status`. */
export function decide(status: GlobalStatus, event: TransactionEvent, mode: TransactionMode = M.TCC): Decision {
  const transition: { modes: readonly TransactionMode[]; from: readonly GlobalStatus[]; to?: Partial<Record<GlobalStatus, GlobalStatus>> } =
    TRANSITIONS[event];
  if (!transition.modes.includes(mode)) return { kind: 'conflict' };
  if (transition.from.includes(status)) {
    const to = transition.to?.[status];
    return to ? { kind: 'transition', to } : { kind: 'accept' };
  }
  // A timeout or an expiry that lost to a decision has nothing to do; it is no one's error.
  if (event === 'timeout' || event === 'expire') return { kind: 'ignore' };
  return ALREADY[event].includes(status) ? { kind: 'already' } : { kind: 'conflict' };
}

/** Statuses in which phase two still has calls to make. */
export function isPhaseTwo(status: GlobalStatus): status is 'COMMITTING' | 'ROLLING_BACK' {
  return status === T.COMMITTING || status === T.ROLLING_BACK;
}

export function isFinal(status: GlobalStatus): boolean {
  return status === T.COMMITTED || status === T.ROLLED_BACK;
}

/**
 * The branch statuses still owed a call in each phase-two status: in COMMITTING, the branches not
 * yet confirmed (TCC), acted (saga) or delivered (message); in ROLLING_BACK also a saga's steps
 * whose action succeeded or was refused, until compensated. A transaction finishes when none is left.
 */
export const PENDING_BRANCH_STATUSES = {
  COMMITTING: [B.REGISTERED],
  ROLLING_BACK: [B.REGISTERED, B.SUCCEEDED, B.FAILED],
} as const satisfies Record<'COMMITTING' | 'ROLLING_BACK', readonly BranchStatus[]>;

/** The statuses a branch may reach in phase two, and the ones it may leave for each. */
export const BRANCH_DONE_FROM = {
  CONFIRMED: [B.REGISTERED],
  CANCELLED: [B.REGISTERED],
  SUCCEEDED: [B.REGISTERED],
  FAILED: [B.REGISTERED],
  COMPENSATED: [B.REGISTERED, B.SUCCEEDED, B.FAILED],
  SKIPPED: [B.REGISTERED],
} as const satisfies Partial<Record<BranchStatus, readonly BranchStatus[]>>;

export type BranchDoneStatus = keyof typeof BRANCH_DONE_FROM;

/** What phase two sends for a transaction of `mode` in `status`, and what a branch becomes once it succeeded. */
export function phaseTwoOf(status: 'COMMITTING' | 'ROLLING_BACK', mode: TransactionMode = M.TCC): { phase: BranchPhase; branchDone: BranchDoneStatus } {
  if (mode === M.SAGA) {
    return status === T.COMMITTING ? { phase: 'action', branchDone: B.SUCCEEDED } : { phase: 'compensate', branchDone: B.COMPENSATED };
  }
  if (mode === M.MESSAGE) {
    // A message never rolls back through phase two (an abort ends it while PREPARED).
    return { phase: 'message', branchDone: B.SUCCEEDED };
  }
  return status === T.COMMITTING
    ? { phase: 'confirm', branchDone: B.CONFIRMED }
    : { phase: 'cancel', branchDone: B.CANCELLED };
}
