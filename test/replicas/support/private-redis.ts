/**
 * A Redis server of one spec's own (redis-server on a free port, no persistence), so a spec can
 * stop and start Redis without touching the machine's shared instance. Stopped only by its pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './ports';
import { trackChild as track } from './children';
import { eventually } from '../../support/wait';

export class PrivateRedis {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private output = '';

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.startAgain();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
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

  /** Starts redis-server on the same port again (after `stop`) and waits until it answers PING. */
  async startAgain(): Promise<void> {
    if (this.running) throw new Error('private redis already running');
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-20_000)));
    child.stderr!.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-20_000)));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    track(child);
    await eventually(() => (this.running ? ping(this.port) : Promise.reject(new Error(`redis-server exited:\n${this.output}`))), {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: `private redis on ${this.port} to answer PING`,
    });
  }

  /** SIGTERM (or SIGKILL) by pid, and waits until the process is gone. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    if (!this.child || !this.running || this.child.pid === undefined) return;
    process.kill(this.child.pid, signal);
    const timer = setTimeout(() => this.child?.pid !== undefined && this.running && process.kill(this.child.pid, 'SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Cleanup for afterAll: never throws. */
  async dispose(): Promise<void> {
    await this.stop('SIGKILL').catch(() => undefined);
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    socket.setTimeout(1_000, () => socket.destroy());
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(data.includes('PONG')));
    socket.on('data', (d: Buffer) => {
      data += d.toString();
      if (data.includes('PONG')) socket.end();
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}
