/**
 * The barrier of docs/contract.md §5. It runs first inside the participant's local transaction and decides
 * whether the business method may run:
 * - try: insert (try); a duplicate whose row a cancel wrote means the try is hanging and is refused.
 * - confirm: insert (confirm); a duplicate is an idempotent repeat. A confirm that inserted its row
 *   then reads the try row with a locking read: when there is none, or a cancel wrote it (empty
 *   rollback), no try ever ran and the confirm is `not-tried`: the caller must roll its local
 *   transaction back (its confirm row included) and answer BRANCH_NOT_TRIED, never run the business
 *   method, so a confirm sent too early can be sent again.
 * - cancel: insert (cancel), then insert-ignore (try) on the try's behalf: if that insert succeeds no
 *   try ever ran (empty rollback), and any try arriving later meets the row and is refused.
 * Cancel inserts its own row before the try marker so two copies of one cancel meet on their own key
 * first; a try and a cancel of one branch meet only on the try key, whose record lock orders them and
 * neither holds any other lock the other waits for, so they cannot deadlock under REPEATABLE READ.
 * A confirm's read of the try key waits at most for an uncommitted try or cancel of its branch; it
 * waits for nothing after it, so the gap it may lock (no try row) only delays their insert briefly.
 */
import type { BranchPhase } from '../protocol';
import type { DatabaseDialect } from '../sql/sql.dialect';
import type { BarrierSql } from './barrier.adapter';
import { BarrierStore } from './barrier.store';

/**
 * `proceed`: run the business method; the others answer without touching business data, and
 * `not-tried` keeps nothing written either (see above).
 */
export type BarrierDecision = 'proceed' | 'duplicate' | 'empty-rollback' | 'hanging' | 'not-tried';

export class BranchBarrier {
  private readonly store: BarrierStore;

  constructor(dialect: DatabaseDialect) {
    this.store = new BarrierStore(dialect);
  }

  /** `sql` runs in the participant's local transaction, the one the business method then gets. */
  async enter(sql: BarrierSql, gid: string, branchId: string, phase: BranchPhase): Promise<BarrierDecision> {
    switch (phase) {
      case 'try': {
        if (await this.store.insert(sql, gid, branchId, 'try', 'try')) return 'proceed';
        const writer = await this.store.reasonOf(sql, gid, branchId, 'try');
        return writer === 'cancel' ? 'hanging' : 'duplicate';
      }
      case 'confirm': {
        if (!(await this.store.insert(sql, gid, branchId, 'confirm', 'confirm'))) return 'duplicate';
        const writer = await this.store.reasonOf(sql, gid, branchId, 'try');
        return writer === 'try' ? 'proceed' : 'not-tried';
      }
      case 'cancel': {
        if (!(await this.store.insert(sql, gid, branchId, 'cancel', 'cancel'))) return 'duplicate';
        const tryNeverRan = await this.store.insert(sql, gid, branchId, 'try', 'cancel');
        return tryNeverRan ? 'empty-rollback' : 'proceed';
      }
      default:
        throw new Error(`the barrier has no rule for phase ${phase}`);
    }
  }
}
