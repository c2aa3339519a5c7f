/**
 * A fresh MariaDB database per spec file (`tcc_t_<random>`), created as root on the machine's
 * server and dropped at the end, so specs never see each other's rows. A database left behind by
 * a test process that died before its afterAll is dropped by the next one (see sweepOrphans).
 */
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
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

/** Written into the database comment (MariaDB >= 10.5) so a later run knows whose it was. */
const OWNER_TAG = `tcc-test host=${hostname()} pid=`;
const OWNER_PATTERN = /^tcc-test host=(\S+) pid=(\d+)$/;

const undropped = new Set<string>();
// Last resort when the process exits without running afterAll (a process.exit in a test run):
// a synchronous drop through the mysql client, if there is one. Failure is ignored: the next run
// sweeps the database anyway.
process.once('exit', () => {
  if (!undropped.size) return;
  const sql = [...undropped].map((n) => `DROP DATABASE IF EXISTS \`${n}\`;`).join(' ');
  const args = ['-h', HOST, '-P', String(PORT), '-u', USER, '-e', sql];
  if (PASSWORD) args.push(`-p${PASSWORD}`);
  try {
    spawnSync('mysql', args, { timeout: 5_000, stdio: 'ignore' });
  } catch {
    // best effort
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

let swept = false;
/** Drops tcc_t_* databases created on this host by test processes that are no longer running. */
async function sweepOrphans(admin: Connection): Promise<void> {
  if (swept) return;
  swept = true;
  const [rows] = await admin.query<RowDataPacket[]>(
    "SELECT SCHEMA_NAME AS name, SCHEMA_COMMENT AS comment FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'tcc\\_t\\_%'",
  ).catch(() => [[] as RowDataPacket[]] as const);
  for (const row of rows) {
    const owner = OWNER_PATTERN.exec(String(row.comment ?? ''));
    if (!owner || owner[1] !== hostname() || alive(Number(owner[2]))) continue;
    await admin.query(`DROP DATABASE IF EXISTS \`${String(row.name)}\``).catch(() => undefined);
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `tcc_t_${randomSuffix(10)}`;
  const admin: Connection = await createConnection({ host: HOST, port: PORT, user: USER, password: PASSWORD });
  try {
    await sweepOrphans(admin);
    const create = `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`;
    // MySQL has no database comments; MariaDB (what we run on) does.
    await admin.query(`${create} COMMENT '${OWNER_TAG}${process.pid}'`).catch(() => admin.query(create));
    undropped.add(name);
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
        undropped.delete(name);
      } finally {
        await admin.end();
      }
    },
  };
}
