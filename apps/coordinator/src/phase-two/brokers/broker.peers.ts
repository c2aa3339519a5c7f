/**
 * The broker clients, optional peers of the coordinator: loaded when a broker of their kind is
 * first used, with an error naming what to install when missing. Each require names its package
 * literally, so the Nest CLI's webpack (node externals) keeps it external instead of bundling a
 * module it cannot find.
 */
import type * as Amqplib from 'amqplib';
import type * as NatsTransport from '@nats-io/transport-node';
import type * as NatsJetStream from '@nats-io/jetstream';
import type { BrokerKind } from '../../config/brokers.parser';

export type AmqplibModule = typeof Amqplib;
export interface NatsModules {
  transport: typeof NatsTransport;
  jetstream: typeof NatsJetStream;
}

export class BrokerClientMissing extends Error {}

function requirePeer<T>(name: string, kind: BrokerKind, load: () => unknown): T {
  try {
    return load() as T;
  } catch (error) {
    const missing = (error as { code?: unknown }).code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${name}'`);
    if (!missing) throw error;
    const install = kind === 'amqp' ? 'amqplib' : '@nats-io/transport-node @nats-io/jetstream';
    throw new BrokerClientMissing(`TCC_BROKERS names ${kind} brokers, which need ${name}: npm install ${install}`);
  }
}

export function loadAmqplib(): AmqplibModule {
  return requirePeer<AmqplibModule>('amqplib', 'amqp', () => require('amqplib'));
}

export function loadNats(): NatsModules {
  return {
    transport: requirePeer<typeof NatsTransport>('@nats-io/transport-node', 'nats', () => require('@nats-io/transport-node')),
    jetstream: requirePeer<typeof NatsJetStream>('@nats-io/jetstream', 'nats', () => require('@nats-io/jetstream')),
  };
}
