/**
 * One way to turn a `*_DB_URL` setting into TypeORM options, shared by the coordinator and the
 * example services: a mysql:// URL means MySQL/MariaDB through mysql2, a postgres:// (or
 * postgresql://) URL PostgreSQL through pg, no URL the embedded SQLite file (better-sqlite3).
 * Schema changes only through migrations, never `synchronize`.
 */
import type { DataSourceOptions, MixedList, EntitySchema } from 'typeorm';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type MigrationList = MixedList<Function | string>;
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type EntityList = MixedList<Function | string | EntitySchema>;

export interface DatabaseSettings {
  /** `mysql://…` or `postgres://user:password@host:port/database`; undefined or empty selects the embedded file. */
  url?: string;
  /** Path of the embedded SQLite file, used when `url` is unset. */
  sqlitePath: string;
  migrations: MigrationList;
  entities?: EntityList;
  /** Name of the table recording applied migrations. */
  migrationsTableName?: string;
  /** Connection pool size for MySQL and PostgreSQL. */
  poolSize?: number;
}

export function isMysqlUrl(url: string | undefined): url is string {
  return !!url && /^mysql:\/\//i.test(url);
}

export function isPostgresUrl(url: string | undefined): url is string {
  return !!url && /^postgres(ql)?:\/\//i.test(url);
}

/** What a `*_DB_URL` setting must look like, for the services' config validation. */
export const DATABASE_URL = /^(mysql|postgres|postgresql):\/\/.+\/[A-Za-z0-9_$-]+(\?.*)?$/;

export function dataSourceOptions(settings: DatabaseSettings): DataSourceOptions {
  const common = {
    migrations: settings.migrations,
    entities: settings.entities ?? [],
    migrationsTableName: settings.migrationsTableName ?? 'migrations',
    synchronize: false,
    logging: false,
  } as const;
  if (isMysqlUrl(settings.url)) {
    return {
      ...common,
      type: 'mysql',
      url: settings.url,
      charset: 'utf8mb4_bin',
      // Times are stored as epoch milliseconds computed by the server (see the coordinator store),
      // so no DATETIME conversion happens here.
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: false,
      poolSize: settings.poolSize ?? 20,
      extra: { connectionLimit: settings.poolSize ?? 20, enableKeepAlive: true },
    };
  }
  if (isPostgresUrl(settings.url)) {
    return {
      ...common,
      type: 'postgres',
      url: settings.url,
      poolSize: settings.poolSize ?? 20,
      // lock_timeout: a statement waiting on a row lock gives up after 50 s (SQLSTATE 55P03, retried
      // by the callers), as InnoDB's innodb_lock_wait_timeout does by default; PostgreSQL's own
      // default waits forever, holding its pooled connection.
      extra: { max: settings.poolSize ?? 20, keepAlive: true, lock_timeout: 50_000 },
    };
  }
  if (settings.url) {
    throw new Error(`unsupported database URL "${settings.url}": expected mysql:// or postgres://user:password@host:port/database`);
  }
  if (settings.sqlitePath !== ':memory:') mkdirSync(dirname(settings.sqlitePath), { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: settings.sqlitePath,
    // WAL lets readers proceed during a write; NORMAL sync is durable across process crashes.
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
    },
  };
}
