/**
 * Publishes message steps whose protocol is amqp or nats to the brokers of TCC_BROKERS
 * (docs/contract.md §10), with the outcome a participant call has: `done` once the broker
 * acknowledged, `failed` (retried by the caller) otherwise. One connection per broker, opened on
 * first use; every publish answers within its timeout.
 */
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ParticipantCallResult } from '@tcc/client/caller';
import type { BranchCallBody } from '@tcc/client/protocol';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../../config/coordinator.config';
import type { BrokerConfig } from '../../config/brokers.parser';
import { parseBrokerAction, type BrokerProtocol, type BrokerTarget } from './broker-action.parser';
import { errorText, failed, type BrokerConnection } from './broker.connection';
import { loadAmqplib, loadNats } from './broker.peers';
import { AmqpBrokerConnection } from './amqp.connection';
import { NatsBrokerConnection } from './nats.connection';

export interface BrokerPublishRequest {
  protocol: BrokerProtocol;
  /** `<broker>/<exchange>/<routingKey>` (amqp) or `<broker>/<subject>` (nats). */
  action: string;
  body: BranchCallBody;
  /** The x-tcc-* headers (and signature): brokerMessage() builds them with the body and the id. */
  headers: Record<string, string>;
  /** `<gid>/<branchId>`: AMQP messageId, JetStream Nats-Msg-Id. */
  messageId: string;
  timeoutMs: number;
}

/** How long shutdown waits for the brokers' connections to close. */
const CLOSE_TIMEOUT_MS = 5_000;

@Injectable()
export class BrokerPublisher implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(BrokerPublisher.name);
  private readonly brokers: readonly BrokerConfig[];
  private readonly connections = new Map<string, BrokerConnection>();
  private shutDown = false;

  constructor(@Inject(COORDINATOR_CONFIG) config: Pick<CoordinatorConfig, 'brokers'>) {
    this.brokers = config.brokers;
  }

  /** A configured kind whose client package is missing stops the start, naming the package. */
  onModuleInit(): void {
    if (this.brokers.some((b) => b.kind === 'amqp')) loadAmqplib();
    if (this.brokers.some((b) => b.kind === 'nats')) loadNats();
  }

  /** Publishes one message step and waits for the broker's acknowledgement, at most `timeoutMs`. Never throws. */
  async publish(request: BrokerPublishRequest): Promise<ParticipantCallResult> {
    const target = parseBrokerAction(request.protocol, request.action, this.brokers);
    if (typeof target === 'string') return { outcome: 'failed', error: `action ${request.action}: ${target}` };
    if (this.shutDown) return failed(target.broker, 'the coordinator is shutting down');
    let connection: BrokerConnection;
    try {
      connection = this.connectionOf(target);
    } catch (error) {
      return failed(target.broker, errorText(error));
    }
    const message = { body: request.body, headers: request.headers, messageId: request.messageId };
    // The connections bound their own waits by the same timeout; this is the guarantee.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<ParticipantCallResult>((resolve) => {
      timer = setTimeout(() => resolve(failed(target.broker, `no acknowledgement within ${request.timeoutMs} ms`)), request.timeoutMs);
    });
    try {
      return await Promise.race([connection.publish(target, message, request.timeoutMs), deadline]);
    } catch (error) {
      return failed(target.broker, errorText(error));
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.shutDown = true;
    const closing = Promise.allSettled([...this.connections.values()].map((c) => c.close()));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    });
    await Promise.race([closing, timeout]);
    clearTimeout(timer);
    this.connections.clear();
  }

  private connectionOf(target: BrokerTarget): BrokerConnection {
    let connection = this.connections.get(target.broker);
    if (!connection) {
      const broker = this.brokers.find((b) => b.name === target.broker) as BrokerConfig;
      connection =
        broker.kind === 'amqp'
          ? (new AmqpBrokerConnection(broker, loadAmqplib(), this.logger) as BrokerConnection)
          : (new NatsBrokerConnection(broker, loadNats(), this.logger) as BrokerConnection);
      this.connections.set(target.broker, connection);
    }
    return connection;
  }
}
