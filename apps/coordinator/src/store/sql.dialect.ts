/**
 * The coordinator's SQL on top of the shared dialect (`@tcc/client/sql`: insert-if-absent, the
 * locking read, placeholders, transient errors, the barrier's too): the database clock in epoch
 * milliseconds and how a batch of writes reads its clock, which only the coordinator needs.
 *
 * What the store relies on (and why a compatible distributed database works too): READ COMMITTED
 * or stronger, row locks taken by UPDATE and by a locking read of the row a statement depends on,
 * compare-and-set through the affected-row count, a unique key for insert-if-absent, and one
 * clock read per batch that every statement of that batch shares.
 */
import type { DatabaseDialect, SqlDialect } from '@tcc/client/sql';

export type Dialect = SqlDialect;

/** Statements of a batch, with `?` placeholders. */
export interface Statement {
  sql: string;
  params: unknown[];
}

/** The SQL pieces the stores splice into their one text for every database (Database.sql). */
export interface CoordinatorSql {
  /** The shared dialect these pieces are built on: the very object the barrier uses. */
  readonly dialect: DatabaseDialect;
  readonly name: Dialect;
  /** SQL expression: the database's current time in epoch milliseconds. */
  readonly now: string;
  /**
   * SQL expression for the time inside a batch: the same instant for every statement of it, and
   * the instant `clock` reads back (so a begin knows its createdAt without reading the row).
   */
  readonly batchNow: string;
  /** Statements that open a batch, the last one answering `now_ms` (the batch's clock). */
  readonly clock: readonly Statement[];
  /** A locking read of the row a statement depends on (it waits for a concurrent decision). */
  readonly shareLock: string;
  /** `INSERT ... ` that does nothing when the key exists (affected rows 0). `rest` starts at `INTO`. */
  insertIfAbsent(rest: string): string;
}

const MYSQL_NOW = 'CAST(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 AS SIGNED)';
/** now() is the start of the local transaction: one instant for every statement of a batch. */
const POSTGRES_NOW = 'CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT)';
const SQLITE_NOW = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";

const CLOCKS: Readonly<Record<Dialect, Pick<CoordinatorSql, 'now' | 'batchNow' | 'clock'>>> = {
  mysql: {
    now: MYSQL_NOW,
    batchNow: '@tcc_now',
    clock: [
      { sql: `SET @tcc_now = ${MYSQL_NOW}`, params: [] },
      { sql: 'SELECT @tcc_now AS now_ms', params: [] },
    ],
  },
  postgres: { now: POSTGRES_NOW, batchNow: POSTGRES_NOW, clock: [{ sql: `SELECT ${POSTGRES_NOW} AS now_ms`, params: [] }] },
  // One writer, no batches (the store writes alone on SQLite).
  sqlite: { now: SQLITE_NOW, batchNow: SQLITE_NOW, clock: [] },
};

export function coordinatorSql(dialect: DatabaseDialect): CoordinatorSql {
  return Object.freeze({ dialect, name: dialect.name, ...CLOCKS[dialect.name], shareLock: dialect.shareLock, insertIfAbsent: dialect.insertIfAbsent });
}
