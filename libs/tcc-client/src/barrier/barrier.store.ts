/**
 * The only code that writes barrier SQL. One row per (gid, branch_id, phase); `reason` records which
 * phase's call wrote the row, so a try row written by a cancel tells a late try it is hanging.
 */
import type { EntityManager } from 'typeorm';
import type { BranchPhase } from '../protocol';
import { dialectOf, type SqlDialect } from '../sql/sql.dialect';
import { execute, select } from '../sql/sql.result';
import { BARRIER_TABLE } from './barrier.table';

const COLUMNS = '(gid, branch_id, phase, reason, created_at) VALUES (?, ?, ?, ?, ?)';

/**
 * Insert unless the key exists. Each waits for a concurrent uncommitted insert of the same key and
 * then inserts or not, so two calls of one branch are ordered by the unique key alone.
 */
const INSERT_IF_ABSENT: Record<SqlDialect, string> = {
  mysql: `INSERT IGNORE INTO ${BARRIER_TABLE} ${COLUMNS}`,
  sqlite: `INSERT OR IGNORE INTO ${BARRIER_TABLE} ${COLUMNS}`,
  postgres: `INSERT INTO ${BARRIER_TABLE} ${COLUMNS} ON CONFLICT (gid, branch_id, phase) DO NOTHING`,
};

/**
 * A locking read sees the latest committed row: under MySQL's REPEATABLE READ a plain read would
 * see the snapshot; PostgreSQL's READ COMMITTED sees it anyway, and FOR SHARE keeps it from moving.
 * SQLite serialises every transaction, so a plain read is current. MariaDB has no `FOR SHARE`.
 */
const READ_REASON: Record<SqlDialect, string> = {
  mysql: `SELECT reason FROM ${BARRIER_TABLE} WHERE gid = ? AND branch_id = ? AND phase = ? LOCK IN SHARE MODE`,
  sqlite: `SELECT reason FROM ${BARRIER_TABLE} WHERE gid = ? AND branch_id = ? AND phase = ?`,
  postgres: `SELECT reason FROM ${BARRIER_TABLE} WHERE gid = ? AND branch_id = ? AND phase = ? FOR SHARE`,
};

export class BarrierStore {
  /** Inserts the row unless one with the same key exists; true when this call inserted it. */
  async insert(manager: EntityManager, gid: string, branchId: string, phase: BranchPhase, reason: BranchPhase): Promise<boolean> {
    return (await execute(manager, INSERT_IF_ABSENT[dialectOf(manager)], [gid, branchId, phase, reason, Date.now()])) === 1;
  }

  /** Which phase wrote the row. */
  async reasonOf(manager: EntityManager, gid: string, branchId: string, phase: BranchPhase): Promise<BranchPhase | undefined> {
    const rows = await select<{ reason: BranchPhase }>(manager, READ_REASON[dialectOf(manager)], [gid, branchId, phase]);
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

