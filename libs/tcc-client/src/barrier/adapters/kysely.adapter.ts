/**
 * The Kysely adapter (PostgresDialect, MysqlDialect, SqliteDialect with better-sqlite3).
 * Participant methods get Kysely's `Transaction` of the local transaction. The barrier's statements
 * go through `executeQuery(CompiledQuery.raw(...))` with the dialect's placeholders. kysely is
 * loaded at first use.
 */
import { SQL_DIALECTS, type SqlDialect } from '../../sql/sql.dialect';
import type { BarrierAdapter, BarrierDatabase, BarrierSql } from '../barrier.adapter';
import { instanceOf, onePer, requirePeer } from './peer';

interface CompiledQueryLike {
  readonly sql: string;
}

/** A Kysely instance or Transaction as far as the barrier needs it (structural: kysely stays an optional peer). */
export interface KyselyLike {
  executeQuery(query: never): Promise<{ rows: unknown[]; numAffectedRows?: bigint }>;
  getExecutor(): { readonly adapter: object };
}

/** A Kysely instance: it opens transactions. */
export interface KyselyDatabaseLike<T extends KyselyLike = KyselyLike> extends KyselyLike {
  transaction(): { execute<R>(work: (trx: T) => Promise<R>): Promise<R> };
}

export type KyselyBarrierOptions<K extends KyselyDatabaseLike> = ({ db: K } | { inject: unknown }) & {
  /** The database's dialect, when it cannot be told from the Kysely instance. */
  dialect?: SqlDialect;
};

interface KyselyModule {
  CompiledQuery: { raw(sql: string, parameters?: unknown[]): CompiledQueryLike };
  PostgresAdapter: abstract new () => object;
  MysqlAdapter: abstract new () => object;
  SqliteAdapter: abstract new () => object;
}

function detectDialect(kysely: KyselyModule, db: KyselyLike): SqlDialect | undefined {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof kysely.PostgresAdapter) return 'postgres';
  if (adapter instanceof kysely.MysqlAdapter) return 'mysql';
  if (adapter instanceof kysely.SqliteAdapter) return 'sqlite';
  return undefined;
}

export function kyselyDatabase<K extends KyselyDatabaseLike>(db: K, dialectName?: SqlDialect): BarrierDatabase<K extends KyselyDatabaseLike<infer T> ? T : never> {
  type Tx = K extends KyselyDatabaseLike<infer T> ? T : never;
  return onePer(db, () => {
    const kysely = requirePeer<KyselyModule>('kysely', 'kysely', () => require('kysely'));
    const name = dialectName ?? detectDialect(kysely, db);
    if (!name) throw new Error('tcc barrier: the kysely adapter could not tell the database from this Kysely instance; pass kyselyBarrier({ ..., dialect })');
    const dialect = SQL_DIALECTS[name];
    const run = (on: KyselyLike, text: string, parameters: unknown[]) => on.executeQuery(kysely.CompiledQuery.raw(dialect.placeholders(text), parameters) as never);
    const sqlOf = (on: KyselyLike): BarrierSql => ({
      execute: async (text, parameters) => Number((await run(on, text, parameters)).numAffectedRows ?? 0),
      select: async <T>(text: string, parameters: unknown[]) => (await run(on, text, parameters)).rows as T[],
    });
    const database: BarrierDatabase<Tx> = {
      dialect,
      transaction: (work) => db.transaction().execute((trx) => work(sqlOf(trx), trx as Tx)),
      read: (work) => work(sqlOf(db)),
    };
    return database;
  });
}

/**
 * `kyselyBarrier({ db })` or `kyselyBarrier({ inject: KYSELY })` (a Nest token of the app's Kysely
 * instance). The dialect is read from the instance's adapter; `dialect` overrides it.
 */
export function kyselyBarrier<K extends KyselyDatabaseLike = KyselyDatabaseLike>(
  options: KyselyBarrierOptions<K>,
): BarrierAdapter<K extends KyselyDatabaseLike<infer T> ? T : never> {
  return {
    name: 'kysely',
    migrationHint: "run barrierMigrationSql('<dialect>') from @tcc/client (or the file @tcc/client/sql/tcc-barrier.<dialect>.sql) in a Kysely migration (sql.raw(statement).execute(db) for each)",
    connect: (lookup) => kyselyDatabase(instanceOf<K>(options, 'db', lookup, 'kysely'), options.dialect),
  };
}
