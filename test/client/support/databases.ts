/**
 * Fresh databases for one spec file (`client_test_<label>_<random>`), created on the machine's
 * MariaDB (as root) or PostgreSQL (as postgres) and dropped at the end. `query` takes `?`
 * placeholders on both. TCC_TEST_DB_PREFIX replaces `client_test_`, so runs of several work trees
 * on one machine name their databases apart.
 */
import { createConnection, type Connection } from 'mysql2/promise';
import { Client } from 'pg';
import { TEST_SERVERS } from '../../support/test.database';

const { host: HOST, port: PORT, user: USER, password: PASSWORD } = TEST_SERVERS.mariadb;
const { host: PG_HOST, port: PG_PORT, user: PG_USER } = TEST_SERVERS.postgres;

export type Engine = 'mariadb' | 'postgres';
export type Row = { [column: string]: unknown };

export function randomId(length = 10): string {
  let out = '';
  while (out.length < length) out += Math.random().toString(36).slice(2);
  return out.slice(0, length);
}

export interface TestDatabase {
  name: string;
  engine: Engine;
  url: string;
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

const PREFIX = process.env.TCC_TEST_DB_PREFIX ?? 'client_test_';

export function createDatabase(label: string, engine: Engine = 'mariadb'): Promise<TestDatabase> {
  return engine === 'postgres' ? createPostgresDatabase(label) : createMariaDatabase(label);
}

async function createMariaDatabase(label: string): Promise<TestDatabase> {
  const name = `${PREFIX}${label}_${randomId(8)}`;
  const admin: Connection = await createConnection({ host: HOST, port: PORT, user: USER, password: PASSWORD, database: undefined });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.query(`USE \`${name}\``);
  let dropped = false;
  const credentials = PASSWORD ? `${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}` : encodeURIComponent(USER);
  return {
    name,
    engine: 'mariadb',
    url: `mysql://${credentials}@${HOST}:${PORT}/${name}`,
    async query<T extends Row = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
      const [rows] = await admin.query(sql, params);
      return rows as T[];
    },
    async drop(): Promise<void> {
      if (dropped) return;
      dropped = true;
      try {
        await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await admin.end();
      }
    },
  };
}

async function createPostgresDatabase(label: string): Promise<TestDatabase> {
  const name = `${PREFIX}${label}_${randomId(8)}`;
  const server = new Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres' });
  await server.connect();
  try {
    await server.query(`CREATE DATABASE "${name}"`);
  } finally {
    await server.end();
  }
  const admin = new Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: name });
  await admin.connect();
  let dropped = false;
  return {
    name,
    engine: 'postgres',
    url: `postgres://${encodeURIComponent(PG_USER)}@${PG_HOST}:${PG_PORT}/${name}`,
    async query<T extends Row = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
      let index = 0;
      const result = await admin.query(sql.replace(/\?/g, () => `$${++index}`), params);
      return result.rows as T[];
    },
    async drop(): Promise<void> {
      if (dropped) return;
      dropped = true;
      await admin.end().catch(() => undefined);
      const closer = new Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres' });
      await closer.connect();
      try {
        await closer.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await closer.end();
      }
    },
  };
}
