/**
 * The one SQL dialect of each supported database, shared by the barrier and the coordinator (which
 * imports it as `@tcc/client/sql`): which TypeORM types speak it, insert-if-absent, the locking
 * read, placeholders, and which driver errors are deadlocks or worth retrying. Nothing else
 * branches on the driver name.
 */
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';

export type SqlDialect = 'postgres' | 'mysql' | 'sqlite';

/** What differs between the databases, for every statement this project writes by hand. */
export interface DatabaseDialect {
  readonly name: SqlDialect;
  /** TypeORM `type`s that speak this dialect. */
  readonly types: readonly string[];
  /**
   * `INSERT ...` that does nothing when a unique key exists (affected rows 0); `rest` starts at
   * `INTO`. It waits for a concurrent uncommitted insert of the same key, then inserts or not, so
   * two writers of one key are ordered by the key alone.
   */
  insertIfAbsent(rest: string): string;
  /**
   * Appended to a SELECT: a locking read that sees the latest committed row and keeps it from
   * moving (under MySQL's REPEATABLE READ a plain read would see the snapshot). SQLite serialises
   * every transaction, so a plain read is current there. MariaDB has no `FOR SHARE`.
   */
  readonly shareLock: string;
  /** `?` placeholders as the driver takes them (`$1, $2, ...` on PostgreSQL). */
  placeholders(sql: string): string;
  /** The database chose this transaction as a deadlock victim and rolled it back: run it again. */
  isDeadlock(error: unknown): boolean;
  /** A failure worth retrying (deadlock, lock wait, lost or refused connection, failover, a Galera node not ready). */
  isTransient(error: unknown): boolean;
  /** The statement named a table that does not exist (a migration not run). */
  isMissingTable(error: unknown): boolean;
}

interface DriverErrorShape {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  driverError?: unknown;
  cause?: unknown;
}

/**
 * The driver's code and errno, whether the error is the driver's own or an ORM's around it:
 * TypeORM's QueryFailedError keeps it in `driverError`, Drizzle's DrizzleQueryError in `cause`.
 * The innermost code and errno win; the messages of the whole chain are read.
 */
function codesOf(error: unknown): { code: unknown; errno: unknown; message: string } {
  let code: unknown;
  let errno: unknown;
  const messages: string[] = [];
  let current = error as DriverErrorShape | undefined;
  for (let depth = 0; current && typeof current === 'object' && depth < 4; depth++) {
    code = current.code ?? code;
    errno = current.errno ?? errno;
    if (typeof current.message === 'string') messages.push(current.message);
    current = (current.driverError ?? current.cause) as DriverErrorShape | undefined;
  }
  return { code, errno, message: messages.join('\n') };
}

/** Socket failures any driver reports. */
const SOCKET_CODES = ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE'];

interface ErrorRule {
  codes: string[];
  errnos?: number[];
  messages?: RegExp;
}

function matches(rule: ErrorRule, error: unknown): boolean {
  const { code, errno, message } = codesOf(error);
  if (typeof code === 'string' && rule.codes.includes(code)) return true;
  if (typeof errno === 'number' && (rule.errnos ?? []).includes(errno)) return true;
  return rule.messages?.test(message) ?? false;
}

function classifier(rules: { deadlock: { codes: string[]; errnos?: number[] }; transient: ErrorRule; missingTable: ErrorRule }) {
  const deadlockCodes = new Set(rules.deadlock.codes);
  const deadlockErrnos = new Set(rules.deadlock.errnos ?? []);
  const transientCodes = new Set([...rules.deadlock.codes, ...rules.transient.codes, ...SOCKET_CODES]);
  const transientErrnos = new Set([...(rules.deadlock.errnos ?? []), ...(rules.transient.errnos ?? [])]);
  return {
    isDeadlock(error: unknown): boolean {
      const { code, errno } = codesOf(error);
      return (typeof code === 'string' && deadlockCodes.has(code)) || (typeof errno === 'number' && deadlockErrnos.has(errno));
    },
    isTransient(error: unknown): boolean {
      const { code, errno, message } = codesOf(error);
      if (typeof code === 'string' && transientCodes.has(code)) return true;
      if (typeof errno === 'number' && transientErrnos.has(errno)) return true;
      return rules.transient.messages?.test(message) ?? false;
    },
    isMissingTable: (error: unknown): boolean => matches(rules.missingTable, error),
  };
}

