import { GLOBAL_STATUSES, GlobalStatus, TRANSACTION_MODES, type GlobalStatus as Status, type TransactionMode } from '@tcc/client';
import {
  decide,
  decisionTarget,
  isFinal,
  isPhaseTwo,
  PHASE_TWO_STATUSES,
  phaseTwoOf,
  INITIAL_STATUS,
  TRANSACTION_EVENTS,
  TRANSITIONS,
  type Decision,
  type TransactionEvent,
} from '../../apps/coordinator/src/domain/transaction.state-machine';

const S = GlobalStatus;
const t = (to: Status): Decision => ({ kind: 'transition', to });
const accept: Decision = { kind: 'accept' };
const already: Decision = { kind: 'already' };
const ignore: Decision = { kind: 'ignore' };
const conflict: Decision = { kind: 'conflict' };

type Row = Partial<Record<TransactionEvent, Decision>>;
/**
 * The whole table of docs/contract.md §2, §9, §10: every (mode, status, event). Written out per
 * mode; a pair not named is a conflict (the event does not apply to the mode, or not from there).
 */
const TABLE: Record<TransactionMode, Record<Status, Row>> = {
  tcc: {
    TRYING: { register: accept, commit: t(S.COMMITTING), rollback: t(S.ROLLING_BACK), timeout: t(S.ROLLING_BACK) },
    PREPARED: { timeout: ignore },
    COMMITTING: { commit: already, timeout: ignore, finish: t(S.COMMITTED) },
    COMMITTED: { commit: already, timeout: ignore, finish: already },
    ROLLING_BACK: { rollback: already, timeout: ignore, finish: t(S.ROLLED_BACK) },
    ROLLED_BACK: { rollback: already, timeout: ignore, finish: already },
  },
  saga: {
    TRYING: { expire: ignore },
    PREPARED: { expire: ignore },
    COMMITTING: { compensate: t(S.ROLLING_BACK), expire: t(S.ROLLING_BACK), finish: t(S.COMMITTED) },
    COMMITTED: { expire: ignore, finish: already },
    ROLLING_BACK: { compensate: already, expire: ignore, finish: t(S.ROLLED_BACK) },
    ROLLED_BACK: { compensate: already, expire: ignore, finish: already },
  },
  message: {
    TRYING: {},
    PREPARED: { submit: t(S.COMMITTING), abort: t(S.ROLLED_BACK) },
    COMMITTING: { submit: already, finish: t(S.COMMITTED) },
    COMMITTED: { submit: already, finish: already },
    ROLLING_BACK: { finish: t(S.ROLLED_BACK) },
    ROLLED_BACK: { abort: already, finish: already },
  },
};

describe('transaction state machine', () => {
  const triples = TRANSACTION_MODES.flatMap((mode) => GLOBAL_STATUSES.flatMap((status) => TRANSACTION_EVENTS.map((event) => [mode, status, event] as const)));

  it('covers every mode, status and event', () => {
    expect(triples).toHaveLength(3 * 6 * 9);
  });

  it.each(triples)('%s: %s + %s', (mode, status, event) => {
    expect(decide(status, event, mode)).toEqual(TABLE[mode][status][event] ?? conflict);
  });

  it('starts each mode where its first step is: TCC tries, a saga acts, a message waits for submit', () => {
    expect(INITIAL_STATUS).toEqual({ tcc: S.TRYING, saga: S.COMMITTING, message: S.PREPARED });
  });

  it('never leaves a final status', () => {
    for (const mode of TRANSACTION_MODES) {
      for (const status of GLOBAL_STATUSES.filter(isFinal)) {
        for (const event of TRANSACTION_EVENTS) expect(decide(status, event, mode).kind).not.toBe('transition');
      }
    }
  });

  it('only TRYING accepts branches, and commit and rollback exclude each other', () => {
    for (const status of GLOBAL_STATUSES) {
      expect(decide(status, 'register').kind === 'accept').toBe(status === S.TRYING);
      const commit = decide(status, 'commit').kind;
      const rollback = decide(status, 'rollback').kind;
      if (status !== S.TRYING) expect(commit === 'conflict' || rollback === 'conflict').toBe(true);
    }
  });

  it('maps phase-two statuses to the call and the branch outcome', () => {
    expect(phaseTwoOf('COMMITTING')).toEqual({ phase: 'confirm', branchDone: 'CONFIRMED' });
    expect(phaseTwoOf('ROLLING_BACK')).toEqual({ phase: 'cancel', branchDone: 'CANCELLED' });
    expect(phaseTwoOf('COMMITTING', 'saga')).toEqual({ phase: 'action', branchDone: 'SUCCEEDED' });
    expect(phaseTwoOf('ROLLING_BACK', 'saga')).toEqual({ phase: 'compensate', branchDone: 'COMPENSATED' });
    expect(phaseTwoOf('COMMITTING', 'message')).toEqual({ phase: 'message', branchDone: 'SUCCEEDED' });
    expect(GLOBAL_STATUSES.filter(isPhaseTwo)).toEqual([S.COMMITTING, S.ROLLING_BACK]);
    expect(GLOBAL_STATUSES.filter(isFinal)).toEqual([S.COMMITTED, S.ROLLED_BACK]);
  });

  it('names, for every event, the statuses the store may change and where they lead (the table the SQL is built from)', () => {
    for (const event of TRANSACTION_EVENTS) {
      const transition: { modes: readonly string[]; from: readonly string[]; to?: Partial<Record<string, string>> } = TRANSITIONS[event];
      for (const mode of TRANSACTION_MODES) {
        for (const status of GLOBAL_STATUSES) {
          const decision = decide(status, event, mode);
          // A (mode, status) the table lets the event leave is exactly one where the machine moves (or accepts).
          expect(transition.modes.includes(mode) && transition.from.includes(status)).toBe(decision.kind === 'transition' || decision.kind === 'accept');
          if (decision.kind === 'transition') expect(decision.to).toBe(transition.to?.[status]);
        }
      }
    }
    expect(decisionTarget('commit')).toBe(S.COMMITTING);
    expect(decisionTarget('rollback')).toBe(S.ROLLING_BACK);
    expect(decisionTarget('timeout')).toBe(S.ROLLING_BACK);
    expect([TRANSITIONS.commit.deadline, TRANSITIONS.timeout.deadline, TRANSITIONS.rollback.deadline]).toEqual(['ahead', 'past', 'any']);
    expect([...PHASE_TWO_STATUSES]).toEqual(GLOBAL_STATUSES.filter(isPhaseTwo));
  });
});
