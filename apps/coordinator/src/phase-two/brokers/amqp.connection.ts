/**
 * One RabbitMQ broker (docs/contract.md §10): one connection and one confirm channel, opened on the
 * first publish, reused, and opened again by the next publish once either closed. A message is
 * persistent and mandatory, and `done` only when the broker confirms it.
 *
 * Publishing to an exchange that does not exist makes RabbitMQ close the channel (404), failing
 * every publish in flight on it. So an exchange is first checked once per connection on a channel
 * of its own: a step naming a missing exchange fails alone, without disturbing the others.
 * A message no queue is bound for is returned (mandatory) and counts as failed: published into
 * nothing, it would be lost while the step reads SUCCEEDED.
 */
import type { Logger } from '@nestjs/common';
import type { ParticipantCallResult } from '@tcc/client/caller';
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { BrokerConfig } from '../../config/brokers.parser';
import type { AmqpTarget } from './broker-action.parser';
import { errorText, failed, type BrokerConnection } from './broker.connection';
import type { BrokerMessage } from './broker-message';
import type { AmqplibModule } from './broker.peers';

/** A publish waiting for its confirm; `returned` is set when the broker hands it back unroutable. */
interface Unconfirmed {
  returned?: string;
}

interface Session {
  connection: ChannelModel;
  channel: ConfirmChannel;
  /** Exchanges known to exist on this connection (or being checked). */
  exchanges: Map<string, Promise<void>>;
  /** By message id: a return carries the message's properties, not which publish it was. */
  unconfirmed: Map<string, Set<Unconfirmed>>;
  /** Why the channel or connection closed (the server's reason, e.g. a 404), for the publishes it fails. */
  closedBecause?: string;
  /** Set while the broker blocks publishers (a memory or disk alarm): publishes fail at once instead of waiting. */
  blockedBecause?: string;
}

