/**
 * The only code that writes barrier SQL. One row per (gid, branch_id, phase); `reason` records which
 * phase's call wrote the row, so a try row written by a cancel tells a late try it is hanging.
 */
import type { DataSource, EntityManager } from 'typeorm';
import type { BranchPhase } from '../protocol';
import { BARRIER_TABLE } from './barrier.table';
import { dialectOf, insertIgnore, lockInShareMode } from './sql.dialect';
import { execute, select } from './sql.result';

export class BarrierStore {
  /** Inserts the row unless one with the same key exists; true when this call inserted it. */
  async insert(manager: EntityManager, gid: string, branchId: string, phase: BranchPhase, reason: BranchPhase): Promise<boolean> {
    const sql =
      `${insertIgnore(dialectOf(manager))} ${BARRIER_TABLE} (gid, branch_id, phase, reason, created_at) ` +
      'VALUES (?, ?, ?, ?, ?)';
    return (await execute(manager, sql, [gid, branchId, phase, reason, Date.now()])) === 1;
  }

  /** Which phase wrote the row; a locking read so it sees the latest committed row under REPEATABLE READ. */
  async reasonOf(manager: EntityManager, gid: string, branchId: string, phase: BranchPhase): Promise<BranchPhase | undefined> {
    const rows = await select<{ reason: BranchPhase }>(
      manager,
      `SELECT reason FROM ${BARRIER_TABLE} WHERE gid = ? AND branch_id = ? AND phase = ?${lockInShareMode(dialectOf(manager))}`,
      [gid, branchId, phase],
    );
    return rows[0]?.reason;
  }

  /**
   * Ids of rows older than the cutoff, oldest first, read without locks; deleting them by primary key
   * afterwards takes record locks only, so cleanup never blocks a gap another branch inserts into.
   */
  async oldIds(dataSource: DataSource, olderThan: number, limit: number): Promise<number[]> {
    const rows: unknown = await dataSource.query(
      `SELECT id FROM ${BARRIER_TABLE} WHERE created_at < ? ORDER BY created_at LIMIT ${Math.floor(limit)}`,
      [olderThan],
    );
    return Array.isArray(rows) ? rows.map((row: { id: number | string }) => Number(row.id)) : [];
  }

  async deleteIds(manager: EntityManager, ids: number[]): Promise<number> {
    if (ids.length === 0) return 0;
    return execute(manager, `DELETE FROM ${BARRIER_TABLE} WHERE id IN (${ids.map(() => '?').join(', ')})`, ids);
  }
}
