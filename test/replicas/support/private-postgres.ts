/**
 * A PostgreSQL server of one spec's own: a fresh data directory (initdb) and a `postgres` on a
 * free port, so a spec can stop the database and start it again on the same port and data
 * directory without touching the machine's shared server. The `postgres` binary is spawned
 * directly (not through pg_ctl), so the child's pid is the server's (postmaster's) pid and it is
 * stopped only by that pid; `dispose` removes the directory.
 *
 * initdb and postgres refuse to run as root: when the test process is root they run as the
 * `postgres` system user (spawn's uid/gid), and the temp directory is handed to that user.
 *
 * `query` takes `?` placeholders (rewritten to $n) and answers plain rows, BIGINT and NUMERIC as
 * numbers, the same as PrivateMariaDb's.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { numericTypes, toDollars, type Row } from '../../support/test.database';
import { freePort } from './ports';
import { PrivateDatabaseServer, runToExit } from './server-process';

/** The directory holding initdb and postgres: pg_config's, else the highest /usr/lib/postgresql/<n>/bin. */
export function postgresBinDir(): string {
  const has = (dir: string): boolean => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (dir && has(dir)) return dir;
  } catch {
    // no pg_config on PATH
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+(\.\d+)?$/.test(v) && has(join(root, v, 'bin')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length > 0) return join(root, versions[0], 'bin');
  throw new Error('no PostgreSQL server binaries found (pg_config --bindir, /usr/lib/postgresql/*/bin)');
}

/** uid/gid to run the server as: ours unless we are root, then the `postgres` system user's. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error('running as root, and there is no `postgres` system user to run initdb and postgres as');
  }
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) chownTree(child, uid, gid);
    else chownSync(child, uid, gid);
  }
}

export class PrivatePostgres extends PrivateDatabaseServer {
  /**
   * A clean stop ('SIGTERM') is sent as SIGINT, PostgreSQL's "fast" shutdown (rolls back open
   * transactions, disconnects clients, checkpoints, exits 0): its own SIGTERM is a "smart" shutdown
   * that waits for every client to disconnect, which pooled coordinators never do. 'SIGKILL' is a crash.
   */
  private constructor(
    dir: string,
    port: number,
    private readonly bin: string,
    private readonly user: { uid: number; gid: number } | undefined,
  ) {
    super(dir, port, { engine: 'postgres', binary: 'postgres' }, 'SIGINT');
  }

  /** Initialises a data directory in a temp directory and starts the server on a free port. */
  static async start(): Promise<PrivatePostgres> {
    const bin = postgresBinDir();
    const user = serverUser();
    return PrivateDatabaseServer.inTempDir('tcc-postgres-', async (dir) => {
      if (user) chownTree(dir, user.uid, user.gid);
      const init = await runToExit(
        join(bin, 'initdb'),
        ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
        { cwd: '/', ...(user ?? {}) },
      );
      if (init.code !== 0) throw new Error(`initdb failed (${init.code}):\n${init.output.slice(-4000)}`);
      const db = new PrivatePostgres(dir, await freePort(), bin, user);
      await db.startAgain();
      return db;
    });
  }

  /** `postgres://postgres@127.0.0.1:<port>/<database>` for TCC_DB_URL. */
  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Starts postgres on the same port and data directory and waits until it accepts a connection. */
  startAgain(timeoutMs = 60_000): Promise<void> {
    const settings = ['listen_addresses=127.0.0.1', 'max_connections=300', 'shared_buffers=64MB', 'fsync=on', 'logging_collector=off'];
    return this.server.start(
      join(this.bin, 'postgres'),
      ['-D', join(this.dir, 'data'), '-p', String(this.port), '-k', this.dir, ...settings.flatMap((setting) => ['-c', setting])],
      { cwd: this.dir, ...(this.user ?? {}) },
      async () => (await this.query('SELECT 1 AS one')).length === 1,
      timeoutMs,
    );
  }

  /** One statement (`?` placeholders) on a fresh connection (so it works across a restart), as postgres. */
  async query<T extends Row = Row>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<T[]> {
    const client = new Client({
      host: '127.0.0.1',
      port: this.port,
      user: 'postgres',
      database,
      connectionTimeoutMillis: 3_000,
      types: numericTypes,
    });
    client.on('error', () => undefined); // a server going away under an idle client is not our error
    await client.connect();
    try {
      return (await client.query(toDollars(sql), params)).rows as T[];
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
