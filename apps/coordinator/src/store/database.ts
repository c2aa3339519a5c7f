/**
 * The coordinator's connection to its database: TypeORM's DataSource over mysql2, pg or the
 * embedded SQLite file, plus what the store needs from it: statements that report affected rows,
 * local transactions, and (MySQL, PostgreSQL) a batch of statements sent as one message in one
 * local transaction. TypeORM owns the connection pool, the migrations and the dialects; on MySQL
 * and PostgreSQL the statements go straight to the driver's pool it holds, prepared where their
 * shape is fixed, without a query runner each. The SQL that differs by dialect is in
 * sql.dialect.ts. Transient failures (deadlock, lock wait, lost connection) are retried here,
 * which is safe because every store operation is a compare-and-set or an idempotent insert.
 */
import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { DataSource, type QueryRunner } from 'typeorm';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2';
import type { Pool as PgPool, PoolClient as PgClient, QueryResult as PgResult } from 'pg';
import { dataSourceOptions, pendingMigrations } from '@tcc/service-kit';
import { coordinatorMigrations } from '../../../../migrations/coordinator';
import { DIALECTS, dialectOfType, inlinePostgres, isTransient, postgresParams, toPostgresPlaceholders, type Dialect, type SqlDialect, type Statement } from './sql.dialect';

export { isTransient, type Dialect };
export type Row = Record<string, unknown>;

export interface Executor {
  select<T extends Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a write; answers the number of rows it affected. */
  execute(sql: string, params?: unknown[]): Promise<number>;
}

