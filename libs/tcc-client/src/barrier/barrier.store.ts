/**
 * The only code that writes barrier SQL. One row per (gid, branch_id, phase); `reason` records which
 * phase's call wrote the row, so a try row written by a cancel tells a late try it is hanging.
 * Both columns are VARCHAR(8), so the names stored are short (BarrierRowPhase, BarrierReason).
 */
import type { DatabaseDialect } from '../sql/sql.dialect';
import type { BarrierRead, BarrierSql } from './barrier.adapter';
import { BARRIER_TABLE } from './barrier.table';

/** The insert and the locking read, in the participant database's dialect (sql.dialect.ts). */
const INSERT = `INTO ${BARRIER_TABLE} (gid, branch_id, phase, reason, created_at) VALUES (?, ?, ?, ?, ?)`;
const READ_REASON = `SELECT reason FROM ${BARRIER_TABLE} WHERE gid = ? AND branch_id = ? AND phase = ?`;

/**
 * The `phase` column: a TCC phase (saga actions and compensations are stored as `try` and `cancel`,
 * so they share their semantics), `msg` for a delivered message step, `prepared` for a message
 * initiator's own row (branch_id PREPARED_BRANCH_ID).
 */
export type BarrierRowPhase = 'try' | 'confirm' | 'cancel' | 'msg' | 'prepared';
/**
 * The `reason` column: which call wrote the row (`try`, `confirm`, `cancel`, `msg`), or for a
 * prepared row what became of the initiator's local transaction: `commit` (written inside it) or
 * `rollback` (written by a queryPrepared that found none).
 */
export type BarrierReason = 'try' | 'confirm' | 'cancel' | 'msg' | 'commit' | 'rollback';

export class BarrierStore {
  private readonly insertSql: string;
  private readonly readReasonSql: string;

  constructor(dialect: DatabaseDialect) {
    // Two calls of one branch are ordered by the unique key (gid, branch_id, phase) alone.
    this.insertSql = dialect.insertIfAbsent(INSERT);
    // A locking read: the latest committed row, kept from moving until this transaction ends.
    this.readReasonSql = READ_REASON + dialect.shareLock;
  }

  /** Inserts the row unless one with the same key exists; true when this call inserted it. */
  async insert(sql: BarrierSql, gid: string, branchId: string, phase: BarrierRowPhase, reason: BarrierReason): Promise<boolean> {
    return (await sql.execute(this.insertSql, [gid, branchId, phase, reason, Date.now()])) === 1;
  }

  /** Which call wrote the row (a locking read). */
  async reasonOf(sql: BarrierSql, gid: string, branchId: string, phase: BarrierRowPhase): Promise<BarrierReason | undefined> {
    const rows = await sql.select<{ reason: BarrierReason }>(this.readReasonSql, [gid, branchId, phase]);
    return rows[0]?.reason;
  }

  /**
   * Ids of rows older than the cutoff, oldest first, read without locks; deleting them by primary key
   * afterwards takes record locks only, so cleanup never blocks a gap another branch inserts into.
   */
  async oldIds(sql: BarrierRead, olderThan: number, limit: number): Promise<number[]> {
    const text = `SELECT id FROM ${BARRIER_TABLE} WHERE created_at < ? ORDER BY created_at LIMIT ${Math.floor(limit)}`;
    const rows = await sql.select<{ id: number | string }>(text, [olderThan]);
    return rows.map((row) => Number(row.id));
  }

  async deleteIds(sql: BarrierSql, ids: number[]): Promise<number> {
    if (ids.length === 0) return 0;
    return sql.execute(`DELETE FROM ${BARRIER_TABLE} WHERE id IN (${ids.map(() => '?').join(', ')})`, ids);
  }

  /** Every row of one branch, oldest first (reconciliation, docs/contract.md §13). */
  async rowsOf(sql: BarrierRead, gid: string, branchId: string): Promise<{ phase: string; reason: string; createdAt: number }[]> {
    const rows = await sql.select<{ phase: string; reason: string; created_at: number | string }>(
      `SELECT phase, reason, created_at FROM ${BARRIER_TABLE} WHERE gid = ? AND branch_id = ? ORDER BY id`,
      [gid, branchId],
    );
    return rows.map((row) => ({ phase: String(row.phase), reason: String(row.reason), createdAt: Number(row.created_at) }));
  }

  /** A cheap read that fails when the table is missing (the start-up check). */
  async probe(sql: BarrierRead): Promise<void> {
    await sql.select(`SELECT id FROM ${BARRIER_TABLE} WHERE id = ?`, [0]);
  }
}