/** The server's text of a channel or connection error: `404 (NOT-FOUND) with message "NOT_FOUND - no exchange ..."` -> the message. */
function serverReason(error: unknown): string {
  const text = errorText(error);
  const quoted = /with message "(.*)"/.exec(text);
  const code = /\b(\d{3}) \(/.exec(text);
  return quoted ? `${code ? `${code[1]} ` : ''}${quoted[1]}` : text;
}

export class AmqpBrokerConnection implements BrokerConnection<AmqpTarget> {
  private current?: Session;
  private opening?: Promise<Session>;
  private closed = false;

  constructor(
    private readonly broker: BrokerConfig,
    private readonly amqp: AmqplibModule,
    private readonly logger: Logger,
  ) {}

  async publish(target: AmqpTarget, message: BrokerMessage, timeoutMs: number): Promise<ParticipantCallResult> {
    let session: Session;
    try {
      session = await this.session(timeoutMs);
    } catch (error) {
      return failed(this.broker.name, `cannot connect: ${errorText(error)}`);
    }
    if (session.blockedBecause) return failed(this.broker.name, `the broker blocks publishers: ${session.blockedBecause}`);
    try {
      await this.checkExchange(session, target.exchange);
    } catch (error) {
      return failed(this.broker.name, `exchange "${target.exchange}": ${serverReason(error)}`);
    }
    return this.send(session, target, message);
  }

  async close(): Promise<void> {
    this.closed = true;
    const session = this.current ?? (await this.opening?.catch(() => undefined));
    this.current = undefined;
    if (session) await session.connection.close().catch(() => undefined);
  }

  private session(timeoutMs: number): Promise<Session> {
    if (this.closed) return Promise.reject(new Error('the coordinator is shutting down'));
    if (this.current) return Promise.resolve(this.current);
    // Concurrent first publishes share one connection attempt.
    this.opening ??= this.open(timeoutMs).finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async open(timeoutMs: number): Promise<Session> {
    // `timeout` bounds the TCP connect and the AMQP handshake.
    const connection = await this.amqp.connect(this.broker.url, { timeout: timeoutMs, clientProperties: { connection_name: 'tcc-coordinator' } });
    // Listeners first: an 'error' event with none would throw out of the emitter.
    const state: { closedBecause?: string; blockedBecause?: string; closed: boolean } = { closed: false };
    let session: Session | undefined;
    const drop = (): void => {
      state.closed = true;
      if (!session || this.current !== session) return;
      this.current = undefined;
      this.logger.warn({ broker: this.broker.name, msg: `amqp broker ${this.broker.name}: connection closed${session.closedBecause ? ` (${session.closedBecause})` : ''}; the next publish opens a new one` });
    };
    const noteError = (error: unknown): void => {
      const reason = serverReason(error);
      if (session) session.closedBecause ??= reason;
      else state.closedBecause ??= reason;
    };
    connection.on('error', noteError);
    connection.on('close', drop);
    connection.on('blocked', (reason: string) => {
      if (session) session.blockedBecause = reason || 'blocked';
      else state.blockedBecause = reason || 'blocked';
    });
    connection.on('unblocked', () => {
      if (session) session.blockedBecause = undefined;
      else state.blockedBecause = undefined;
    });
    let channel: ConfirmChannel;
    try {
      channel = await connection.createConfirmChannel();
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
    session = { connection, channel, exchanges: new Map(), unconfirmed: new Map(), closedBecause: state.closedBecause, blockedBecause: state.blockedBecause };
    const opened = session;
    channel.on('error', noteError);
    // A channel closed under a healthy connection (an exchange deleted since it was checked): start
    // over with a new connection rather than keep one whose checked exchanges may be stale.
    channel.on('close', () => {
      drop();
      connection.close().catch(() => undefined);
    });
    channel.on('return', (returned: ConsumeMessage) => {
      const id = returned.properties.messageId as string | undefined;
      const fields = returned.fields as unknown as { replyCode?: number; replyText?: string };
      for (const publish of (id && opened.unconfirmed.get(id)) || []) publish.returned = `${fields.replyCode ?? 312} ${fields.replyText ?? 'NO_ROUTE'}`;
    });
    if (this.closed || state.closed) {
      await connection.close().catch(() => undefined);
      throw new Error(this.closed ? 'the coordinator is shutting down' : `connection closed while opening${state.closedBecause ? `: ${state.closedBecause}` : ''}`);
    }
    this.current = session;
    this.logger.log({ broker: this.broker.name, msg: `amqp broker ${this.broker.name}: connected` });
    return session;
  }

  private checkExchange(session: Session, exchange: string): Promise<void> {
    // The default exchange always exists.
    if (exchange === '') return Promise.resolve();
    let check = session.exchanges.get(exchange);
    if (!check) {
      check = (async () => {
        const channel = await session.connection.createChannel();
        // A 404 closes this channel; the rejection of checkExchange says why.
        channel.on('error', () => undefined);
        try {
          await channel.checkExchange(exchange);
        } finally {
          channel.close().catch(() => undefined);
        }
      })();
      session.exchanges.set(exchange, check);
      // Not cached when missing: it may be declared before the next attempt.
      check.catch(() => session.exchanges.delete(exchange));
    }
    return check;
  }

  private send(session: Session, target: AmqpTarget, message: BrokerMessage): Promise<ParticipantCallResult> {
    const { messageId } = message;
    return new Promise<ParticipantCallResult>((resolve) => {
      const publish: Unconfirmed = {};
      let waiting = session.unconfirmed.get(messageId);
      if (!waiting) session.unconfirmed.set(messageId, (waiting = new Set()));
      waiting.add(publish);
      let settled = false;
      const settle = (error: unknown): void => {
        if (settled) return;
        settled = true;
        waiting.delete(publish);
        if (waiting.size === 0 && session.unconfirmed.get(messageId) === waiting) session.unconfirmed.delete(messageId);
        if (error) {
          const reason = session.closedBecause ? `channel closed: ${session.closedBecause}` : errorText(error);
          resolve(failed(this.broker.name, `not confirmed: ${reason}`));
        } else if (publish.returned) {
          resolve(failed(this.broker.name, `unroutable: no queue is bound to exchange "${target.exchange}" for routing key "${target.routingKey}" (${publish.returned})`));
        } else {
          resolve({ outcome: 'done', body: undefined });
        }
      };
      try {
        session.channel.publish(
          target.exchange,
          target.routingKey,
          Buffer.from(JSON.stringify(message.body)),
          { persistent: true, mandatory: true, messageId, contentType: 'application/json', headers: message.headers },
          (error: unknown) => settle(error ?? null),
        );
      } catch (error) {
        settle(error ?? new Error('publish failed'));
      }
    });
  }
}
