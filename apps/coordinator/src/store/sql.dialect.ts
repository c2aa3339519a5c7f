/**
 * Every difference between the coordinator's databases, in one place: the database clock,
 * insert-if-absent, the locking read, placeholders, how a batch of writes opens and reads its
 * clock, and which errors are transient. The stores write one SQL text for all three; what varies
 * is spliced in from here.
 *
 * What the store relies on (and why a compatible distributed database works too): READ COMMITTED
 * or stronger, row locks taken by UPDATE and by a locking read of the row a statement depends on,
 * compare-and-set through the affected-row count, a unique key for insert-if-absent, and one
 * clock read per batch that every statement of that batch shares.
 */
import { escapeLiteral } from 'pg';

export type Dialect = 'mysql' | 'postgres' | 'sqlite';

/** Statements of a batch, with `?` placeholders. */
export interface Statement {
  sql: string;
  params: unknown[];
}

export interface SqlDialect {
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

export const DIALECTS: Readonly<Record<Dialect, SqlDialect>> = {
  mysql: {
    name: 'mysql',
    now: MYSQL_NOW,
    batchNow: '@tcc_now',
    clock: [
      { sql: `SET @tcc_now = ${MYSQL_NOW}`, params: [] },
      { sql: 'SELECT @tcc_now AS now_ms', params: [] },
    ],
    shareLock: ' LOCK IN SHARE MODE',
    insertIfAbsent: (rest) => `INSERT IGNORE ${rest}`,
  },
  postgres: {
    name: 'postgres',
    now: POSTGRES_NOW,
    batchNow: POSTGRES_NOW,
    clock: [{ sql: `SELECT ${POSTGRES_NOW} AS now_ms`, params: [] }],
    shareLock: ' FOR SHARE',
    insertIfAbsent: (rest) => `INSERT ${rest} ON CONFLICT DO NOTHING`,
  },
  sqlite: {
    name: 'sqlite',
    now: "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
    batchNow: "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
    clock: [],
    // One connection, one writer at a time: nothing to lock against.
    shareLock: '',
    insertIfAbsent: (rest) => `INSERT OR IGNORE ${rest}`,
  },
};

export function dialectOfType(type: string): Dialect {
  if (type === 'mysql' || type === 'mariadb') return 'mysql';
  if (type === 'postgres') return 'postgres';
  return 'sqlite';
}

/**
 * `?` to PostgreSQL's `$1, $2, ...`. The store's statements have no `?` inside string literals
 * (their literals are fixed words such as 'scan-leader').
 */
export function toPostgresPlaceholders(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}

/**
 * PostgreSQL text cannot hold NUL (U+0000), which MySQL and SQLite store as any other character.
 * It can arrive only inside free text (a rollback reason, a participant's error answer): it is
 * kept visible as U+FFFD rather than failing the write.
 */
export function postgresText(value: string): string {
  return value.includes('\u0000') ? value.replace(/\u0000/g, '\uFFFD') : value;
}

/** Parameters as PostgreSQL takes them (see postgresText). */
export function postgresParams(params: unknown[]): unknown[] {
  return params.some((p) => typeof p === 'string' && p.includes('\u0000')) ? params.map((p) => (typeof p === 'string' ? postgresText(p) : p)) : params;
}

/**
 * A statement with its values written in as PostgreSQL literals, for a batch sent as one simple
 * query (the extended protocol takes one statement at a time). Strings go through pg's own
 * escapeLiteral; numbers must be finite.
 */
export function inlinePostgres(statement: Statement): string {
  let index = 0;
  return statement.sql.replace(/\?/g, () => {
    const value = statement.params[index++];
    if (value === null || value === undefined) return 'NULL';
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new Error(`not a finite number in a batched statement: ${value}`);
      // In parentheses: `-?` in a template must never read as the start of a `--` comment.
      return value < 0 ? `(${value})` : String(value);
    }
    if (typeof value === 'string') return escapeLiteral(postgresText(value));
    throw new Error(`unsupported value in a batched statement: ${typeof value}`);
  });
}

const TRANSIENT_MYSQL = new Set([1205, 1213, 2006, 2013, 1040, 1053]);
const TRANSIENT_CODES = new Set([
  // MySQL / mysql2
  'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'PROTOCOL_CONNECTION_LOST', 'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR', 'PROTOCOL_SEQUENCE_TIMEOUT',
  // sockets
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE',
  // SQLite
  'SQLITE_BUSY',
  // PostgreSQL SQLSTATEs: deadlock, serialization failure, lock not available (lock_timeout),
  // shutting down, cannot connect now, too many connections, connection exceptions.
  '40P01', '40001', '55P03', '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006',
  // read-only transaction: a connection still on a primary that was just demoted (failover)
  '25006',
]);
const TRANSIENT_MESSAGE =
  /Connection lost|connection is in closed state|Pool is closed|Can't add new command when connection is in closed state|Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Client was closed and is not queryable/i;

/** A failure worth retrying: the statement can be sent again (every store write is a compare-and-set or insert-if-absent). */
export function isTransient(error: unknown): boolean {
  const e = error as { code?: unknown; errno?: unknown; driverError?: { code?: unknown; errno?: unknown }; message?: unknown };
  const code = e?.driverError?.code ?? e?.code;
  const errno = e?.driverError?.errno ?? e?.errno;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  if (typeof errno === 'number' && TRANSIENT_MYSQL.has(errno)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return TRANSIENT_MESSAGE.test(message);
}
