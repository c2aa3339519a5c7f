/**
 * A fresh database per spec file (`tcc_t_<random>`) on the machine's MariaDB (as root) or
 * PostgreSQL (as postgres), created at the start and dropped at the end, so specs never see each
 * other's rows. Which server: TCC_TEST_DB (`mariadb`, the default, or `postgres`), the one switch
 * that runs every coordinator suite on either. A database left behind by a test process that died
 * before its afterAll is dropped by the next one (see sweep).
 *
 * `query` takes `?` placeholders and answers plain rows on both; PostgreSQL's BIGINT and NUMERIC
 * come back as numbers, as they do from MariaDB, so assertions read the same.
 */
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { createConnection, type Connection } from 'mysql2/promise';
import { Client, types as pgTypes } from 'pg';
import { randomSuffix } from './wait';

export type ServerEngine = 'mariadb' | 'postgres';

/** The server database the suites run on: TCC_TEST_DB=postgres switches every one of them. */
export function testEngine(): ServerEngine {
  const chosen = (process.env.TCC_TEST_DB ?? 'mariadb').toLowerCase();
  if (chosen === 'postgres' || chosen === 'postgresql') return 'postgres';
  if (chosen === 'mariadb' || chosen === 'mysql') return 'mariadb';
  throw new Error(`TCC_TEST_DB must be mariadb or postgres, not "${chosen}"`);
}

/** Where the machine's servers are, as every test helper that creates databases reads it. */
export const TEST_SERVERS = {
  mariadb: {
    host: process.env.TCC_TEST_MYSQL_HOST ?? '127.0.0.1',
    port: Number(process.env.TCC_TEST_MYSQL_PORT ?? 3306),
    user: process.env.TCC_TEST_MYSQL_USER ?? 'root',
    password: process.env.TCC_TEST_MYSQL_PASSWORD ?? '',
  },
  postgres: {
    host: process.env.TCC_TEST_PG_HOST ?? '127.0.0.1',
    port: Number(process.env.TCC_TEST_PG_PORT ?? 5432),
    user: process.env.TCC_TEST_PG_USER ?? 'postgres',
  },
} as const;
const { host: HOST, port: PORT, user: USER, password: PASSWORD } = TEST_SERVERS.mariadb;
const { host: PG_HOST, port: PG_PORT, user: PG_USER } = TEST_SERVERS.postgres;

export type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Another connection holding an exclusive lock on a table until release(); it reads the table meanwhile. */
export interface TableLock {
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  release(): Promise<void>;
}

export interface TestDatabase {
  readonly name: string;
  readonly engine: ServerEngine;
  /** `mysql://...` or `postgres://...` URL for TCC_DB_URL. */
  readonly url: string;
  /** Runs SQL (`?` placeholders) against the test database, for assertions that look under the API. */
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** The tables the database holds. */
  tables(): Promise<string[]>;
  /** Locks `table` against every other session (readers too) from another connection. */
  lockTable(table: string): Promise<TableLock>;
  /** How many other sessions are waiting on a lock in a statement starting with `prefix`. */
  waitingOn(prefix: string): Promise<number>;
  /** Drops the database and closes the admin connection; safe to call twice. */
  drop(): Promise<void>;
}

export function createTestDatabase(engine: ServerEngine = testEngine()): Promise<TestDatabase> {
  return engine === 'postgres' ? createPostgresDatabase() : createMariaDatabase();
}

/** Written into the database comment so a later run knows whose it was. */
const OWNER_TAG = `tcc-test host=${hostname()} pid=`;
const OWNER_PATTERN = /^tcc-test host=(\S+) pid=(\d+)$/;

