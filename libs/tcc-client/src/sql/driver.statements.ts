/**
 * Hand-written statements straight on a driver's own connection (pg, mysql2), shared by the TypeORM
 * path of sql.result.ts and the plain pg and mysql2 barrier adapters. They go as prepared
 * statements: a named statement in pg, mysql2's `execute`; each connection parses and plans them
 * once although the barrier and the business statements of every call repeat them.
 */
import { createHash } from 'node:crypto';
import { SQL_DIALECTS } from './sql.dialect';

/** Rows of a read, or how many rows a write changed. */
export interface StatementResult {
  rows: unknown[];
  changed: number;
}

/** A pg `Client` / `PoolClient`, as far as a statement needs one. */
export interface PgQueryable {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** pg names of statements seen so far: a statement's text must keep its name on every connection. */
const pgNames = new Map<string, { name: string; text: string }>();
const PG_NAMES_MAX = 1000;

/**
 * The named statement of `sql` (`?` placeholders), or undefined when it is not worth naming: not a
 * fixed shape (an IN list, whose length varies), a `*` in the result (a named statement's result
 * type is fixed: a column added by a migration would fail it with 0A000 on every connection that
 * prepared it), or past the first PG_NAMES_MAX seen.
 */
export function pgStatement(sql: string): { name: string; text: string } | undefined {
  let statement = pgNames.get(sql);
  if (!statement) {
    if (pgNames.size >= PG_NAMES_MAX || sql.includes(' IN (') || /[^(]\*/.test(sql)) return undefined;
    const text = SQL_DIALECTS.postgres.placeholders(sql);
    statement = { name: `tcc_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`, text };
    pgNames.set(sql, statement);
  }
  return statement;
}

/** Runs `sql` (`?` placeholders) on a pg connection, named when pgStatement names it. */
export async function onPg(client: PgQueryable, sql: string, parameters: unknown[]): Promise<StatementResult> {
  const statement = pgStatement(sql) ?? { text: SQL_DIALECTS.postgres.placeholders(sql) };
  const result = await client.query({ ...statement, values: parameters });
  return { rows: result.rows ?? [], changed: result.rowCount ?? 0 };
}

/** A mysql2 answer: rows for a read, a header with `affectedRows` for a write. */
export function mysqlResult(result: unknown): StatementResult {
  return Array.isArray(result) ? { rows: result, changed: 0 } : { rows: [], changed: (result as { affectedRows?: number }).affectedRows ?? 0 };
}

/** mysql2's callback connection (what TypeORM holds, and what `conn.connection` of the promise API wraps). */
export interface MysqlCallbackConnection {
  execute(sql: string, values: unknown[], callback: (error: Error | null, result: unknown) => void): void;
}

/** Runs `sql` as a prepared statement on a mysql2 callback connection. */
export function onMysql(connection: MysqlCallbackConnection, sql: string, parameters: unknown[]): Promise<StatementResult> {
  return new Promise((resolve, reject) =>
    connection.execute(sql, parameters, (error, result) => (error ? reject(error) : resolve(mysqlResult(result)))),
  );
}
