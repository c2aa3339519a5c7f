/**
 * The Drizzle adapter (drizzle-orm with node-postgres, mysql2 or better-sqlite3). Participant
 * methods get Drizzle's `tx` of the local transaction. better-sqlite3 transactions are synchronous
 * in Drizzle, which an async participant method cannot use: there the adapter opens the transaction
 * itself (BEGIN IMMEDIATE ... COMMIT on the one connection, serialised by the runner's queue) and
 * the method gets the `db`, inside it. drizzle-orm is loaded at first use.
 */
import { SQL_DIALECTS, type SqlDialect } from '../../sql/sql.dialect';
import { mysqlResult } from '../../sql/driver.statements';
import type { BarrierAdapter, BarrierDatabase, BarrierSql } from '../barrier.adapter';
import { instanceOf, onePer, requirePeer } from './peer';

/**
 * A Drizzle database as far as the type system can say without drizzle-orm (an optional peer):
 * something with `transaction`. What it is exactly is read at start-up (its dialect class).
 */
export interface DrizzleDatabaseLike {
  transaction(...args: never[]): unknown;
}

export type DrizzleBarrierOptions<D extends DrizzleDatabaseLike> = ({ db: D } | { inject: unknown }) & {
  /** The database's dialect, when it cannot be told from the Drizzle instance. */
  dialect?: SqlDialect;
};

/** What a Drizzle database or transaction can run: `execute` (pg, mysql2), `run` / `all` (SQLite). */
interface Runs {
  execute?(query: unknown): Promise<unknown>;
  run?(query: unknown): unknown;
  all?(query: unknown): unknown;
  resultKind?: 'sync' | 'async';
}

type SqlTag = (strings: TemplateStringsArray, ...values: unknown[]) => unknown;

const ENTITY_KIND = Symbol.for('drizzle:entityKind');
const KINDS: Record<string, SqlDialect> = { PgDialect: 'postgres', MySqlDialect: 'mysql', SQLiteDialect: 'sqlite' };

/** The dialect from the Drizzle dialect class's entity kind (its own or a parent's). */
function detectDialect(db: DrizzleDatabaseLike): SqlDialect | undefined {
  const dialect = (db as { dialect?: object }).dialect;
  for (let type: unknown = dialect?.constructor; typeof type === 'function'; type = Object.getPrototypeOf(type)) {
    const kind = Object.prototype.hasOwnProperty.call(type, ENTITY_KIND) ? (type as unknown as Record<symbol, string>)[ENTITY_KIND] : undefined;
    if (kind && KINDS[kind]) return KINDS[kind];
  }
  return undefined;
}

export function drizzleDatabase<D extends DrizzleDatabaseLike>(db: D, dialectName?: SqlDialect): BarrierDatabase<D> {
  return onePer(db, () => {
    const { sql: tag } = requirePeer<{ sql: SqlTag }>('drizzle-orm', 'drizzle', () => require('drizzle-orm'));
    const name = dialectName ?? detectDialect(db);
    if (!name) throw new Error('tcc barrier: the drizzle adapter could not tell the database from this Drizzle instance; pass drizzleBarrier({ ..., dialect })');
    const dialect = SQL_DIALECTS[name];
    // `?` placeholders become Drizzle parameters: Drizzle writes each dialect's own placeholder.
    const query = (text: string, parameters: unknown[]): unknown => {
      const parts = text.split('?');
      return tag(Object.assign(parts, { raw: parts }) as unknown as TemplateStringsArray, ...parameters);
    };
    const sqlOf = (on: Runs): BarrierSql =>
      name === 'sqlite'
        ? {
            execute: async (text, parameters) => ((await on.run!(query(text, parameters))) as { changes?: number; rowsAffected?: number }).changes ?? 0,
            select: async <T>(text: string, parameters: unknown[]) => (await on.all!(query(text, parameters))) as T[],
          }
        : name === 'mysql'
          ? {
              execute: async (text, parameters) => mysqlResult(((await on.execute!(query(text, parameters))) as unknown[])[0]).changed,
              select: async <T>(text: string, parameters: unknown[]) => mysqlResult(((await on.execute!(query(text, parameters))) as unknown[])[0]).rows as T[],
            }
          : {
              execute: async (text, parameters) => ((await on.execute!(query(text, parameters))) as { rowCount?: number | null }).rowCount ?? 0,
              select: async <T>(text: string, parameters: unknown[]) => ((await on.execute!(query(text, parameters))) as { rows: T[] }).rows,
            };
    const runs = db as unknown as Runs;
    const bare = (statement: string): unknown => runs.run!(query(statement, []));
    return {
      dialect,
      async transaction(work) {
        if (runs.resultKind !== 'sync') {
          const transaction = db.transaction as unknown as (this: D, run: (tx: Runs) => Promise<unknown>) => Promise<unknown>;
          return (await transaction.call(db, (tx) => work(sqlOf(tx), tx as unknown as D))) as Awaited<ReturnType<typeof work>>;
        }
        bare('BEGIN IMMEDIATE');
        try {
          const result = await work(sqlOf(runs), db);
          bare('COMMIT');
          return result;
        } catch (error) {
          bare('ROLLBACK');
          throw error;
        }
      },
      read: (work) => work(sqlOf(runs)),
    };
  });
}

/**
 * `drizzleBarrier({ db })` or `drizzleBarrier({ inject: DRIZZLE })` (a Nest token of the app's
 * Drizzle database). The dialect is read from the instance; `dialect` overrides it.
 */
export function drizzleBarrier<D extends DrizzleDatabaseLike = DrizzleDatabaseLike>(options: DrizzleBarrierOptions<D>): BarrierAdapter<D> {
  return {
    name: 'drizzle',
    migrationHint:
      "run barrierMigrationSql('<dialect>') from @tcc/client (or the file @tcc/client/sql/tcc-barrier.<dialect>.sql) in your migrations, e.g. a custom drizzle-kit migration (drizzle-kit generate --custom)",
    connect: (lookup) => drizzleDatabase(instanceOf<D>(options, 'db', lookup, 'drizzle'), options.dialect),
  };
}
