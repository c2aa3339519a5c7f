/**
 * The embedded SQLite file through TypeORM's better-sqlite3 runner. One connection: every
 * operation waits its turn, so one local transaction never sees another's statements.
 */
import type { DataSource, DataSourceOptions, QueryRunner } from 'typeorm';
import { SQL_DIALECTS } from '@tcc/client/sql';
import type { Statement } from '../sql.dialect';
import type { DriverExecutor, Executor, Row } from './driver.executor';

export class SqliteExecutor implements DriverExecutor {
  readonly dialect = SQL_DIALECTS.sqlite;
  private tail: Promise<void> = Promise.resolve();

  static dataSourceOptions(options: DataSourceOptions): DataSourceOptions {
    return options;
  }

  constructor(private readonly dataSource: DataSource) {}

  select<T extends Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.withRunner((runner) => selectOn<T>(runner, sql, params));
  }

  execute(sql: string, params: unknown[] = []): Promise<number> {
    return this.withRunner((runner) => executeOn(runner, sql, params));
  }

  transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    return this.withRunner(async (runner) => {
      await runner.startTransaction();
      try {
        const result = await work({
          select: (sql, params = []) => selectOn(runner, sql, params),
          execute: (sql, params = []) => executeOn(runner, sql, params),
        });
        await runner.commitTransaction();
        return result;
      } catch (error) {
        if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
    });
  }

  /** One writer at a time already, so the store writes alone here (no WriteBatcher); a batch is simply a transaction. */
  batch(statements: Statement[]): Promise<Array<Row[] | number>> {
    return this.transaction(async (tx) => {
      const results: Array<Row[] | number> = [];
      for (const { sql, params } of statements) results.push(/^\s*SELECT\b/i.test(sql) ? await tx.select(sql, params) : await tx.execute(sql, params));
      return results;
    });
  }

  private withRunner<T>(fn: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const once = async (): Promise<T> => {
      const runner = this.dataSource.createQueryRunner();
      try {
        return await fn(runner);
      } finally {
        await runner.release().catch(() => undefined);
      }
    };
    const result = this.tail.then(once);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

async function selectOn<T extends Row>(runner: QueryRunner, sql: string, params: unknown[]): Promise<T[]> {
  const result = await runner.query(sql, params, true);
  return (result.records ?? []) as T[];
}

async function executeOn(runner: QueryRunner, sql: string, params: unknown[]): Promise<number> {
  const result = await runner.query(sql, params, true);
  return result.affected ?? 0;
}
