/**
 * Hand-written SQL in a participant's own local transaction, the same on PostgreSQL, MySQL/MariaDB
 * and SQLite: `?` placeholders (rewritten for PostgreSQL), rows affected by a write read one way
 * from every driver. On MySQL through mysql2, inside a transaction, statements go as prepared
 * statements on the transaction's own connection (mysql2 keeps them per connection), which the
 * barrier and the business statements of every call repeat; elsewhere through TypeORM's runner.
 */
import type { EntityManager, QueryRunner } from 'typeorm';
import { dialectOf, placeholders } from './sql.dialect';

type Prepared = (sql: string, values: unknown[], callback: (error: Error | null, result: unknown) => void) => void;

/** The transaction's mysql2 connection, when there is one that prepares statements. */
function preparing(manager: EntityManager, runner: QueryRunner | undefined): { execute: Prepared } | undefined {
  if (!runner?.isTransactionActive || dialectOf(manager) !== 'mysql') return undefined;
  // TypeORM keeps the driver connection of a runner in `databaseConnection` (0.3 and 1.x alike).
  const connection = (runner as unknown as { databaseConnection?: { execute?: unknown } }).databaseConnection;
  return typeof connection?.execute === 'function' ? (connection as { execute: Prepared }) : undefined;
}

function prepared(connection: { execute: Prepared }, sql: string, parameters: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => connection.execute(sql, parameters, (error, result) => (error ? reject(error) : resolve(result))));
}

/** Runs a write; answers how many rows it changed (for an insert that ignored a duplicate: 0). */
export async function execute(manager: EntityManager, sql: string, parameters: unknown[]): Promise<number> {
  const runner = manager.queryRunner;
  if (!runner) throw new Error('execute() needs an EntityManager bound to a transaction');
  const connection = preparing(manager, runner);
  if (connection) return ((await prepared(connection, sql, parameters)) as { affectedRows?: number }).affectedRows ?? 0;
  const result = await runner.query(placeholders(dialectOf(manager), sql), parameters, true);
  return result.affected ?? 0;
}

/** Runs a read; answers its rows. */
export async function select<T>(manager: EntityManager, sql: string, parameters: unknown[]): Promise<T[]> {
  const connection = preparing(manager, manager.queryRunner);
  const rows: unknown = connection
    ? await prepared(connection, sql, parameters)
    : await manager.query(placeholders(dialectOf(manager), sql), parameters);
  return Array.isArray(rows) ? (rows as T[]) : [];
}
