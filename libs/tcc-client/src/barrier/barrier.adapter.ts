/**
 * The one interface between the barrier and a participant's database, after the adapters of
 * `@nestjs-cls/transactional`: an adapter is a small object made by a factory (typeormBarrier,
 * drizzleBarrier, kyselyBarrier, pgBarrier, mysql2Barrier) and given to TccModule as `barrier`.
 * At start-up it finds its ORM instance among the app's providers and answers a BarrierDatabase,
 * which runs one local transaction at a time; retries and SQLite's queue are the runner's
 * (sql/local-transaction.runner.ts), not the adapter's.
 */
import type { DatabaseDialect, SqlDialect } from '../sql/sql.dialect';

/** The barrier's own statements, `?` placeholders in any dialect. */
export interface BarrierSql {
  /** A write; answers how many rows it changed (0 for an insert that ignored a duplicate). */
  execute(sql: string, parameters: unknown[]): Promise<number>;
  /** A read; answers its rows. */
  select<T>(sql: string, parameters: unknown[]): Promise<T[]>;
}

/** Reads outside a transaction. */
export type BarrierRead = Pick<BarrierSql, 'select'>;

/** The participant's database as the barrier uses it; `Tx` is the ORM's own transaction handle. */
export interface BarrierDatabase<Tx = unknown> {
  readonly dialect: DatabaseDialect;
  /**
   * Runs `work` once in one new local transaction: commit when it returns, roll back when it
   * throws (the error rethrown as it came). `sql` and `tx` are the same transaction.
   */
  transaction<T>(work: (sql: BarrierSql, tx: Tx) => Promise<T>): Promise<T>;
  /** Runs reads outside any transaction (cleanup's, the start-up check). */
  read<T>(work: (sql: BarrierRead) => Promise<T>): Promise<T>;
}

/** A Nest provider by token (ModuleRef.get with `strict: false`). */
export type ProviderLookup = (token: unknown) => unknown;

export interface BarrierAdapter<Tx = unknown> {
  /** Which ORM or driver, in messages: `typeorm`, `drizzle`, `kysely`, `pg`, `mysql2`. */
  readonly name: string;
  /** How this ORM's users create the barrier table: named by the start-up error when it is missing. */
  readonly migrationHint: string;
  /** Finds the ORM instance (once, at start-up) and answers its database. */
  connect(lookup: ProviderLookup): BarrierDatabase<Tx>;
}

