/**
 * What every store shares: the SQL that differs by dialect (the database clock, insert-if-absent,
 * the locking read). Status changes are built in transition.sql.ts, nowhere else.
 */
import { LEASED_STATUSES, PHASE_TWO_STATUSES } from '../domain/transaction.state-machine';
import type { Database } from './database';
import { inList } from './transition.sql';

export const LAST_ERROR_MAX = 1000;

/** `IN (...)` of the statuses in which phase two has calls to make (leases and claims apply only there). */
export const PHASE_TWO = inList(PHASE_TWO_STATUSES);

/** `IN (...)` of the statuses a replica may hold a lease in (phase two, and a prepared message being asked about). */
export const LEASED = inList(LEASED_STATUSES);

export { inList, LEASED_STATUSES, PHASE_TWO_STATUSES };

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
