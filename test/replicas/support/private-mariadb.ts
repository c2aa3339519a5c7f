/**
 * A MariaDB server of one spec's own: a fresh datadir (mariadb-install-db) and a mariadbd on a
 * free port, so a spec can stop the database and start it again on the same port and datadir
 * without touching the machine's shared server. Stopped only by its pid; `dispose` removes the
 * datadir.
 */
import { join } from 'node:path';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { freePort } from './ports';
import { PrivateDatabaseServer, runToExit } from './server-process';

export class PrivateMariaDb extends PrivateDatabaseServer {
  private constructor(dir: string, port: number) {
    super(dir, port, { engine: 'mariadb', binary: 'mariadbd' });
  }

  /** Initialises a datadir in a temp directory and starts the server on a free port. */
  static start(): Promise<PrivateMariaDb> {
    return PrivateDatabaseServer.inTempDir('tcc-mariadb-', async (dir) => {
      const install = await runToExit('mariadb-install-db', [
        '--no-defaults',
        `--datadir=${join(dir, 'data')}`,
        '--auth-root-authentication-method=normal',
        '--user=root',
        '--skip-test-db',
      ]);
      if (install.code !== 0) throw new Error(`mariadb-install-db failed (${install.code}):\n${install.output.slice(-4000)}`);
      const db = new PrivateMariaDb(dir, await freePort());
      await db.startAgain();
      return db;
    });
  }

  /** `mysql://root@127.0.0.1:<port>/<database>` for TCC_DB_URL. */
  url(database: string): string {
    return `mysql://root@127.0.0.1:${this.port}/${database}`;
  }

  /** Starts mariadbd on the same port and datadir and waits until it accepts a connection. */
  startAgain(timeoutMs = 60_000): Promise<void> {
    return this.server.start(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${join(this.dir, 'data')}`,
        `--port=${this.port}`,
        `--socket=${join(this.dir, 'mariadb.sock')}`,
        `--pid-file=${join(this.dir, 'mariadb.pid')}`,
        '--bind-address=127.0.0.1',
        '--user=root',
        '--skip-name-resolve',
        '--skip-log-bin',
        '--innodb-buffer-pool-size=64M',
        '--max-connections=500',
      ],
      {},
      async () => (await this.query('SELECT 1')).length === 1,
      timeoutMs,
    );
  }

  /** One statement on a fresh connection (so it works across a restart), as root. */
  async query<T extends RowDataPacket = RowDataPacket>(sql: string, params: unknown[] = [], database?: string): Promise<T[]> {
    const connection = await createConnection({ host: '127.0.0.1', port: this.port, user: 'root', database, connectTimeout: 3_000 });
    try {
      const [rows] = await connection.query<T[]>(sql, params);
      return rows;
    } finally {
      await connection.end().catch(() => undefined);
    }
  }
}
