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
 * - saga action and compensate (§9): exactly try and cancel, stored under those names, so an action
 *   is idempotent, a compensation with no action is an empty compensation, and an action arriving
 *   after its compensation is refused as hanging.
 * - message (§10, a delivered message step): insert (msg); a duplicate is answered without running.
 * Cancel inserts its own row before the try marker so two copies of one cancel meet on their own key
 * first; a try and a cancel of one branch meet only on the try key, whose record lock orders them and
 * neither holds any other lock the other waits for, so they cannot deadlock under REPEATABLE READ.
 * A confirm's read of the try key waits at most for an uncommitted try or cancel of its branch; it
 * waits for nothing after it, so the gap it may lock (no try row) only delays their insert briefly.
 *
 * A message initiator's prepared row (§10): (gid, PREPARED_BRANCH_ID, 'prepared') written with reason
 * `commit` inside the initiator's own local transaction, together with its business change. A
 * queryPrepared inserts the same key with reason `rollback` if absent, in a transaction of its own:
 * - it inserted: the initiator's transaction never committed, and now never can (its insert meets
 *   the key and fails), so the answer is ROLLED_BACK;
 * - it did not: the row's reason, read with the locking read, is the answer (`commit`: COMMITTED).
 * While the initiator's transaction is open, the query's insert waits on its uncommitted key
 * (InnoDB, PostgreSQL) or on the write lock (SQLite), so it answers what that transaction finally
 * did: never ROLLED_BACK for one that then commits.
 */
import { PREPARED_BRANCH_ID, type BranchPhase } from '../protocol';
import type { DatabaseDialect } from '../sql/sql.dialect';
import type { BarrierSql } from './barrier.adapter';
import { BarrierStore } from './barrier.store';

/**
 * `proceed`: run the business method; the others answer without touching business data, and
 * `not-tried` keeps nothing written either (see above). `empty-rollback` is a cancel's or a
 * compensation's with no try or action before it.
 */
export type BarrierDecision = 'proceed' | 'duplicate' | 'empty-rollback' | 'hanging' | 'not-tried';

/** The phases a participant method runs in (every phase but `query`, which the initiator answers). */
export type ParticipantPhase = Exclude<BranchPhase, 'query' | 'callback' | 'reconcile'>;

/** What a queryPrepared answers: whether the initiator's local transaction committed. */
export type PreparedOutcome = 'COMMITTED' | 'ROLLED_BACK';

/**
 * The initiator's insert of its prepared row met an existing one: a queryPrepared answered
 * ROLLED_BACK before this local transaction wrote it (the coordinator asked, found nothing, and
 * aborted the message), or the gid was used by an earlier message. The local transaction must roll
 * back: its business change must not commit without its message.
 */
export class PreparedRowTakenError extends Error {
  override readonly name = 'PreparedRowTakenError';

  constructor(
    readonly gid: string,
    /** What the existing row says: `rollback` (a queryPrepared wrote it), `commit` (an earlier message). */
    readonly reason: string | undefined,
  ) {
    super(
      reason === 'commit'
        ? `message ${gid}: a prepared row for this gid was committed by an earlier message; a gid names one message`
        : `message ${gid}: queryPrepared already answered ROLLED_BACK for this gid (the coordinator asked before this local transaction wrote its prepared row), so it must not commit`,
    );
  }
}

export class BranchBarrier {
  private readonly store: BarrierStore;

  constructor(dialect: DatabaseDialect) {
    this.store = new BarrierStore(dialect);
  }

  /** `sql` runs in the participant's local transaction, the one the business method then gets. */
  async enter(sql: BarrierSql, gid: string, branchId: string, phase: BranchPhase): Promise<BarrierDecision> {
    switch (phase) {
      case 'try':
      case 'action': {
        if (await this.store.insert(sql, gid, branchId, 'try', 'try')) return 'proceed';
        const writer = await this.store.reasonOf(sql, gid, branchId, 'try');
        return writer === 'cancel' ? 'hanging' : 'duplicate';
      }
      case 'confirm': {
        if (!(await this.store.insert(sql, gid, branchId, 'confirm', 'confirm'))) return 'duplicate';
        const writer = await this.store.reasonOf(sql, gid, branchId, 'try');
        return writer === 'try' ? 'proceed' : 'not-tried';
      }
      case 'cancel':
      case 'compensate': {
        if (!(await this.store.insert(sql, gid, branchId, 'cancel', 'cancel'))) return 'duplicate';
        const tryNeverRan = await this.store.insert(sql, gid, branchId, 'try', 'cancel');
        return tryNeverRan ? 'empty-rollback' : 'proceed';
      }
      case 'message':
        return (await this.store.insert(sql, gid, branchId, 'msg', 'msg')) ? 'proceed' : 'duplicate';
      case 'query':
      case 'callback':
        throw new Error(`tcc barrier: a ${phase} call is answered by the initiator's own endpoint, not by a participant method`);
      case 'reconcile':
        throw new Error('tcc barrier: a reconcile call reads the barrier (BarrierStore.rowsOf) and enters nothing');
    }
  }

  /**
   * Writes the initiator's prepared row inside its local transaction (`sql`, the one holding its
   * business change). Throws PreparedRowTakenError when the row exists, so that transaction rolls
   * back; on the databases here the insert first waits for a concurrent query's uncommitted row.
   */
  async prepare(sql: BarrierSql, gid: string): Promise<void> {
    if (await this.store.insert(sql, gid, PREPARED_BRANCH_ID, 'prepared', 'commit')) return;
    throw new PreparedRowTakenError(gid, await this.store.reasonOf(sql, gid, PREPARED_BRANCH_ID, 'prepared'));
  }

  /** Answers a queryPrepared in a local transaction of its own (`sql`): see the header. */
  async queryPrepared(sql: BarrierSql, gid: string): Promise<PreparedOutcome> {
    if (await this.store.insert(sql, gid, PREPARED_BRANCH_ID, 'prepared', 'rollback')) return 'ROLLED_BACK';
    const reason = await this.store.reasonOf(sql, gid, PREPARED_BRANCH_ID, 'prepared');
    if (reason === 'commit') return 'COMMITTED';
    if (reason === 'rollback') return 'ROLLED_BACK';
    // Not inserted and not readable: only a row removed between the two statements (cleanup).
    throw new Error(`tcc barrier: the prepared row of ${gid} could be neither inserted nor read (reason ${String(reason)})`);
  }
}
