/**
 * Each barrier adapter (TypeORM, Drizzle, Kysely, plain pg, plain mysql2) wired to a test database
 * (MariaDB, PostgreSQL, or a SQLite file), for the specs that run the barrier through all of them:
 * the TccModule `barrier`, the providers it finds, and how a participant method writes an `effects`
 * row through the handle its adapter gives it. `startAdapterApp` serves given participants over HTTP.
 */
import 'reflect-metadata';
import { Module, type DynamicModule, type InjectionToken, type Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import BetterSqlite3 from 'better-sqlite3';
import { sql as drizzleSql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { drizzle as drizzleMysql } from 'drizzle-orm/mysql2';
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect } from 'kysely';
import { createPool as createMysqlPool, type PoolConnection } from 'mysql2/promise';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, type PoolClient } from 'pg';
import type { EntityManager } from 'typeorm';
import {
  TCC_BARRIER_MIGRATIONS,
  TccModule,
  drizzleBarrier,
  execute,
  kyselyBarrier,
  mysql2Barrier,
  pgBarrier,
  typeormBarrier,
  type BarrierAdapter,
  type BranchPhase,
  type SqlDialect,
} from '@tcc/client';
import { createDatabase, type Engine, type Row } from './databases';

/**
 * A pg pool for a test app. The store's teardown drops its database WITH (FORCE), which ends any
 * connection still open; an idle pooled client ended that way is an 'error' event on the pool, which
 * without a listener is an uncaught exception that fails the whole file after its tests passed.
 */
function quietPool(url: string): Pool {
  const pool = new Pool({ connectionString: url, max: 20 });
  pool.on('error', () => undefined);
  return pool;
}

export type Store = Engine | 'sqlite';
export type Write = (tx: unknown, gid: string, phase: BranchPhase) => Promise<unknown>;

/** One adapter on one database: the TccModule `barrier`, the providers it finds, how a method writes through its handle. */
export interface Wiring {
  imports: DynamicModule[];
  providers: Array<{ provide: InjectionToken; useValue: unknown }>;
  barrier: BarrierAdapter;
  write: Write;
  close(): Promise<void>;
}

