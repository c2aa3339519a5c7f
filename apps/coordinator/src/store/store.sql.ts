/**
 * What every store shares: the SQL that differs by dialect (the database clock, insert-if-absent,
 * the locking read), and the compare-and-set conditions built from the state machine's
 * TRANSITIONS, so no transition is written in SQL alone.
 */
import type { GlobalStatus } from '@tcc/client/protocol';
import { PHASE_TWO_STATUSES, TRANSITIONS, type DecisionEvent } from '../domain/transaction.state-machine';
import type { Database } from './database';

export const LAST_ERROR_MAX = 1000;

/** `IN (?, ...)` for a list of statuses from the state machine, and its parameters. */
export function inList(statuses: readonly string[]): string {
  return `IN (${statuses.map(() => '?').join(', ')})`;
}

/** What the state machine allows a decision (commit, rollback, timeout): from which statuses, to which, and the deadline condition. */
export function decisionOf(event: DecisionEvent, now: string): { to: GlobalStatus; from: readonly GlobalStatus[]; deadline: string } {
  const t = TRANSITIONS[event];
  const deadline = t.deadline === 'ahead' ? ` AND expires_at > ${now}` : t.deadline === 'past' ? ` AND expires_at <= ${now}` : '';
  return { to: t.to.TRYING, from: t.from, deadline };
}

export const PHASE_TWO = inList(PHASE_TWO_STATUSES);

export { PHASE_TWO_STATUSES, TRANSITIONS };

/** Dialect pieces of the SQL every store writes (sql.dialect.ts has them all). */
export abstract class StoreBase {
  /** SQL expression for the database's current time in epoch milliseconds. */
  protected readonly now: string;
  /** `INSERT ...` that does nothing when the key exists; its argument starts at `INTO`. */
  protected readonly insertIfAbsent: (rest: string) => string;
  /** Locks the transaction row a branch insert reads, so a concurrent decision waits for it. */
  protected readonly shareLock: string;

  constructor(protected readonly db: Database) {
    this.now = db.sql.now;
    this.insertIfAbsent = db.sql.insertIfAbsent;
    this.shareLock = db.sql.shareLock;
  }
}
