/**
 * The only code that writes barrier SQL. One row per (gid, branch_id, phase); `reason` records which
 * phase's call wrote the row, so a try row written by a cancel tells a late try it is hanging.
 */
import type { EntityManager } from 'typeorm';
import type { BranchPhase } from '../protocol';
import { sqlDialectOf } from '../sql/sql.dialect';
import { execute, select } from '../sql/sql.result';
import { BARRIER_TABLE } from './barrier.table';

/** The insert and the locking read, in the participant database's dialect (sql.dialect.ts). */
const INSERT = `INTO ${BARRIER_TABLE} (gid, branch_id, phase, reason, created_at) VALUES (?, ?, ?, ?, ?)`;
const READ_REASON = `SELECT reason FROM ${BARRIER_TABLE} WHERE gid = ? AND branch_id = ? AND phase = ?`;

export class BarrierStore {
  /** Inserts the row unless one with the same key exists; true when this call inserted it. */
  async insert(manager: EntityManager, gid: string, branchId: string, phase: BranchPhase, reason: BranchPhase): Promise<boolean> {
    // Two calls of one branch are ordered by the unique key (gid, branch_id, phase) alone.
    const sql = sqlDialectOf(manager).insertIfAbsent(INSERT);
    return (await execute(manager, sql, [gid, branchId, phase, reason, Date.now()])) === 1;
  }

  /** Which phase wrote the row. */
  async reasonOf(manager: EntityManager, gid: string, branchId: string, phase: BranchPhase): Promise<BranchPhase | undefined> {
    // A locking read: the latest committed row, kept from moving until this transaction ends.
    const rows = await select<{ reason: BranchPhase }>(manager, READ_REASON + sqlDialectOf(manager).shareLock, [gid, branchId, phase]);
    return rows[0]?.reason;
  }

  /**
   * Ids of rows older than the cutoff, oldest first, read without locks; deleting them by primary key
   * afterwards takes record locks only, so cleanup never blocks a gap another branch inserts into.
   */
  async oldIds(manager: EntityManager, olderThan: number, limit: number): Promise<number[]> {
    const sql = `SELECT id FROM ${BARRIER_TABLE} WHERE created_at < ? ORDER BY created_at LIMIT ${Math.floor(limit)}`;
    const rows = await select<{ id: number | string }>(manager, sql, [olderThan]);
    return rows.map((row) => Number(row.id));
  }

  async deleteIds(manager: EntityManager, ids: number[]): Promise<number> {
    if (ids.length === 0) return 0;
    return execute(manager, `DELETE FROM ${BARRIER_TABLE} WHERE id IN (${ids.map(() => '?').join(', ')})`, ids);
  }
}

