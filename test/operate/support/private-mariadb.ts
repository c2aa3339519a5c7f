/**
 * A MariaDB server of the test's own (mariadb-install-db into a temp datadir, mariadbd on a free
 * port), so a spec can stop and start a database without touching the machine's shared one. It
 * only ever signals the pid it spawned; `destroy()` kills it and removes the directory.
 *
 * If the test process dies without cleaning up (jest aborted by a process.exit, a SIGKILL), a
 * small watchdog process started with each server kills that server by pid and removes the
 * directory: an exit hook alone is not enough, jest does not run the sandbox's 'exit' listeners.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { eventually } from '../../support/wait';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

function which(...candidates: string[]): string | undefined {
  for (const c of candidates) {
    if (c.startsWith('/') && existsSync(c)) return c;
    const found = spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' }).stdout.trim();
    if (found) return found;
  }
  return undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export class PrivateMariaDb {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly server: string,
  ) {}

  /** Installs a fresh datadir (root@127.0.0.1 without password) and starts the server. */
  static async create(): Promise<PrivateMariaDb> {
    const install = which('mariadb-install-db', 'mysql_install_db');
    const server = which('mariadbd', '/usr/sbin/mariadbd', 'mysqld', '/usr/sbin/mysqld');
    if (!install || !server) throw new Error('mariadb-install-db and mariadbd are needed (Debian: apt-get install mariadb-server)');
    const dir = mkdtempSync(join(tmpdir(), 'tcc-private-mariadb-'));
    try {
      const result = spawnSync(
        install,
        ['--no-defaults', `--datadir=${join(dir, 'data')}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--user=root', '--innodb-log-file-size=16M'],
        { encoding: 'utf8', timeout: 60_000 },
      );
      if (result.status !== 0) throw new Error(`${install} failed (${result.status}): ${result.stderr || result.stdout}`);
      const db = new PrivateMariaDb(dir, await freePort(), server);
      await db.start();
      return db;
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  url(database: string): string {
    return `mysql://root@127.0.0.1:${this.port}/${database}`;
  }

  /** The server's error log, for diagnostics. */
  log(): string {
    const file = join(this.dir, 'error.log');
    return existsSync(file) ? readFileSync(file, 'utf8').slice(-4000) : '';
  }

  /** Starts mariadbd on the same datadir and port and waits until it accepts a root login. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.running) throw new Error('private MariaDB already running');
    const child = spawn(
      this.server,
      [
        '--no-defaults',
        `--datadir=${join(this.dir, 'data')}`,
        `--port=${this.port}`,
        `--socket=${join(this.dir, 'mysqld.sock')}`,
        `--pid-file=${join(this.dir, 'mysqld.pid')}`,
        `--log-error=${join(this.dir, 'error.log')}`,
        '--bind-address=127.0.0.1',
        '--user=root',
        '--skip-name-resolve',
        '--skip-log-bin',
        '--innodb-buffer-pool-size=32M',
        '--innodb-log-file-size=16M',
        '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_bin',
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    live.add(child);
    if (child.pid !== undefined) this.watch(child.pid);
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        live.delete(child);
        resolve();
      });
    });
    await eventually(
      async () => {
        if (!this.running) throw new Error(`mariadbd exited during start:\n${this.log()}`);
        const conn = await createConnection({ host: '127.0.0.1', port: this.port, user: 'root', password: '', connectTimeout: 1_000 });
        await conn.end();
        return true;
      },
      { timeoutMs, intervalMs: 100, what: `private MariaDB on port ${this.port} to accept connections` },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${this.log()}`);
    });
  }

  /**
   * Starts a detached watchdog: every 500 ms it checks that this test process is alive; once it
   * is not, it SIGKILLs `serverPid` and removes the directory. It exits by itself as soon as the
   * server is gone, so a stop/start cycle leaves no watchdog behind.
   */
  private watch(serverPid: number): void {
    const script = `
      const [parent, server, dir] = [Number(process.argv[1]), Number(process.argv[2]), process.argv[3]];
      const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
      setInterval(() => {
        if (!alive(server)) process.exit(0);
        if (!alive(parent)) {
          try { process.kill(server, 'SIGKILL'); } catch {}
          setTimeout(() => { require('node:fs').rmSync(dir, { recursive: true, force: true }); process.exit(0); }, 500);
        }
      }, 500);`;
    const watchdog = spawn(process.execPath, ['-e', script, String(process.pid), String(serverPid), this.dir], { detached: true, stdio: 'ignore' });
    watchdog.unref();
  }

  async query(sql: string): Promise<void> {
    await this.select(sql);
  }

  async select<T>(sql: string): Promise<T[]> {
    const conn = await createConnection({ host: '127.0.0.1', port: this.port, user: 'root', password: '' });
    try {
      const [rows] = await conn.query(sql);
      return rows as T[];
    } finally {
      await conn.end();
    }
  }

  /** Sends `signal` to the server we spawned, by pid, and waits for it to exit. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', timeoutMs = 30_000): Promise<void> {
    const child = this.child;
    if (!child || !this.exited) return;
    if (this.running && child.pid !== undefined) process.kill(child.pid, signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([this.exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs)))]);
    clearTimeout(timer);
    if (timedOut) {
      if (child.pid !== undefined && this.running) process.kill(child.pid, 'SIGKILL');
      await this.exited;
      throw new Error(`mariadbd pid ${child.pid} did not exit within ${timeoutMs} ms of ${signal}`);
    }
  }

  /** Cleanup for afterAll: kills the server if it runs and removes the directory; never throws. */
  async destroy(): Promise<void> {
    try {
      await this.stop('SIGKILL', 10_000);
    } catch {
      // stop() already escalated
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
