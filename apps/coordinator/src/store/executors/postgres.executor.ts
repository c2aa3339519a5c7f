/**
 * PostgreSQL through pg: statements go straight to the pool TypeORM opened (named, so prepared,
 * where their shape is fixed), and a batch travels as one simple query of several statements.
 */
import { createHash } from 'node:crypto';
import type { DataSource, DataSourceOptions } from 'typeorm';
import { escapeLiteral, type Pool, type PoolClient, type QueryResult } from 'pg';
import { SQL_DIALECTS } from '@tcc/client/sql';
import type { Statement } from '../sql.dialect';
import { fixedShape, type DriverExecutor, type Executor, type Row } from './driver.executor';

export class PostgresExecutor implements DriverExecutor {
  readonly dialect = SQL_DIALECTS.postgres;

  static dataSourceOptions(options: DataSourceOptions): DataSourceOptions {
    return options;
  }

  constructor(private readonly dataSource: DataSource) {}

  /** The pg pool TypeORM opened (read once it is connected). */
  private get pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  async select<T extends Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await pgCall(this.pool, sql, params)).rows as T[];
  }

  async execute(sql: string, params: unknown[] = []): Promise<number> {
    return (await pgCall(this.pool, sql, params)).rowCount ?? 0;
  }

  async transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
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

  /**
   * The batch as one simple query (several statements in one message; the values written in as
   * escaped literals, since only the extended protocol takes parameters, one statement at a time).
   */
  async batch(statements: Statement[]): Promise<Array<Row[] | number>> {
    const { client, release } = await this.checkOut();
    let broken: Error | undefined;
    try {
      const sql = ['BEGIN ISOLATION LEVEL READ COMMITTED', ...statements.map(inlinePostgres), 'COMMIT'].join(';\n');
      let results: QueryResult[];
      try {
        results = (await client.query(sql)) as unknown as QueryResult[];
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
  private async checkOut(): Promise<{ client: PoolClient; release(error?: Error): void }> {
    const client = await this.pool.connect();
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
}

/**
 * Fixed-shape statements are named, so each connection parses and plans them once. Unnamed:
 * statements whose shape varies with their input (IN lists), those reading `*` (a named
 * statement's result type is fixed, and a column added by a migration would fail it with 0A000
 * on every connection that prepared it), and any past the first PG_NAMES_MAX shapes.
 */
const PG_NAMES_MAX = 1000;
const pgQueries = new Map<string, { name?: string; text: string }>();
function pgCall(target: Pool | PoolClient, sql: string, params: unknown[]): Promise<QueryResult> {
  let query = pgQueries.get(sql);
  if (!query) {
    const text = SQL_DIALECTS.postgres.placeholders(sql);
    const named = fixedShape(sql) && !/[^(]\*/.test(sql) && params.length > 0 && pgQueries.size < PG_NAMES_MAX;
    query = named ? { name: `tcc_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`, text } : { text };
    if (pgQueries.size < PG_NAMES_MAX) pgQueries.set(sql, query);
  }
  return target.query({ ...query, values: postgresParams(params) });
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
