/**
 * The built coordinator (dist/apps/coordinator/main.js) as a child process: spawn with an env,
 * wait until it listens and is ready, kill it by pid (SIGKILL or SIGTERM), start it again.
 * Every child is remembered and SIGKILLed by pid when the test process exits, whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { request } from 'undici';
import { trackChild } from './children';
import { eventually } from './wait';
import { TEST_API_KEYS } from './api-keys';

export const COORDINATOR_MAIN = resolve(__dirname, '../../dist/apps/coordinator/main.js');

export type Env = Record<string, string | undefined>;

/** The environment of a child: ours without any TCC_* leaking in, plus `env`. */
function childEnv(env: Env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TCC_')) out[key] = value;
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}

export function assertBuilt(): void {
  if (!existsSync(COORDINATOR_MAIN)) {
    throw new Error(`${COORDINATOR_MAIN} is missing: run "npm run build" (or "npx nest build coordinator") first`);
  }
}

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when it did not exit on its own within the time allowed and was SIGKILLed. */
  timedOut: boolean;
}

/** Runs main.js with `args` to completion (migrate, or a start expected to fail). */
export function runCoordinatorToExit(args: string[], env: Env, timeoutMs = 30_000): Promise<ExitResult> {
  assertBuilt();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [COORDINATOR_MAIN, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, timedOut });
    });
  });
}

const LISTENING = /listening on (https?:\/\/[A-Za-z0-9.\-[\]:]+)/;

export class CoordinatorProcess {
  private child: ChildProcess | undefined;
  private output = '';
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  url = '';
  /** How many times it has been started. */
  starts = 0;

  constructor(readonly env: Env) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Everything the current and earlier runs printed (stdout and stderr interleaved), for diagnostics. */
  get logs(): string {
    return this.output;
  }

  tail(chars = 4000): string {
    return this.output.slice(-chars);
  }

  /** Spawns the process and resolves once it printed its listening line and /health/ready is 200. */
  async start(timeoutMs = 45_000): Promise<void> {
    if (this.running) throw new Error('coordinator process already running');
    assertBuilt();
    this.starts++;
    const child = spawn(process.execPath, [COORDINATOR_MAIN], {
      // Client authentication on unless a spec says otherwise (TCC_API_KEYS: '' turns it off).
      env: childEnv({ TCC_HTTP_PORT: '0', TCC_GRPC_PORT: '0', TCC_API_KEYS: TEST_API_KEYS, ...this.env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    trackChild(child);
    this.output += `\n----- start #${this.starts} pid ${child.pid} -----\n`;
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
        this.output += `\n----- pid ${child.pid} exited code=${code} signal=${signal} -----\n`;
        resolvePromise({ code, signal });
      });
    });
    try {
      this.url = await eventually(
        () => {
          if (!this.running) throw new Error(`exited during start-up:\n${this.tail()}`);
          return listeningUrl;
        },
        { timeoutMs, intervalMs: 25, what: 'the "listening on" line' },
      );
      // 0.0.0.0 / :: are listen addresses, not ones to call.
      this.url = this.url.replace('//0.0.0.0', '//127.0.0.1').replace('//[::]', '//127.0.0.1');
      await eventually(
        async () => {
          if (!this.running) throw new Error(`exited during start-up:\n${this.tail()}`);
          const res = await request(`${this.url}/health/ready`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
          await res.body.text();
          return res.statusCode === 200;
        },
        { timeoutMs, intervalMs: 100, what: '/health/ready to answer 200' },
      );
    } catch (error) {
      await this.kill('SIGKILL');
      throw new Error(`coordinator did not start: ${(error as Error).message}\n${this.tail()}`);
    }
  }

  /** Sends `signal` to our child by pid and waits for it to exit. */
  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL', timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child;
    if (!child || !this.exited) return { code: null, signal: null };
    if (this.running && child.pid !== undefined) process.kill(child.pid, signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      await this.exited;
      throw new Error(`coordinator pid ${child.pid} did not exit within ${timeoutMs} ms of ${signal}`);
    }
    return result;
  }

  /** Kills it (SIGKILL unless told) and starts it again with the same env. */
  async restart(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    await this.kill(signal);
    await this.start();
  }

  /** Cleanup for afterAll: never throws. */
  async stop(): Promise<void> {
    try {
      await this.kill('SIGKILL');
    } catch {
      // kill() already escalated to SIGKILL
    }
  }
}
