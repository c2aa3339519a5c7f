/**
 * One server process a spec starts for itself (mariadbd, postgres, redis-server): spawned with the
 * tail of its output kept, tracked so it is SIGKILLed if the test process exits, and stopped only
 * by its own pid. The private servers (private-mariadb.ts, private-postgres.ts, private-redis.ts)
 * differ only in how they initialise, start and probe theirs.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../../support/wait';
import { trackChild } from '../../support/children';

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export class ServerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<Exit> | undefined;
  private output = '';

  constructor(
    /** What the errors call it, e.g. `private postgres on 40123`. */
    private readonly name: string,
    private readonly outputMax = 50_000,
  ) {}

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The tail of the server's own output. */
  get logs(): string {
    return this.output;
  }

  /** Spawns the server and polls `ready` until it answers true; fails at once if the server exits. */
  async start(command: string, args: string[], options: SpawnOptions, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    if (this.running) throw new Error(`${this.name} already running`);
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    trackChild(child);
    const append = (d: Buffer): void => {
      this.output = (this.output + d.toString()).slice(-this.outputMax);
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    child.once('error', (error) => append(Buffer.from(`spawn error: ${error.message}\n`)));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    // An exit ends the wait at once (thrown inside the probe, eventually would only remember it).
    await eventually(async () => !this.running || (await ready()), { timeoutMs, intervalMs: 50, what: `${this.name} to accept connections` });
    if (!this.running) throw new Error(`${this.name} exited during start-up:\n${this.output.slice(-4000)}`);
  }

  /**
   * Sends `signal` to the server's pid and waits until it has exited; past `timeoutMs` it is
   * SIGKILLed, and `forced` says so.
   */
  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<Exit & { forced: boolean }> {
    const child = this.child;
    if (!child || !this.exited) return { code: null, signal: null, forced: false };
    if (this.running && child.pid !== undefined) process.kill(child.pid, signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const result = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (result !== 'late') return { ...result, forced: false };
    if (child.pid !== undefined && this.running) process.kill(child.pid, 'SIGKILL');
    return { ...(await this.exited), forced: true };
  }
}

/** What every private server shows of its process: whether it runs, its pid, its output. */
export abstract class PrivateServer {
  protected constructor(protected readonly server: ServerProcess) {}

  get running(): boolean {
    return this.server.running;
  }

  get pid(): number | undefined {
    return this.server.pid;
  }

  /** The tail of the server's own output. */
  get logs(): string {
    return this.server.logs;
  }
}

/**
 * What the private database servers (private-mariadb.ts, private-postgres.ts) share besides: a data
 * directory in a temp folder, a stop by pid that fails loudly when the server outlives it, and a
 * dispose that removes the directory.
 */
export abstract class PrivateDatabaseServer extends PrivateServer {
  protected constructor(
    readonly dir: string,
    readonly port: number,
    /** The engine and the server's binary, as the errors name them (mariadb and mariadbd). */
    private readonly names: { engine: string; binary: string },
    /** What a clean stop ('SIGTERM') sends to this server. */
    private readonly cleanStop: NodeJS.Signals = 'SIGTERM',
  ) {
    super(new ServerProcess(`private ${names.engine} on ${port}`));
  }

  /** Runs `init` with a fresh temp directory, and removes the directory again if `init` fails. */
  protected static async inTempDir<T>(prefix: string, init: (dir: string) => Promise<T>): Promise<T> {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    try {
      return await init(dir);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /**
   * Stops the server by pid and waits until the process has exited. A SIGKILL is a crash of the
   * whole server: the processes it forked (PostgreSQL's backends, which would otherwise go on
   * serving their open connections until they notice the postmaster is gone) are SIGKILLed by pid
   * with it.
   */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', timeoutMs = 60_000): Promise<Exit> {
    const sent: NodeJS.Signals = signal === 'SIGTERM' ? this.cleanStop : signal;
    const children = signal === 'SIGKILL' && this.pid !== undefined ? childPids(this.pid) : [];
    if (children.length > 0) process.kill(this.pid as number, 'SIGKILL');
    for (const pid of children) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const { forced, ...exit } = await this.server.stop(sent, timeoutMs);
    if (forced) throw new Error(`${this.names.binary} pid ${this.pid} did not exit within ${timeoutMs} ms of ${sent}`);
    return exit;
  }

  /** Cleanup for afterAll: kills the server by pid and removes the directory; never throws. */
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

/** Runs a set-up command to its end (initdb, mariadb-install-db): its exit code and output. */
export function runToExit(command: string, args: string[], options: SpawnOptions = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** Pids of the processes whose parent is `pid` (Linux /proc). */
function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after its ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return children;
}
