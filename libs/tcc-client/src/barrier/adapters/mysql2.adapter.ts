/**
 * The adapter for a plain `mysql2` pool: the promise pool of `mysql2/promise` (or a callback pool,
 * through its `.promise()`). One PoolConnection per local transaction, given to participant
 * methods; statements are prepared (`execute`). mysql2 itself is never loaded here: the app hands
 * over its pool.
 */
import { mysqlResult } from '../../sql/driver.statements';
import { SQL_DIALECTS } from '../../sql/sql.dialect';
import type { BarrierAdapter, BarrierDatabase, BarrierSql } from '../barrier.adapter';
import { instanceOf, onePer } from './peer';

/** A `mysql2/promise` PoolConnection as far as the barrier needs it (structural: mysql2 stays an optional peer). */
export interface Mysql2PoolConnectionLike {
  execute(sql: string, values?: never[]): Promise<[unknown, unknown]>;
  beginTransaction(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  release(): void;
  destroy(): void;
}

/** A `mysql2/promise` Pool. */
export interface Mysql2PoolLike<C extends Mysql2PoolConnectionLike = Mysql2PoolConnectionLike> {
  getConnection(): Promise<C>;
}

/** A callback `mysql2` Pool, used through its promise wrapper. */
export interface Mysql2CallbackPoolLike<C extends Mysql2PoolConnectionLike = Mysql2PoolConnectionLike> {
  promise(): Mysql2PoolLike<C>;
}

export type Mysql2BarrierOptions<C extends Mysql2PoolConnectionLike> = { pool: Mysql2PoolLike<C> | Mysql2CallbackPoolLike<C> } | { inject: unknown };

function sqlOf(connection: Mysql2PoolConnectionLike): BarrierSql {
  return {
    execute: async (sql, parameters) => mysqlResult((await connection.execute(sql, parameters as never[]))[0]).changed,
    select: async <T>(sql: string, parameters: unknown[]) => mysqlResult((await connection.execute(sql, parameters as never[]))[0]).rows as T[],
  };
}

export function mysql2Database<C extends Mysql2PoolConnectionLike>(given: Mysql2PoolLike<C> | Mysql2CallbackPoolLike<C>): BarrierDatabase<C> {
  return onePer(given, () => {
    const pool = 'promise' in given && typeof given.promise === 'function' ? given.promise() : (given as Mysql2PoolLike<C>);
    return {
      dialect: SQL_DIALECTS.mysql,
      async transaction(work) {
        const connection = await pool.getConnection();
        let broken = false;
        try {
          await connection.beginTransaction();
          const result = await work(sqlOf(connection), connection);
          await connection.commit();
          return result;
        } catch (error) {
          // A connection whose ROLLBACK fails is in an unknown state: destroyed, not returned to the pool.
          await connection.rollback().catch(() => (broken = true));
          throw error;
        } finally {
          if (broken) connection.destroy();
          else connection.release();
        }
      },
      async read(work) {
        const connection = await pool.getConnection();
        try {
          return await work(sqlOf(connection));
        } finally {
          connection.release();
        }
      },
    };
  });
}

/**
 * `mysql2Barrier({ pool })` or `mysql2Barrier({ inject: MYSQL_POOL })` (a Nest token of the app's
 * pool). Participant methods get the transaction's PoolConnection (promise API).
 */
export function mysql2Barrier<C extends Mysql2PoolConnectionLike = Mysql2PoolConnectionLike>(options: Mysql2BarrierOptions<C>): BarrierAdapter<C> {
  return {
    name: 'mysql2',
    migrationHint: "run barrierMigrationSql('mysql') from @tcc/client (or the file @tcc/client/sql/tcc-barrier.mysql.sql) in your migrations",
    connect: (lookup) => mysql2Database(instanceOf<Mysql2PoolLike<C> | Mysql2CallbackPoolLike<C>>(options, 'pool', lookup, 'mysql2')),
  };
}
