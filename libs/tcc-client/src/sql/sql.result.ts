/**
 * Hand-written SQL in a participant's own local transaction, the same on PostgreSQL, MySQL/MariaDB
 * and SQLite: `?` placeholders (rewritten for PostgreSQL), rows affected by a write read one way
 * from every driver. Inside a transaction on MySQL and PostgreSQL, statements go as prepared
 * statements on the transaction's own connection (mysql2's `execute`; a named statement in pg),
 * which each connection parses and plans once although the barrier and the business statements of
 * every call repeat them; elsewhere through TypeORM's runner.
 */
import { createHash } from 'node:crypto';
import type { EntityManager, QueryRunner } from 'typeorm';
import { SQL_DIALECTS, sqlDialectOf } from './sql.dialect';

/**
 * A statement run on the transaction's own driver connection: its rows, or the rows it changed;
 * undefined when it should go through TypeORM's runner instead.
 */
type Prepared = (sql: string, parameters: unknown[]) => Promise<{ rows: unknown[]; changed: number } | undefined>;

type Callback = (error: Error | null, result: unknown) => void;
interface MysqlConnection {
  execute(sql: string, values: unknown[], callback: Callback): void;
}
interface PgConnection {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** pg names of statements seen so far: a statement's text must keep its name on every connection. */
const pgNames = new Map<string, { name: string; text: string }>();
const PG_NAMES_MAX = 1000;

/**
 * Statements worth naming: fixed shape (no IN list, whose length varies), no `*` in the result (a
 * named statement's result type is fixed: a column added by a migration would fail it with
 * 0A000 on every connection that prepared it), and among the first PG_NAMES_MAX seen.
 */
function pgStatement(sql: string): { name: string; text: string } | undefined {
  let statement = pgNames.get(sql);
  if (!statement) {
    if (pgNames.size >= PG_NAMES_MAX || sql.includes(' IN (') || /[^(]\*/.test(sql)) return undefined;
    const text = SQL_DIALECTS.postgres.placeholders(sql);
    statement = { name: `tcc_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`, text };
    pgNames.set(sql, statement);
  }
  return statement;
}

/**
 * A driver error as TypeORM's runner reports it (QueryFailedError, the driver's error in
 * `driverError`), so callers see one kind of error whichever path a statement took. typeorm is
 * loaded here only: a participant database means it is installed.
 */
function queryFailed(sql: string, parameters: unknown[], error: unknown): unknown {
  try {
    const { QueryFailedError } = require('typeorm') as typeof import('typeorm'); // eslint-disable-line @typescript-eslint/no-require-imports
    return error instanceof QueryFailedError ? error : new QueryFailedError(sql, parameters, error as Error);
  } catch {
    return error;
  }
}

/** The transaction's own driver connection, when it prepares statements. */
function preparing(manager: EntityManager, runner: QueryRunner | undefined): Prepared | undefined {
  if (!runner?.isTransactionActive) return undefined;
  // TypeORM keeps the driver connection of a runner in `databaseConnection` (0.3 and 1.x alike).
  const connection = (runner as unknown as { databaseConnection?: unknown }).databaseConnection as Partial<MysqlConnection & PgConnection> | undefined;
  const dialect = sqlDialectOf(manager).name;
  if (dialect === 'mysql' && typeof connection?.execute === 'function') {
    const mysql = connection as MysqlConnection;
    return (sql, parameters) =>
      new Promise((resolve, reject) =>
        mysql.execute(sql, parameters, (error, result) => {
          if (error) return reject(queryFailed(sql, parameters, error));
          resolve(Array.isArray(result) ? { rows: result, changed: 0 } : { rows: [], changed: (result as { affectedRows?: number }).affectedRows ?? 0 });
        }),
      );
  }
  if (dialect === 'postgres' && typeof connection?.query === 'function') {
    const pg = connection as PgConnection;
    return async (sql, parameters) => {
      const statement = pgStatement(sql);
      if (!statement) return undefined;
      const result = await pg.query({ ...statement, values: parameters }).catch((error: unknown) => {
        throw queryFailed(statement.text, parameters, error);
      });
      return { rows: result.rows, changed: result.rowCount ?? 0 };
    };
  }
  return undefined;
}

/** Runs a write; answers how many rows it changed (for an insert that ignored a duplicate: 0). */
export async function execute(manager: EntityManager, sql: string, parameters: unknown[]): Promise<number> {
  const runner = manager.queryRunner;
  if (!runner) throw new Error('execute() needs an EntityManager bound to a transaction');
  const prepared = preparing(manager, runner);
  const result = prepared ? await prepared(sql, parameters) : undefined;
  if (result) return result.changed;
  return (await runner.query(sqlDialectOf(manager).placeholders(sql), parameters, true)).affected ?? 0;
}

/** Runs a read; answers its rows. */
export async function select<T>(manager: EntityManager, sql: string, parameters: unknown[]): Promise<T[]> {
  const prepared = preparing(manager, manager.queryRunner);
  const result = prepared ? await prepared(sql, parameters) : undefined;
  const rows: unknown = result ? result.rows : await manager.query(sqlDialectOf(manager).placeholders(sql), parameters);
  return Array.isArray(rows) ? (rows as T[]) : [];
}
