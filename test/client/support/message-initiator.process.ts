/**
 * test/client/support/message-initiator.app.ts as a child process: run from source through
 * test/support/swc-register.js, on a fixed port (so the queryPrepared URL the coordinator stored
 * reaches it again after a restart), its JSON event lines collected. Started again with the same
 * environment after it died; SIGKILLed by pid at the end (and by test/support/children.ts when the
 * test process exits).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { Agent, request } from 'undici';
import { trackChild } from '../../support/children';
import { eventually } from '../../support/wait';

const REGISTER = resolve(__dirname, '../../support/swc-register.js');
const APP = resolve(__dirname, 'message-initiator.app.ts');

export interface InitiatorEvent {
  event: 'ready' | 'dying' | 'query-prepared';
  /** The pid of the process that printed it. */
  pid: number;
  gid?: string;
  at?: 'before-commit' | 'after-commit';
  arrivedAt?: number;
  answeredAt?: number;
  statusCode?: number;
  answer?: unknown;
}

export interface SendRequest {
  gid: string;
  targets: string[];
  timeoutMs?: number;
  killAt?: 'before-commit' | 'after-commit';
}

/** A port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolvePromise());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
  return port;
}

export class InitiatorProcess {
  readonly events: InitiatorEvent[] = [];
  private child: ChildProcess | undefined;
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  private output = '';
  private pending = '';

  constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** What every run printed, for failure messages. */
  tail(chars = 4_000): string {
    return this.output.slice(-chars);
  }

  eventsOf(gid: string, event: InitiatorEvent['event']): InitiatorEvent[] {
    return this.events.filter((e) => e.gid === gid && e.event === event);
  }

  /** Spawns it and resolves once this run printed its `ready` line. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.running) throw new Error('message initiator already running');
    const child = spawn(process.execPath, ['-r', REGISTER, APP], {
      env: { ...process.env, ...this.env, INITIATOR_PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    trackChild(child);
    this.output += `\n----- message initiator pid ${child.pid} -----\n`;
    this.pending = '';
    child.stdout!.on('data', (data: Buffer) => this.onStdout(data.toString()));
    child.stderr!.on('data', (data: Buffer) => (this.output += data.toString()));
    this.exit = new Promise((resolvePromise) =>
      child.once('exit', (code, signal) => {
        this.output += `\n----- pid ${child.pid} exited code=${code} signal=${signal} -----\n`;
        resolvePromise({ code, signal });
      }),
    );
    const pid = child.pid;
    try {
      await eventually(
        () => {
          if (!this.running) throw new Error('exited during start-up');
          return this.events.some((e) => e.event === 'ready' && e.pid === pid);
        },
        { timeoutMs, intervalMs: 25, what: `the message initiator (pid ${pid}) to print its ready line` },
      );
    } catch (error) {
      await this.stop();
      throw new Error(`${(error as Error).message}\n${this.tail()}`);
    }
  }

  /** Resolves with how the current run ended (it is expected to end by itself). */
  async exited(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exit) throw new Error('message initiator never started');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`message initiator pid ${this.pid} still running after ${timeoutMs} ms\n${this.tail()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * POST /send on a connection of its own. Answers the status and body, or the error when no
   * answer came (the process died on the way).
   */
  async send(body: SendRequest): Promise<{ statusCode: number; body: unknown } | { error: Error }> {
    const agent = new Agent({ connections: 1, pipelining: 0 });
    try {
      const res = await request(`${this.url}/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        dispatcher: agent,
        headersTimeout: 20_000,
        bodyTimeout: 20_000,
      });
      const text = await res.body.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { statusCode: res.statusCode, body: parsed };
    } catch (error) {
      return { error: error as Error };
    } finally {
      await agent.destroy().catch(() => undefined);
    }
  }

  /** SIGKILLs the current run by pid, if it still runs, and waits for it. Never throws. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.exit) return;
    if (this.running && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await this.exit;
  }

  private onStdout(text: string): void {
    this.output += text;
    this.pending += text;
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        const event = JSON.parse(line) as InitiatorEvent;
        if (typeof event.event === 'string') this.events.push(event);
      } catch {
        // a log line, not an event
      }
    }
  }
}