const undropped = new Map<string, ServerEngine>();
// Last resort when the process exits without running afterAll (a process.exit in a test run):
// a synchronous drop through the command-line client. Failure is ignored: the next run sweeps.
process.once('exit', () => {
  for (const [name, engine] of undropped) {
    try {
      if (engine === 'postgres') {
        spawnSync('psql', ['-h', PG_HOST, '-p', String(PG_PORT), '-U', PG_USER, '-d', 'postgres', '-c', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`], { timeout: 5_000, stdio: 'ignore' });
      } else {
        const args = ['-h', HOST, '-P', String(PORT), '-u', USER, '-e', `DROP DATABASE IF EXISTS \`${name}\``];
        if (PASSWORD) args.push(`-p${PASSWORD}`);
        spawnSync('mysql', args, { timeout: 5_000, stdio: 'ignore' });
      }
    } catch {
      // best effort
    }
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** An orphan: made on this host by a test process that is no longer running. */
function orphaned(comment: unknown): boolean {
  const owner = OWNER_PATTERN.exec(String(comment ?? ''));
  return !!owner && owner[1] === hostname() && !alive(Number(owner[2]));
}

const swept = new Set<ServerEngine>();

async function createMariaDatabase(): Promise<TestDatabase> {
  const name = `tcc_t_${randomSuffix(10)}`;
  const admin: Connection = await createConnection({ host: HOST, port: PORT, user: USER, password: PASSWORD });
  try {
    if (!swept.has('mariadb')) {
      swept.add('mariadb');
      const [rows] = await admin
        .query("SELECT SCHEMA_NAME AS name, SCHEMA_COMMENT AS comment FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'tcc\\_t\\_%'")
        .catch(() => [[]] as const);
      for (const row of rows as Row[]) {
        if (orphaned(row.comment)) await admin.query(`DROP DATABASE IF EXISTS \`${String(row.name)}\``).catch(() => undefined);
      }
    }
    const create = `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`;
    // MySQL has no database comments; MariaDB (what we run on) does.
    await admin.query(`${create} COMMENT '${OWNER_TAG}${process.pid}'`).catch(() => admin.query(create));
    undropped.set(name, 'mariadb');
  } catch (error) {
    await admin.end();
    throw error;
  }
  const credentials = PASSWORD ? `${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}` : encodeURIComponent(USER);
  const url = `mysql://${credentials}@${HOST}:${PORT}/${name}`;
  const query = async <T extends Row = Row>(sql: string, params: unknown[] = []): Promise<T[]> => {
    await admin.query(`USE \`${name}\``);
    const [rows] = await admin.query(sql, params);
    return rows as T[];
  };
  let dropped = false;
  return {
    name,
    engine: 'mariadb',
    url,
    query,
    async tables() {
      return (await query('SHOW TABLES')).map((r) => String(Object.values(r)[0]));
    },
    async lockTable(table) {
      const locker = await createConnection({ host: HOST, port: PORT, user: USER, password: PASSWORD, database: name });
      await locker.query(`LOCK TABLES ${table} WRITE`);
      return {
        query: async <T extends Row = Row>(sql: string, params: unknown[] = []) => (await locker.query(sql, params))[0] as T[],
        release: async () => {
          await locker.query('UNLOCK TABLES').catch(() => undefined);
          await locker.end().catch(() => undefined);
        },
      };
    },
    async waitingOn(prefix) {
      const rows = await query('SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE ?', [name, `${prefix}%`]);
      return rows.length;
    },
    async drop() {
      if (dropped) return;
      dropped = true;
      try {
        await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
        undropped.delete(name);
      } finally {
        await admin.end();
      }
    },
  };
}

/** BIGINT (COUNT, epochs) and NUMERIC (SUM) as numbers, for this test client only. */
export const numericTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === pgTypes.builtins.INT8 || oid === pgTypes.builtins.NUMERIC) return (value: string) => Number(value);
    return pgTypes.getTypeParser(oid, format);
  }) as typeof pgTypes.getTypeParser,
};

function pgClient(database: string): Client {
  return new Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database, types: numericTypes });
}

async function onServer<T>(work: (server: Client) => Promise<T>): Promise<T> {
  const server = pgClient('postgres');
  await server.connect();
  try {
    return await work(server);
  } finally {
    await server.end().catch(() => undefined);
  }
}

export function toDollars(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}

async function createPostgresDatabase(): Promise<TestDatabase> {
  const name = `tcc_t_${randomSuffix(10)}`;
  await onServer(async (server) => {
    if (!swept.has('postgres')) {
      swept.add('postgres');
      const { rows } = await server.query(
        "SELECT datname AS name, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname LIKE 'tcc\\_t\\_%'",
      );
      for (const row of rows) {
        if (orphaned(row.comment)) await server.query(`DROP DATABASE IF EXISTS "${String(row.name)}" WITH (FORCE)`).catch(() => undefined);
      }
    }
    await server.query(`CREATE DATABASE "${name}"`);
    await server.query(`COMMENT ON DATABASE "${name}" IS '${OWNER_TAG}${process.pid}'`);
    undropped.set(name, 'postgres');
  });
  const admin = pgClient(name);
  await admin.connect();
  const url = `postgres://${encodeURIComponent(PG_USER)}@${PG_HOST}:${PG_PORT}/${name}`;
  const query = async <T extends Row = Row>(sql: string, params: unknown[] = []): Promise<T[]> => (await admin.query(toDollars(sql), params)).rows as T[];
  let dropped = false;
  return {
    name,
    engine: 'postgres',
    url,
    query,
    async tables() {
      return (await query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).map((r) => String(r.tablename));
    },
    async lockTable(table) {
      const locker = pgClient(name);
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      return {
        query: async <T extends Row = Row>(sql: string, params: unknown[] = []) => (await locker.query(toDollars(sql), params)).rows as T[],
        release: async () => {
          await locker.query('COMMIT').catch(() => undefined);
          await locker.end().catch(() => undefined);
        },
      };
    },
    async waitingOn(prefix) {
      const rows = await query("SELECT pid FROM pg_stat_activity WHERE datname = ? AND wait_event_type = 'Lock' AND query LIKE ?", [name, `${prefix}%`]);
      return rows.length;
    },
    async drop() {
      if (dropped) return;
      dropped = true;
      await admin.end().catch(() => undefined);
      await onServer((server) => server.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
      undropped.delete(name);
    },
  };
}