/** A database for one suite: `query` with `?` placeholders on a connection of the test's own. */
export interface TestStore {
  dialect: SqlDialect;
  /** The server database's name ('' on SQLite). */
  name: string;
  url: string;
  sqlitePath: string;
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export const EFFECTS = 'CREATE TABLE effects (gid VARCHAR(128) NOT NULL, phase VARCHAR(16) NOT NULL)';
export const INSERT_EFFECT = 'INSERT INTO effects (gid, phase) VALUES (?, ?)';

export async function createStore(engine: Store, label: string): Promise<TestStore> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'tcc-adapters-'));
    const sqlitePath = join(dir, `${label}.sqlite`);
    const connection = new BetterSqlite3(sqlitePath, { timeout: 10_000 });
    return {
      dialect: 'sqlite',
      name: '',
      url: '',
      sqlitePath,
      query: async <T extends Row>(sql: string, params: unknown[] = []) => {
        const statement = connection.prepare(sql);
        return (statement.reader ? statement.all(...params) : (statement.run(...params), [])) as T[];
      },
      drop: async () => {
        connection.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const database = await createDatabase(label, engine);
  return { dialect: engine === 'postgres' ? 'postgres' : 'mysql', name: database.name, url: database.url, sqlitePath: '', query: database.query, drop: database.drop };
}

export const pgWrite: Write = (tx, gid, phase) => (tx as PoolClient).query('INSERT INTO effects (gid, phase) VALUES ($1, $2)', [gid, phase]);
export const mysqlWrite: Write = (tx, gid, phase) => (tx as PoolConnection).execute(INSERT_EFFECT, [gid, phase]);

interface EffectsDb {
  effects: { gid: string; phase: string };
}

/** Each adapter's wiring on each database; the ORM instance is handed over by token or as itself, both ways used. */
export const ADAPTERS: Record<string, { stores: Store[]; wire(store: TestStore, options?: { migrate: boolean }): Wiring }> = {
  typeorm: {
    stores: ['mariadb', 'postgres', 'sqlite'],
    wire: (store, { migrate } = { migrate: true }) => ({
      imports: [
        TypeOrmModule.forRoot({
          ...(store.dialect === 'sqlite'
            ? { type: 'better-sqlite3' as const, database: store.sqlitePath }
            : { type: store.dialect === 'postgres' ? ('postgres' as const) : ('mysql' as const), url: store.url, poolSize: 20 }),
          migrations: migrate ? TCC_BARRIER_MIGRATIONS : [],
          migrationsRun: migrate,
        }),
      ],
      providers: [],
      barrier: typeormBarrier(),
      write: (tx, gid, phase) => execute(tx as EntityManager, INSERT_EFFECT, [gid, phase]),
      close: async () => undefined,
    }),
  },
  drizzle: {
    stores: ['mariadb', 'postgres', 'sqlite'],
    wire: (store) => {
      const DRIZZLE = Symbol('DRIZZLE');
      const insert = (gid: string, phase: string) => drizzleSql`INSERT INTO effects (gid, phase) VALUES (${gid}, ${phase})`;
      if (store.dialect === 'sqlite') {
        const client = new BetterSqlite3(store.sqlitePath, { timeout: 10_000 });
        const db = drizzleSqlite({ client });
        return {
          imports: [],
          providers: [{ provide: DRIZZLE, useValue: db }],
          barrier: drizzleBarrier({ inject: DRIZZLE }),
          write: async (tx, gid, phase) => (tx as typeof db).run(insert(gid, phase)),
          close: async () => void client.close(),
        };
      }
      if (store.dialect === 'postgres') {
        const pool = quietPool(store.url);
        const db = drizzlePg({ client: pool });
        type Tx = Parameters<Parameters<typeof db.transaction>[0]>[0];
        return {
          imports: [],
          providers: [{ provide: DRIZZLE, useValue: db }],
          barrier: drizzleBarrier({ inject: DRIZZLE }),
          write: (tx, gid, phase) => (tx as Tx).execute(insert(gid, phase)),
          close: () => pool.end(),
        };
      }
      const pool = createMysqlPool({ uri: store.url, connectionLimit: 20 });
      const db = drizzleMysql({ client: pool });
      type Tx = Parameters<Parameters<typeof db.transaction>[0]>[0];
      return {
        imports: [],
        providers: [],
        barrier: drizzleBarrier({ db }),
        write: (tx, gid, phase) => (tx as Tx).execute(insert(gid, phase)),
        close: () => pool.end(),
      };
    },
  },
  kysely: {
    stores: ['mariadb', 'postgres', 'sqlite'],
    wire: (store) => {
      const KYSELY = Symbol('KYSELY');
      let close: () => Promise<void>;
      let db: Kysely<EffectsDb>;
      if (store.dialect === 'sqlite') {
        db = new Kysely<EffectsDb>({ dialect: new SqliteDialect({ database: new BetterSqlite3(store.sqlitePath, { timeout: 10_000 }) }) });
      } else if (store.dialect === 'postgres') {
        db = new Kysely<EffectsDb>({ dialect: new PostgresDialect({ pool: quietPool(store.url) }) });
      } else {
        // Kysely's MysqlDialect takes mysql2's callback pool.
        db = new Kysely<EffectsDb>({ dialect: new MysqlDialect({ pool: createMysqlPool({ uri: store.url, connectionLimit: 20 }).pool }) });
      }
      close = () => db.destroy();
      return {
        imports: [],
        providers: [{ provide: KYSELY, useValue: db }],
        barrier: kyselyBarrier({ inject: KYSELY }),
        write: (tx, gid, phase) => (tx as Kysely<EffectsDb>).insertInto('effects').values({ gid, phase }).execute(),
        close,
      };
    },
  },
  pg: {
    stores: ['postgres'],
    wire: (store) => {
      const pool = quietPool(store.url);
      return { imports: [], providers: [], barrier: pgBarrier({ pool }), write: pgWrite, close: () => pool.end() };
    },
  },
  mysql2: {
    stores: ['mariadb'],
    wire: (store) => {
      const MYSQL = Symbol('MYSQL');
      const pool = createMysqlPool({ uri: store.url, connectionLimit: 20 });
      return { imports: [], providers: [{ provide: MYSQL, useValue: pool }], barrier: mysql2Barrier({ inject: MYSQL }), write: mysqlWrite, close: () => pool.end() };
    },
  },
};

/** The adapter and database pairs every adapter spec runs on. */
export const ADAPTER_CASES = Object.entries(ADAPTERS).flatMap(([adapter, { stores }]) => stores.map((store) => [adapter, store] as const));

/** An app serving `participants` over HTTP through the wiring's adapter, on a free port of 127.0.0.1. */
export async function startAdapterApp(wiring: Wiring, participants: Provider[], extra: Record<string, unknown> = {}): Promise<NestFastifyApplication> {
  @Module({
    imports: [...wiring.imports, TccModule.forRoot({ barrier: wiring.barrier, barrierCleanup: { intervalMs: 0 }, ...extra })],
    providers: [...wiring.providers, ...participants],
  })
  class AdapterAppModule {}
  const app = await NestFactory.create<NestFastifyApplication>(AdapterAppModule, new FastifyAdapter(), { logger: false, abortOnError: false });
  try {
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}
