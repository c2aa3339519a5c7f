/**
 * Fresh MariaDB databases for one spec file (`client_test_<random>`), created as root on the
 * machine's server and dropped at the end.
 */
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';

const HOST = process.env.TCC_TEST_MYSQL_HOST ?? '127.0.0.1';
const PORT = Number(process.env.TCC_TEST_MYSQL_PORT ?? 3306);
const USER = process.env.TCC_TEST_MYSQL_USER ?? 'root';
const PASSWORD = process.env.TCC_TEST_MYSQL_PASSWORD ?? '';

export function randomId(length = 10): string {
  let out = '';
  while (out.length < length) out += Math.random().toString(36).slice(2);
  return out.slice(0, length);
}

export interface TestDatabase {
  name: string;
  url: string;
  query<T extends RowDataPacket = RowDataPacket>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export async function createDatabase(label: string): Promise<TestDatabase> {
  const name = `client_test_${label}_${randomId(8)}`;
  const admin: Connection = await createConnection({ host: HOST, port: PORT, user: USER, password: PASSWORD, database: undefined });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.query(`USE \`${name}\``);
  let dropped = false;
  const credentials = PASSWORD ? `${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}` : encodeURIComponent(USER);
  return {
    name,
    url: `mysql://${credentials}@${HOST}:${PORT}/${name}`,
    async query<T extends RowDataPacket = RowDataPacket>(sql: string, params: unknown[] = []): Promise<T[]> {
      const [rows] = await admin.query<T[]>(sql, params);
      return rows;
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
