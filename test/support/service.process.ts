/**
 * A built example service (dist/apps/account-service/main.js or dist/apps/order-service/main.js)
 * as a child process, the way coordinator.process.ts runs the coordinator: spawn with an env, wait
 * until it prints its "listening on" line and /health/ready answers 200, kill it by pid (SIGKILL or
 * SIGTERM), start it again with the same env. Give it a fixed port (ACCOUNT_HTTP_PORT,
 * ORDER_HTTP_PORT) when it is restarted: the coordinator calls it back at the address it
 * registered. Every child is SIGKILLed by pid when the test process exits, whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { request } from 'undici';
import { trackChild } from './children';
import { eventually } from './wait';

export type ServiceName = 'account-service' | 'order-service';
export type Env = Record<string, string | undefined>;

export const serviceMain = (name: ServiceName): string => resolve(__dirname, `../../dist/apps/${name}/main.js`);

/** The settings a service reads: none of them inherited from the shell running the tests. */
const READ_BY_SERVICES = ['ACCOUNT_', 'ORDER_', 'TCC_'];

function childEnv(env: Env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!READ_BY_SERVICES.some((prefix) => key.startsWith(prefix))) out[key] = value;
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}

const LISTENING = /listening on (https?:\/\/[A-Za-z0-9.\-[\]:]+)/;

export class ServiceProcess {
  private child: ChildProcess | undefined;
  private output = '';
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  url = '';
  /** How many times it has been started. */
  starts = 0;
  /** pid of every process it has been, oldest first. */
  readonly pids: number[] = [];

  constructor(
    readonly name: ServiceName,
    readonly env: Env,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Everything every run printed (stdout and stderr interleaved), for diagnostics. */
  get logs(): string {
    return this.output;
  }

  tail(chars = 4000): string {
    return this.output.slice(-chars);
  }

  /** Spawns main.js and resolves once it printed its listening line and /health/ready is 200. */
  async start(timeoutMs = 45_000): Promise<void> {
    if (this.running) throw new Error(`${this.name} already running`);
    const main = serviceMain(this.name);
    if (!existsSync(main)) throw new Error(`${main} is missing: run "npm run build" first`);
    this.starts++;
    const child = spawn(process.execPath, [main], { env: childEnv(this.env), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    trackChild(child);
    if (child.pid !== undefined) this.pids.push(child.pid);
    this.output += `\n----- ${this.name} start #${this.starts} pid ${child.pid} -----\n`;
    let listeningUrl: string | undefined;
    const onData = (d: Buffer): void => {
      const text = d.toString();
      this.output += text;
      if (this.output.length > 2_000_000) this.output = this.output.slice(-1_000_000);
      const match = LISTENING.exec(text);
      if (match && !listeningUrl) listeningUrl = match[1];
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.exited = new Promise((resolvePromise) => {
      child.once('exit', (code, signal) => {
        this.output += `\n----- ${this.name} pid ${child.pid} exited code=${code} signal=${signal} -----\n`;
        resolvePromise({ code, signal });
      });
    });
    try {
      const listening = await eventually(
        () => {
          if (!this.running) throw new Error(`exited during start-up:\n${this.tail()}`);
          return listeningUrl;
        },
        { timeoutMs, intervalMs: 25, what: `the "listening on" line of ${this.name}` },
      );
      this.url = listening.replace('//0.0.0.0', '//127.0.0.1').replace('//[::]', '//127.0.0.1');
      await eventually(
        async () => {
          if (!this.running) throw new Error(`exited during start-up:\n${this.tail()}`);
          const res = await request(`${this.url}/health/ready`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
          await res.body.dump();
          return res.statusCode === 200;
        },
        { timeoutMs, intervalMs: 100, what: `/health/ready of ${this.name} to answer 200` },
      );
    } catch (error) {
      await this.kill('SIGKILL').catch(() => undefined);
      throw new Error(`${this.name} did not start: ${(error as Error).message}\n${this.tail()}`);
    }
  }

  /** Sends `signal` to our child by pid and waits for it to exit (SIGKILL past `timeoutMs`). */
  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL', timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child;
    if (!child || !this.exited) return { code: null, signal: null };
    if (this.running && child.pid !== undefined) process.kill(child.pid, signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      if (child.pid !== undefined && this.running) process.kill(child.pid, 'SIGKILL');
      await this.exited;
      throw new Error(`${this.name} pid ${child.pid} did not exit within ${timeoutMs} ms of ${signal}`);
    }
    return result;
  }

  /** Kills it (SIGKILL unless told) and starts it again with the same env. */
  async restart(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    await this.kill(signal);
    await this.start();
  }

  /** Cleanup for afterAll: SIGKILL by pid; never throws. */
  async stop(): Promise<void> {
    try {
      await this.kill('SIGKILL');
    } catch {
      // kill() already escalated to SIGKILL
    }
  }
}
