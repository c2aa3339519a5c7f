/**
 * What the store needs from a database driver, one class per driver behind this interface
 * (mysql.executor.ts, postgres.executor.ts, sqlite.executor.ts), chosen once by Database.
 * Executors run each operation once; Database retries the transient failures their dialect names.
 */
import type { DatabaseDialect } from '@tcc/client/sql';
import type { Statement } from '../sql.dialect';

export type Row = Record<string, unknown>;

/** Statements with `?` placeholders, alone or inside a local transaction. */
export interface Executor {
  select<T extends Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a write; answers the number of rows it affected. */
  execute(sql: string, params?: unknown[]): Promise<number>;
}

export interface DriverExecutor extends Executor {
  /** The shared dialect of this driver's database (`@tcc/client/sql`): the same object the barrier uses. */
  readonly dialect: DatabaseDialect;
  /** Several statements in one local transaction: one durable commit; rolled back on any error. */
  transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T>;
  /**
   * `statements` in one local transaction, in as few round trips as the driver allows (one packet
   * on MySQL and PostgreSQL); each statement's result (rows of a SELECT, affected rows of a
   * write). On any error nothing of it stays.
   */
  batch(statements: Statement[]): Promise<Array<Row[] | number>>;
}

/**
 * Fixed-shape SQL, worth preparing once per connection; statements whose shape varies with their
 * input (IN lists) go as text, so the statement caches stay small.
 */
export function fixedShape(sql: string): boolean {
  return !sql.includes(' IN (');
}
