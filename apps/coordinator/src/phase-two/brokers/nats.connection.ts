/**
 * One NATS JetStream broker (docs/contract.md §10): one connection and one JetStream context,
 * opened on the first publish, reused, and opened again by the next publish once closed. A publish
 * is `done` when a stream acknowledges it (a duplicate within the stream's window included).
 *
 * The client's own reconnecting is off: while it reconnects, a publish waits its whole timeout in
 * a buffer, where a fresh connect to a broker that is down fails at once. The phase-two retry is the
 * reconnect.
 */
import type { Logger } from '@nestjs/common';
import type { ParticipantCallResult } from '@tcc/client/caller';
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { BrokerConfig } from '../../config/brokers.parser';
import type { NatsTarget } from './broker-action.parser';
import { errorText, failed, type BrokerConnection } from './broker.connection';
import type { BrokerMessage } from './broker-message';
import type { NatsModules } from './broker.peers';

interface Session {
  nc: NatsConnection;
  js: JetStreamClient;
}

const DEFAULT_PORT = '4222';

/** Connection options of a broker URL: the client reads no credentials from a URL, so they become options here. */
export function natsConnectionOptions(url: string): ConnectionOptions {
  const parsed = new URL(url);
  const user = decodeURIComponent(parsed.username);
  const pass = decodeURIComponent(parsed.password);
  return {
    servers: `${parsed.hostname}:${parsed.port || DEFAULT_PORT}`,
    // `nats://user:password@host`, or `nats://token@host`.
    ...(pass ? { user, pass } : user ? { token: user } : {}),
    ...(parsed.protocol === 'tls:' ? { tls: {} } : {}),
  };
}

export class NatsBrokerConnection implements BrokerConnection<NatsTarget> {
  private current?: Session;
  private opening?: Promise<Session>;
  private closed = false;

  constructor(
    private readonly broker: BrokerConfig,
    private readonly nats: NatsModules,
    private readonly logger: Logger,
  ) {}

  async publish(target: NatsTarget, message: BrokerMessage, timeoutMs: number): Promise<ParticipantCallResult> {
    let session: Session;
    try {
      session = await this.session(timeoutMs);
    } catch (error) {
      return failed(this.broker.name, `cannot connect: ${errorText(error)}`);
    }
    const headers = this.nats.transport.headers();
    for (const [name, value] of Object.entries(message.headers)) headers.set(name, value);
    try {
      await session.js.publish(target.subject, JSON.stringify(message.body), { msgID: message.messageId, headers, timeout: timeoutMs });
      return { outcome: 'done', body: undefined };
    } catch (error) {
      return failed(this.broker.name, this.publishError(error, target, timeoutMs));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const session = this.current ?? (await this.opening?.catch(() => undefined));
    this.current = undefined;
    if (session) await session.nc.close().catch(() => undefined);
  }

  private publishError(error: unknown, target: NatsTarget, timeoutMs: number): string {
    const name = (error as { name?: unknown }).name;
    // The client reads "no responders" to a publish as JetStream being off; far more often no
    // stream captures the subject. Both mean the same here: nothing stored the message.
    if (name === 'JetStreamNotEnabled') return `no stream captures subject "${target.subject}" (503 no responders; or JetStream is not enabled)`;
    if (name === 'TimeoutError') return `not acknowledged within ${timeoutMs} ms`;
    return errorText(error);
  }

  private session(timeoutMs: number): Promise<Session> {
    if (this.closed) return Promise.reject(new Error('the coordinator is shutting down'));
    if (this.current && !this.current.nc.isClosed()) return Promise.resolve(this.current);
    // Concurrent first publishes share one connection attempt.
    this.opening ??= this.open(timeoutMs).finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async open(timeoutMs: number): Promise<Session> {
    const nc = await this.nats.transport.connect({
      ...natsConnectionOptions(this.broker.url),
      name: 'tcc-coordinator',
      reconnect: false,
      timeout: timeoutMs,
    });
    const session: Session = { nc, js: this.nats.jetstream.jetstream(nc, { timeout: timeoutMs }) };
    void nc.closed().then((error) => {
      if (this.current !== session) return;
      this.current = undefined;
      this.logger.warn({ broker: this.broker.name, msg: `nats broker ${this.broker.name}: connection closed${error ? ` (${errorText(error)})` : ''}; the next publish opens a new one` });
    });
    if (this.closed) {
      await nc.close().catch(() => undefined);
      throw new Error('the coordinator is shutting down');
    }
    this.current = session;
    this.logger.log({ broker: this.broker.name, msg: `nats broker ${this.broker.name}: connected` });
    return session;
  }
}
