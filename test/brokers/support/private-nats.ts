/**
 * A private nats-server with JetStream of one spec's own: `nats-server -js -p <port> -sd <tmpdir>`
 * on loopback, its streams in file storage under a temp directory, so a restart (after a clean stop
 * or a SIGKILL) finds every acknowledged message again. Stopped only by its pid. Starting takes well
 * under a second.
 */
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { PrivateDatabaseServer } from '../../replicas/support/server-process';
import { assertFree } from './broker-ports';

const NATS_SERVER = process.env.TCC_TEST_NATS_SERVER ?? '/usr/sbin/nats-server';
const START_TIMEOUT_MS = 30_000;

export class PrivateNats extends PrivateDatabaseServer {
  readonly startTimes: number[] = [];

  private constructor(dir: string, port: number) {
    super(dir, port, { engine: 'nats', binary: 'nats-server' });
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async create(port: number): Promise<PrivateNats> {
    await assertFree(port, 'private nats-server');
    return PrivateDatabaseServer.inTempDir('tcc-nats-', async (dir) => {
      const server = new PrivateNats(dir, port);
      await server.start();
      return server;
    });
  }

  /** Starts the server (again, after a stop: same port and storage) and waits until JetStream answers. */
  async start(): Promise<void> {
    const started = Date.now();
    await this.server.start(
      NATS_SERVER,
      ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', join(this.dir, 'jetstream'), '--server_name', `tcc-test-${this.port}`],
      { cwd: this.dir },
      () => this.jetStreamAnswers(),
      START_TIMEOUT_MS,
    );
    this.startTimes.push(Date.now() - started);
  }

  private async jetStreamAnswers(): Promise<boolean> {
    try {
      const nc = await connect({ servers: `127.0.0.1:${this.port}`, reconnect: false, timeout: 1_000 });
      try {
        await (await jetstreamManager(nc, { timeout: 1_000 })).getAccountInfo();
        return true;
      } finally {
        await nc.close();
      }
    } catch {
      return false;
    }
  }
}
