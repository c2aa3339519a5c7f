/**
 * MySQL and MariaDB through mysql2: statements go straight to the pool TypeORM opened (prepared
 * where their shape is fixed), and a batch travels as one multi-statement packet, except on a
 * Galera node, where it goes a statement at a time (batchOnGalera).
 */
import type { DataSource, DataSourceOptions } from 'typeorm';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2';
import { SQL_DIALECTS } from '@tcc/client/sql';
import type { Statement } from '../sql.dialect';
import { fixedShape, type DriverExecutor, type Executor, type Row } from './driver.executor';

type Result = RowDataPacket[] | ResultSetHeader;

export class MysqlExecutor implements DriverExecutor {
  readonly dialect = SQL_DIALECTS.mysql;

  /** A batch is one packet of several statements; every value in it is escaped by mysql2 (batch()). */
  static dataSourceOptions(options: DataSourceOptions): DataSourceOptions {
    return { ...options, multipleStatements: true } as DataSourceOptions;
  }

  constructor(private readonly dataSource: DataSource) {}

  /** The mysql2 pool TypeORM opened (read once it is connected). */
  private get pool(): Pool {
    return (this.dataSource.driver as unknown as { pool: Pool }).pool;
  }

  async select<T extends Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await poolCall(this.pool, sql, params)) as unknown as T[];
  }

  async execute(sql: string, params: unknown[] = []): Promise<number> {
    return ((await poolCall(this.pool, sql, params)) as ResultSetHeader).affectedRows;
  }

  async transaction<T>(work: (tx: Executor) => Promise<T>, isolation?: 'READ COMMITTED'): Promise<T> {
    const connection = await this.connection();
    try {
      if (isolation) await connectionCall(connection, `SET TRANSACTION ISOLATION LEVEL ${isolation}`, []);
      await connectionCall(connection, 'START TRANSACTION', []);
      try {
        const result = await work({
          select: async <R extends Row>(sql: string, params: unknown[] = []) => (await connectionCall(connection, sql, params)) as unknown as R[],
          execute: async (sql, params = []) => ((await connectionCall(connection, sql, params)) as ResultSetHeader).affectedRows,
        });
        await connectionCall(connection, 'COMMIT', []);
        return result;
      } catch (error) {
        await connectionCall(connection, 'ROLLBACK', []).catch(() => undefined);
        throw error;
      }
    } finally {
      connection.release();
    }
  }

  async batch(statements: Statement[]): Promise<Array<Row[] | number>> {
    if (await this.galera()) return this.batchOnGalera(statements);
    const connection = await this.connection();
    let committed = false;
    try {
      // READ COMMITTED: every statement's conditions are on the rows it names by key, so no gap
      // locks are needed, and batches written side by side do not wait on each other's gaps.
      const sql = ['SET TRANSACTION ISOLATION LEVEL READ COMMITTED', 'START TRANSACTION', ...statements.map((s) => connection.format(s.sql, s.params as never)), 'COMMIT'].join(';\n');
      const results = await new Promise<unknown[]>((resolve, reject) =>
        connection.query(sql, (error, rows) => (error ? reject(error) : resolve(rows as unknown[]))),
      );
      committed = true;
      return results.slice(2, 2 + statements.length).map((r) => (Array.isArray(r) ? (r as Row[]) : (r as ResultSetHeader).affectedRows));
    } finally {
      if (!committed) {
        // A statement failed part-way: whatever ran of the batch is undone before the connection is reused.
        await new Promise<void>((resolve) => connection.query('ROLLBACK', () => resolve()));
      }
      connection.release();
    }
  }

  /**
   * On a Galera node a batch goes one statement per round trip, and checks that its transaction is
   * still open before the COMMIT: a certification conflict that aborts it between two statements of
   * one multi-statement packet was seen to go unreported, the rest of the packet running in
   * autocommit (README "Galera"). A transaction found gone is a deadlock: retried like one.
   */
  private async batchOnGalera(statements: Statement[]): Promise<Array<Row[] | number>> {
    return this.transaction(async (tx) => {
      const results: Array<Row[] | number> = [];
      for (const statement of statements) {
        results.push(/^\s*SELECT/i.test(statement.sql) ? await tx.select(statement.sql, statement.params) : await tx.execute(statement.sql, statement.params));
      }
      const [open] = await tx.select('SELECT @@in_transaction AS open');
      if (Number(open?.open) !== 1) throw Object.assign(new Error('the transaction was aborted by a certification conflict before its commit'), { code: 'ER_LOCK_DEADLOCK', errno: 1213 });
      return results;
    }, 'READ COMMITTED');
  }

  /** Whether the server is a Galera node (wsrep on): asked once it answers (MySQL has no such variable: not Galera). */
  private galeraOn: Promise<boolean> | undefined;
  private galera(): Promise<boolean> {
    this.galeraOn ??= poolCall(this.pool, 'SELECT @@wsrep_on AS wsrep', []).then(
      (rows) => Number((rows as RowDataPacket[])[0]?.wsrep) === 1,
      (error: unknown) => {
        if (SQL_DIALECTS.mysql.isTransient(error)) this.galeraOn = undefined;
        return false;
      },
    );
    return this.galeraOn;
  }

  private connection(): Promise<PoolConnection> {
    return new Promise((resolve, reject) => this.pool.getConnection((error, conn) => (error ? reject(error) : resolve(conn))));
  }
}

function poolCall(pool: Pool, sql: string, params: unknown[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, result: unknown): void => (error ? reject(error) : resolve(result as Result));
    if (fixedShape(sql)) pool.execute(sql, params as never, done);
    else pool.query(sql, params as never, done);
  });
}

function connectionCall(connection: PoolConnection, sql: string, params: unknown[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, result: unknown): void => (error ? reject(error) : resolve(result as Result));
    if (params.length > 0 && fixedShape(sql)) connection.execute(sql, params as never, done);
    else connection.query(sql, params as never, done);
  });
}
