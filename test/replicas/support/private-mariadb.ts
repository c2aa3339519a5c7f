/**
 * A MariaDB server of one spec's own: a fresh datadir (mariadb-install-db) and a mariadbd on a
 * free port, so a spec can stop the database and start it again on the same port and datadir
 * without touching the machine's shared server. Stopped only by its pid; `dispose` removes the
 * datadir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { eventually } from '../../support/wait';
import { trackChild } from './children';
import { freePort } from './ports';

export class PrivateMariaDb {
  private child: ChildProcess | undefined;
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  private output = '';

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  /** Initialises a datadir in a temp directory and starts the server on a free port. */
  static async start(): Promise<PrivateMariaDb> {
    const dir = mkdtempSync(join(tmpdir(), 'tcc-mariadb-'));
    try {
      const install = await run('mariadb-install-db', [
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
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get logs(): string {
    return this.output;
  }

  /** `mysql://root@127.0.0.1:<port>/<database>` for TCC_DB_URL. */
  url(database: string): string {
    return `mysql://root@127.0.0.1:${this.port}/${database}`;
  }

  /** Starts mariadbd on the same port and datadir and waits until it accepts a connection. */
  async startAgain(timeoutMs = 60_000): Promise<void> {
    if (this.running) throw new Error('private mariadb already running');
    const child = spawn(
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
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    trackChild(child);
    const append = (d: Buffer): void => {
      this.output = (this.output + d.toString()).slice(-50_000);
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await eventually(
      async () => {
        if (!this.running) throw new Error(`mariadbd exited during start-up:\n${this.output.slice(-4000)}`);
        await this.query('SELECT 1');
        return true;
      },
      { timeoutMs, intervalMs: 100, what: `private mariadb on ${this.port} to accept connections` },
    );
  }

  /** Stops the server by pid (SIGTERM: a clean shutdown) and waits until the process has exited. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', timeoutMs = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child;
    if (!child || !this.exited) return { code: null, signal: null };
    if (this.running && child.pid !== undefined) process.kill(child.pid, signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const result = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (result === 'late') {
      if (child.pid !== undefined && this.running) process.kill(child.pid, 'SIGKILL');
      await this.exited;
      throw new Error(`mariadbd pid ${child.pid} did not exit within ${timeoutMs} ms of ${signal}`);
    }
    return result;
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

  /** Cleanup for afterAll: kills the server by pid and removes the datadir; never throws. */
  async dispose(): Promise<void> {
    try {
      await this.stop('SIGKILL', 15_000);
    } catch {
      // SIGKILL already sent
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}
