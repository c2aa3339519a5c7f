import { GLOBAL_STATUSES, GlobalStatus, type GlobalStatus as Status } from '@tcc/client';
import {
  decide,
  decisionTarget,
  isFinal,
  isPhaseTwo,
  PHASE_TWO_STATUSES,
  phaseTwoOf,
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

/** The whole table of docs/contract.md §2: every (status, event) pair, allowed and refused. */
const TABLE: Record<Status, Record<TransactionEvent, Decision>> = {
  TRYING: { register: accept, commit: t(S.COMMITTING), rollback: t(S.ROLLING_BACK), timeout: t(S.ROLLING_BACK), finish: conflict },
  COMMITTING: { register: conflict, commit: already, rollback: conflict, timeout: ignore, finish: t(S.COMMITTED) },
  COMMITTED: { register: conflict, commit: already, rollback: conflict, timeout: ignore, finish: already },
  ROLLING_BACK: { register: conflict, commit: conflict, rollback: already, timeout: ignore, finish: t(S.ROLLED_BACK) },
  ROLLED_BACK: { register: conflict, commit: conflict, rollback: already, timeout: ignore, finish: already },
};

describe('transaction state machine', () => {
  const pairs = GLOBAL_STATUSES.flatMap((status) => TRANSACTION_EVENTS.map((event) => [status, event] as const));

  it('covers every status and event', () => {
    expect(pairs).toHaveLength(25);
  });

  it.each(pairs)('%s + %s', (status, event) => {
    expect(decide(status, event)).toEqual(TABLE[status][event]);
  });

  it('never leaves a final status', () => {
    for (const status of GLOBAL_STATUSES.filter(isFinal)) {
      for (const event of TRANSACTION_EVENTS) expect(decide(status, event).kind).not.toBe('transition');
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
    expect(GLOBAL_STATUSES.filter(isPhaseTwo)).toEqual([S.COMMITTING, S.ROLLING_BACK]);
    expect(GLOBAL_STATUSES.filter(isFinal)).toEqual([S.COMMITTED, S.ROLLED_BACK]);
  });

  it('names, for every event, the statuses the store may change and where they lead (the table the SQL is built from)', () => {
    for (const event of TRANSACTION_EVENTS) {
      const transition: { from: readonly string[]; to?: Partial<Record<string, string>> } = TRANSITIONS[event];
      for (const status of GLOBAL_STATUSES) {
        const decision = decide(status, event);
        // A status the table lets the event leave is exactly one where the machine moves (or accepts).
        expect(transition.from.includes(status)).toBe(decision.kind === 'transition' || decision.kind === 'accept');
        if (decision.kind === 'transition') expect(decision.to).toBe(transition.to?.[status]);
      }
    }
    expect(decisionTarget('commit')).toBe(S.COMMITTING);
    expect(decisionTarget('rollback')).toBe(S.ROLLING_BACK);
    expect(decisionTarget('timeout')).toBe(S.ROLLING_BACK);
    expect([TRANSITIONS.commit.deadline, TRANSITIONS.timeout.deadline, TRANSITIONS.rollback.deadline]).toEqual(['ahead', 'past', 'any']);
    expect([...PHASE_TWO_STATUSES]).toEqual(GLOBAL_STATUSES.filter(isPhaseTwo));
  });
});