/** Each object is frozen and its functions use no `this`: callers may take them apart. */
export const SQL_DIALECTS: Readonly<Record<SqlDialect, DatabaseDialect>> = Object.freeze({
  postgres: Object.freeze<DatabaseDialect>({
    name: 'postgres',
    types: ['postgres'],
    insertIfAbsent: (rest) => `INSERT ${rest} ON CONFLICT DO NOTHING`,
    shareLock: ' FOR SHARE',
    placeholders: (sql) => {
      // The statements of this project have no `?` inside string literals.
      let index = 0;
      return sql.replace(/\?/g, () => `$${++index}`);
    },
    ...classifier({
      deadlock: { codes: ['40P01'] },
      transient: {
        // serialization failure, lock not available (lock_timeout), shutting down, cannot connect
        // now, too many connections, connection exceptions; 25006 read-only transaction: a
        // connection still on a primary that was just demoted (failover).
        codes: ['40001', '55P03', '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006', '25006'],
        messages: /Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Client was closed and is not queryable/i,
      },
      missingTable: { codes: ['42P01'] },
    }),
  }),
  mysql: Object.freeze<DatabaseDialect>({
    name: 'mysql',
    types: ['mysql', 'mariadb'],
    insertIfAbsent: (rest) => `INSERT IGNORE ${rest}`,
    shareLock: ' LOCK IN SHARE MODE',
    placeholders: (sql) => sql,
    ...classifier({
      deadlock: { codes: ['ER_LOCK_DEADLOCK'], errnos: [1213] },
      transient: {
        codes: ['ER_LOCK_WAIT_TIMEOUT', 'PROTOCOL_CONNECTION_LOST', 'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR', 'PROTOCOL_SEQUENCE_TIMEOUT'],
        errnos: [1205, 2006, 2013, 1040, 1053],
        // Galera: a node that is joining, rejoining (IST/SST), cut off from the primary component or
        // rejecting queries (wsrep_reject_queries) answers 1047 ER_UNKNOWN_COM_ERROR "WSREP has not
        // yet prepared node for application use"; told by its message, since 1047 alone is an
        // unknown command. A write caught by the node leaving the primary component fails with
        // 1180 ER_ERROR_DURING_COMMIT "Error while appending streaming replication fragment
        // (provider status: Not connected to Primary Component)" and is rolled back; "WSREP
        // replication failed" likewise. Galera's certification conflicts arrive as 1213 already.
        messages:
          /Connection lost|connection is in closed state|Pool is closed|Can't add new command when connection is in closed state|WSREP has not yet prepared node for application use|WSREP replication failed|Not connected to Primary Component|appending streaming replication fragment/i,
      },
      missingTable: { codes: ['ER_NO_SUCH_TABLE'], errnos: [1146] },
    }),
  }),
  sqlite: Object.freeze<DatabaseDialect>({
    name: 'sqlite',
    types: ['better-sqlite3', 'sqlite'],
    insertIfAbsent: (rest) => `INSERT OR IGNORE ${rest}`,
    shareLock: '',
    placeholders: (sql) => sql,
    // better-sqlite3 reports a missing table as SQLITE_ERROR, told apart by its message only.
    ...classifier({ deadlock: { codes: [] }, transient: { codes: ['SQLITE_BUSY'] }, missingTable: { codes: [], messages: /no such table/i } }),
  }),
});

/** TypeORM `type`s a database may have, by dialect. */
export const SUPPORTED_DATABASE_TYPES: Readonly<Record<SqlDialect, readonly string[]>> = Object.freeze({
  postgres: SQL_DIALECTS.postgres.types,
  mysql: SQL_DIALECTS.mysql.types,
  sqlite: SQL_DIALECTS.sqlite.types,
});

/**
 * The one rule for a database of another type: refused at start (TccModule for participants,
 * the coordinator's store), naming the type and the supported ones. `who` says which refused it.
 */
export class UnsupportedDatabaseError extends Error {
  constructor(
    readonly databaseType: string,
    who = 'tcc barrier',
  ) {
    const supported = Object.values(SUPPORTED_DATABASE_TYPES).flat().join(', ');
    super(`${who}: unsupported database type "${databaseType}"; supported: ${supported}`);
    this.name = 'UnsupportedDatabaseError';
  }
}

/** The dialect of a TypeORM database type; UnsupportedDatabaseError for any other type. */
export function sqlDialectOfType(type: string, who?: string): DatabaseDialect {
  for (const dialect of Object.values(SQL_DIALECTS)) {
    if (dialect.types.includes(type)) return dialect;
  }
  throw new UnsupportedDatabaseError(type, who);
}

export function dialectOfType(type: string): SqlDialect {
  return sqlDialectOfType(type).name;
}

/** The DataSource behind a manager or query runner: `dataSource` in TypeORM 1.x, `connection` in 0.3. */
function dataSourceOf(source: DataSource | EntityManager | QueryRunner): DataSource {
  if ('options' in source) return source;
  const holder = source as { dataSource?: DataSource; connection?: DataSource };
  return (holder.dataSource ?? holder.connection) as DataSource;
}

export function sqlDialectOf(source: DataSource | EntityManager | QueryRunner): DatabaseDialect {
  return sqlDialectOfType(String(dataSourceOf(source).options.type));
}

export function dialectOf(source: DataSource | EntityManager | QueryRunner): SqlDialect {
  return sqlDialectOf(source).name;
}

/** Rewrites `?` placeholders for the dialect; MySQL and SQLite take `?` as written. */
export function placeholders(dialect: SqlDialect, sql: string): string {
  return SQL_DIALECTS[dialect].placeholders(sql);
}

/** Transient on whichever driver raised it (for code that maps errors without knowing the database). */
export function isTransient(error: unknown): boolean {
  return Object.values(SQL_DIALECTS).some((dialect) => dialect.isTransient(error));
}
