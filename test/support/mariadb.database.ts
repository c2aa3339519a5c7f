/**
 * A fresh MariaDB database per spec file (`tcc_t_<random>`), created as root on the machine's
 * server and dropped at the end, so specs never see each other's rows.
 */
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { randomSuffix } from './wait';

const HOST = process.env.TCC_TEST_MYSQL_HOST ?? '127.0.0.1';
const PORT = Number(process.env.TCC_TEST_MYSQL_PORT ?? 3306);
const USER = process.env.TCC_TEST_MYSQL_USER ?? 'root';
const PASSWORD = process.env.TCC_TEST_MYSQL_PASSWORD ?? '';

export interface TestDatabase {
  readonly name: string;
  /** `mysql://...` URL for TCC_DB_URL. */
  readonly url: string;
  /** Runs SQL against the test database (for assertions that look under the API). */
  query<T extends RowDataPacket = RowDataPacket>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Drops the database and closes the admin connection; safe to call twice. */
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `tcc_t_${randomSuffix(10)}`;
  const admin: Connection = await createConnection({ host: HOST, port: PORT, user: USER, password: PASSWORD });
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } catch (error) {
    await admin.end();
    throw error;
  }
  let dropped = false;
  const credentials = PASSWORD ? `${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}` : encodeURIComponent(USER);
  return {
    name,
    url: `mysql://${credentials}@${HOST}:${PORT}/${name}`,
    async query<T extends RowDataPacket = RowDataPacket>(sql: string, params: unknown[] = []): Promise<T[]> {
      await admin.query(`USE \`${name}\``);
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