/** Serialises work on the single embedded connection, so one local transaction never sees another's statements. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(() => undefined, () => undefined);
    return result;
  }
}

export interface DatabaseSettings {
  url?: string;
  sqlitePath: string;
  poolSize: number;
}

export class Database {
  readonly dialect: Dialect;
  /** The SQL pieces that differ by dialect (sql.dialect.ts). */
  readonly sql: SqlDialect;
  private readonly logger = new Logger('Database');
  private readonly mutex = new Mutex();
  /** Retries of one operation on transient errors, with a short growing pause. */
  private readonly maxAttempts = 8;

  constructor(readonly dataSource: DataSource) {
    this.dialect = dialectOfType(String(dataSource.options.type));
    this.sql = DIALECTS[this.dialect];
  }

  static create(settings: DatabaseSettings): Database {
    const options = dataSourceOptions({
      url: settings.url,
      sqlitePath: settings.sqlitePath,
      poolSize: settings.poolSize,
      migrations: coordinatorMigrations,
      migrationsTableName: 'tcc_migrations',
    });
    // A batch of writes travels as one packet (see batch()); every value in it is escaped by mysql2.
    return new Database(new DataSource(options.type === 'mysql' ? { ...options, multipleStatements: true } : options));
  }

  /** The mysql2 pool TypeORM opened (MySQL only). */
  private get pool(): Pool {
    return (this.dataSource.driver as unknown as { pool: Pool }).pool;
  }

  /** The pg pool TypeORM opened (PostgreSQL only). */
  private get pgPool(): PgPool {
    return (this.dataSource.driver as unknown as { master: PgPool }).master;
  }

  async connect(): Promise<void> {
    if (!this.dataSource.isInitialized) await this.dataSource.initialize();
  }

  async migrate(): Promise<string[]> {
    const applied = await this.dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  }

  /** Read-only: a readiness probe must not create the migrations table. */
  async pendingMigrations(): Promise<boolean> {
    return (await pendingMigrations(this.dataSource)).length > 0;
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }

  /** One statement in its own (auto-committed) transaction. */
  select<T extends Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (this.dialect === 'mysql') return this.retrying(() => poolCall(this.pool, sql, params) as Promise<T[]>);
    if (this.dialect === 'postgres') return this.retrying(async () => (await pgCall(this.pgPool, sql, params)).rows as T[]);
    return this.withRunner((runner) => selectOn<T>(runner, sql, params));
  }

  execute(sql: string, params: unknown[] = []): Promise<number> {
    if (this.dialect === 'mysql') return this.retrying(async () => ((await poolCall(this.pool, sql, params)) as ResultSetHeader).affectedRows);
    if (this.dialect === 'postgres') return this.retrying(async () => (await pgCall(this.pgPool, sql, params)).rowCount ?? 0);
    return this.withRunner((runner) => executeOn(runner, sql, params));
  }

  /**
   * MySQL and PostgreSQL: `statements` in one local transaction, sent as one packet (one round
   * trip, one durable commit); answers each statement's result (rows of a SELECT, affected rows of
   * a write). On any error the transaction is rolled back and nothing of it stays; transient
   * errors are retried as a whole.
   */
  batch(statements: Statement[]): Promise<Array<Row[] | number>> {
    if (this.dialect === 'postgres') return this.retrying(() => this.postgresBatch(statements));
    return this.retrying(async () => {
      const connection = await new Promise<PoolConnection>((resolve, reject) =>
        this.pool.getConnection((error, conn) => (error ? reject(error) : resolve(conn))),
      );
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
    });
  }

  /**
   * The batch as one simple query (several statements in one message; the values written in as
   * escaped literals, since only the extended protocol takes parameters, one statement at a time).
   */
  private async postgresBatch(statements: Statement[]): Promise<Array<Row[] | number>> {
    const { client, release } = await this.checkOut();
    let broken: Error | undefined;
    try {
      const sql = ['BEGIN ISOLATION LEVEL READ COMMITTED', ...statements.map(inlinePostgres), 'COMMIT'].join(';\n');
      let results: PgResult[];
      try {
        results = (await client.query(sql)) as unknown as PgResult[];
      } catch (error) {
        // After an error the server skips the rest of the message: the transaction is left aborted.
        await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
        throw error;
      }
      return results.slice(1, 1 + statements.length).map((r) => (r.command === 'SELECT' ? (r.rows as Row[]) : (r.rowCount ?? 0)));
    } finally {
      release(broken);
    }
  }

  /**
   * A pg client of the pool for one batch or local transaction. While it is checked out the pool
   * no longer listens for its errors, and an 'error' event nobody listens to (the server going
   * away mid-query) would end the process: the failure reaches the caller through its query
   * instead, and the client is discarded on release.
   */
  private async checkOut(): Promise<{ client: PgClient; release(error?: Error): void }> {
    const client = await this.pgPool.connect();
    let lost: Error | undefined;
    const onError = (error: Error): void => {
      lost = error;
    };
    client.on('error', onError);
    return {
      client,
      release: (error) => {
        client.removeListener('error', onError);
        client.release(error ?? lost);
      },
    };
  }

  /** Several statements in one local transaction: one durable commit. */
  transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    if (this.dialect === 'mysql') return this.retrying(() => this.mysqlTransaction(work));
    if (this.dialect === 'postgres') return this.retrying(() => this.postgresTransaction(work));
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

  private async postgresTransaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    const { client, release } = await this.checkOut();
    let broken: Error | undefined;
    try {
      // As the batches: row conditions re-checked after a lock wait, whatever the server's default.
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      try {
        const result = await work({
          select: async <R extends Row>(sql: string, params: unknown[] = []) => (await pgCall(client, sql, params)).rows as R[],
          execute: async (sql, params = []) => (await pgCall(client, sql, params)).rowCount ?? 0,
        });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
        throw error;
      }
    } finally {
      release(broken);
    }
  }

  private async mysqlTransaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    const connection = await new Promise<PoolConnection>((resolve, reject) =>
      this.pool.getConnection((error, conn) => (error ? reject(error) : resolve(conn))),
    );
    try {
      await connectionCall(connection, 'START TRANSACTION', []);
      try {
        const result = await work({
          select: async <R extends Row>(sql: string, params: unknown[] = []) => (await connectionCall(connection, sql, params)) as R[],
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

  private withRunner<T>(fn: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const once = async (): Promise<T> => {
      const runner = this.dataSource.createQueryRunner();
      try {
        return await fn(runner);
      } finally {
        await runner.release().catch(() => undefined);
      }
    };
    return this.retrying(() => (this.dialect === 'sqlite' ? this.mutex.run(once) : once()));
  }

  private async retrying<T>(once: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await once();
      } catch (error) {
        if (!isTransient(error) || attempt >= this.maxAttempts) throw error;
        const pause = Math.min(1000, 10 * 2 ** attempt) * (0.5 + Math.random() / 2);
        this.logger.warn(`transient database error (attempt ${attempt}, retrying in ${Math.round(pause)} ms): ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }
}

/**
 * PostgreSQL: fixed-shape statements are named, so each connection parses and plans them once.
 * Unnamed: statements whose shape varies with their input (IN lists), those reading `*` (a named
 * statement's result type is fixed, and a column added by a migration would fail it with 0A000
 * on every connection that prepared it), and any past the first PG_NAMES_MAX shapes.
 */
const PG_NAMES_MAX = 1000;
const pgQueries = new Map<string, { name?: string; text: string }>();
function pgCall(target: PgPool | PgClient, sql: string, params: unknown[]): Promise<PgResult> {
  let query = pgQueries.get(sql);
  if (!query) {
    const text = toPostgresPlaceholders(sql);
    const named = prepared(sql) && !/[^(]\*/.test(sql) && params.length > 0 && pgQueries.size < PG_NAMES_MAX;
    query = named ? { name: `tcc_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`, text } : { text };
    if (pgQueries.size < PG_NAMES_MAX) pgQueries.set(sql, query);
  }
  return target.query({ ...query, values: postgresParams(params) });
}

/**
 * A prepared statement (mysql2 keeps it per connection) for fixed-shape SQL; statements whose
 * shape varies with their input (IN lists) go as text, so the statement cache stays small.
 */
function prepared(sql: string): boolean {
  return !sql.includes(' IN (');
}

function poolCall(pool: Pool, sql: string, params: unknown[]): Promise<RowDataPacket[] | ResultSetHeader> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, result: unknown): void => (error ? reject(error) : resolve(result as RowDataPacket[] | ResultSetHeader));
    if (prepared(sql)) pool.execute(sql, params as never, done);
    else pool.query(sql, params as never, done);
  });
}

function connectionCall(connection: PoolConnection, sql: string, params: unknown[]): Promise<RowDataPacket[] | ResultSetHeader> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, result: unknown): void => (error ? reject(error) : resolve(result as RowDataPacket[] | ResultSetHeader));
    if (params.length > 0 && prepared(sql)) connection.execute(sql, params as never, done);
    else connection.query(sql, params as never, done);
  });
}

async function selectOn<T extends Row>(runner: QueryRunner, sql: string, params: unknown[]): Promise<T[]> {
  const result = await runner.query(sql, params, true);
  return (result.records ?? []) as T[];
}

async function executeOn(runner: QueryRunner, sql: string, params: unknown[]): Promise<number> {
  const result = await runner.query(sql, params, true);
  return result.affected ?? 0;
}
