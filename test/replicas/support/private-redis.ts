/**
 * A Redis server of one spec's own (redis-server on a free port, no persistence), so a spec can
 * stop and start Redis without touching the machine's shared instance. Stopped only by its pid.
 */
import { createConnection } from 'node:net';
import { freePort } from './ports';
import { PrivateServer, ServerProcess } from './server-process';

export class PrivateRedis extends PrivateServer {
  private constructor(readonly port: number) {
    super(new ServerProcess(`private redis on ${port}`, 20_000));
  }

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.startAgain();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server on the same port again (after `stop`) and waits until it answers PING. */
  startAgain(): Promise<void> {
    return this.server.start(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {},
      () => ping(this.port),
      10_000,
    );
  }

  /** SIGTERM (or SIGKILL) by pid, and waits until the process is gone (SIGKILLed after 10 s). */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    await this.server.stop(signal, 10_000);
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
