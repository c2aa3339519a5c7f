/**
 * The adapter for a plain `pg` Pool: one PoolClient per local transaction (BEGIN ... COMMIT), given
 * to participant methods. Statements are named prepared statements on that client
 * (driver.statements.ts). pg itself is never loaded here: the app hands over its Pool.
 */
import { onPg, type PgQueryable } from '../../sql/driver.statements';
import { SQL_DIALECTS } from '../../sql/sql.dialect';
import type { BarrierAdapter, BarrierDatabase, BarrierSql } from '../barrier.adapter';
import { instanceOf, onePer } from './peer';

/** A pg PoolClient as far as the barrier needs it (structural: pg stays an optional peer). */
export interface PgPoolClientLike extends PgQueryable {
  release(error?: Error | boolean): void;
}

/** A pg Pool as far as the barrier needs it. */
export interface PgPoolLike<C extends PgPoolClientLike = PgPoolClientLike> {
  connect(): Promise<C>;
}

export type PgBarrierOptions<P extends PgPoolLike> = { pool: P } | { inject: unknown };

const run = (client: PgQueryable, text: string) => client.query({ text, values: [] });

function sqlOf(client: PgQueryable): BarrierSql {
  return {
    execute: async (sql, parameters) => (await onPg(client, sql, parameters)).changed,
    select: async <T>(sql: string, parameters: unknown[]) => (await onPg(client, sql, parameters)).rows as T[],
  };
}

export function pgDatabase<C extends PgPoolClientLike>(pool: PgPoolLike<C>): BarrierDatabase<C> {
  return onePer(pool, () => ({
    dialect: SQL_DIALECTS.postgres,
    async transaction(work) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await run(client, 'BEGIN');
        const result = await work(sqlOf(client), client);
        await run(client, 'COMMIT');
        return result;
      } catch (error) {
        // A client whose ROLLBACK fails is in an unknown state: released as broken, the pool drops it.
        await run(client, 'ROLLBACK').catch((rollback: unknown) => (broken = rollback instanceof Error ? rollback : new Error(String(rollback))));
        throw error;
      } finally {
        client.release(broken);
      }
    },
    async read(work) {
      const client = await pool.connect();
      try {
        return await work(sqlOf(client));
      } finally {
        client.release();
      }
    },
  }));
}

/**
 * `pgBarrier({ pool })` or `pgBarrier({ inject: PG_POOL })` (a Nest token of the app's Pool).
 * Participant methods get the transaction's PoolClient.
 */
export function pgBarrier<C extends PgPoolClientLike = PgPoolClientLike>(options: PgBarrierOptions<PgPoolLike<C>>): BarrierAdapter<C> {
  return {
    name: 'pg',
    migrationHint: "run barrierMigrationSql('postgres') from @tcc/client (or the file @tcc/client/sql/tcc-barrier.postgres.sql) in your migrations",
    connect: (lookup) => pgDatabase(instanceOf<PgPoolLike<C>>(options, 'pool', lookup, 'pg')),
  };
}
