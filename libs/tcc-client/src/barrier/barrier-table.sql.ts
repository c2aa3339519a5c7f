/**
 * The statements that create the barrier table (one row per gid, branch and phase), one list per
 * dialect: run by the TypeORM migration (TCC_BARRIER_MIGRATIONS), shipped as
 * `sql/tcc-barrier.<dialect>.sql` in the package, and what Drizzle, Kysely, pg and mysql2 users put
 * in their own migrations. The unique key (gid, branch_id, phase) is what serialises concurrent
 * calls of one branch; ids compare byte for byte ('A' is not 'a').
 */
import type { SqlDialect } from '../sql/sql.dialect';
import { BARRIER_TABLE } from './barrier.table';

const CREATE: Readonly<Record<SqlDialect, readonly string[]>> = Object.freeze({
  mysql: [
    `CREATE TABLE ${BARRIER_TABLE} (
  id BIGINT NOT NULL AUTO_INCREMENT,
  gid VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  branch_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  phase VARCHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  reason VARCHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_tcc_barrier_branch_phase (gid, branch_id, phase),
  KEY ix_tcc_barrier_created_at (created_at)
) ENGINE=InnoDB`,
  ],
  postgres: [
    `CREATE TABLE ${BARRIER_TABLE} (
  id BIGSERIAL PRIMARY KEY,
  gid VARCHAR(128) COLLATE "C" NOT NULL,
  branch_id VARCHAR(64) COLLATE "C" NOT NULL,
  phase VARCHAR(8) NOT NULL,
  reason VARCHAR(8) NOT NULL,
  created_at BIGINT NOT NULL,
  CONSTRAINT uq_tcc_barrier_branch_phase UNIQUE (gid, branch_id, phase)
)`,
    `CREATE INDEX ix_tcc_barrier_created_at ON ${BARRIER_TABLE} (created_at)`,
  ],
  sqlite: [
    `CREATE TABLE ${BARRIER_TABLE} (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  gid TEXT NOT NULL,
  branch_id TEXT NOT NULL,
  phase TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  CONSTRAINT uq_tcc_barrier_branch_phase UNIQUE (gid, branch_id, phase)
)`,
    `CREATE INDEX ix_tcc_barrier_created_at ON ${BARRIER_TABLE} (created_at)`,
  ],
});

/** The statements creating the barrier table on `dialect`, in order (run each; no trailing `;`). */
export function barrierMigrationSql(dialect: SqlDialect): string[] {
  const statements = CREATE[dialect];
  if (!statements) throw new Error(`tcc barrier: no barrier table for dialect "${String(dialect)}"; dialects: ${Object.keys(CREATE).join(', ')}`);
  return [...statements];
}

/** The statement dropping it (a migration's down). */
export const BARRIER_DROP_SQL = `DROP TABLE ${BARRIER_TABLE}`;
