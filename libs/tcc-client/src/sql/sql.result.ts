/**
 * Hand-written SQL in a participant's own TypeORM local transaction, the same on PostgreSQL,
 * MySQL/MariaDB and SQLite: `?` placeholders (rewritten for PostgreSQL), rows affected by a write
 * read one way from every driver. Inside a transaction on MySQL and PostgreSQL, statements go as
 * prepared statements on the transaction's own connection (driver.statements.ts); elsewhere through
 * TypeORM's runner.
 */
import type { EntityManager, QueryRunner } from 'typeorm';
import { onMysql, onPg, pgStatement, type MysqlCallbackConnection, type PgQueryable, type StatementResult } from './driver.statements';
import { sqlDialectOf } from './sql.dialect';

/**
 * A statement run on the transaction's own driver connection; undefined when it should go through
 * TypeORM's runner instead.
 */
type Prepared = (sql: string, parameters: unknown[]) => Promise<StatementResult | undefined>;

/**
 * A driver error as TypeORM's runner reports it (QueryFailedError, the driver's error in
 * `driverError`), so callers see one kind of error whichever path a statement took. typeorm is
 * loaded here only: a TypeORM EntityManager means it is installed.
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
  const connection = (runner as unknown as { databaseConnection?: unknown }).databaseConnection as Partial<MysqlCallbackConnection & PgQueryable> | undefined;
  const dialect = sqlDialectOf(manager).name;
  if (dialect === 'mysql' && typeof connection?.execute === 'function') {
    const mysql = connection as MysqlCallbackConnection;
    return (sql, parameters) => onMysql(mysql, sql, parameters).catch((error: unknown) => Promise.reject(queryFailed(sql, parameters, error)));
  }
  if (dialect === 'postgres' && typeof connection?.query === 'function') {
    const pg = connection as PgQueryable;
    return async (sql, parameters) => {
      // Only named statements take this path; the others gain nothing over TypeORM's runner.
      const statement = pgStatement(sql);
      if (!statement) return undefined;
      return onPg(pg, sql, parameters).catch((error: unknown) => Promise.reject(queryFailed(statement.text, parameters, error)));
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
