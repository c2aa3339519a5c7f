/**
 * Where a message step's action publishes (docs/contract.md §10): `<broker>/<exchange>/<routingKey>`
 * for amqp, `<broker>/<subject>` for nats, the broker one of TCC_BROKERS of the step's kind. Pure:
 * the API answers 400 with its error, the publisher refuses with it.
 */
import type { BrokerConfig } from '../../config/brokers.parser';

export type BrokerProtocol = 'amqp' | 'nats';

export interface AmqpTarget {
  kind: 'amqp';
  broker: string;
  /** Empty: RabbitMQ's default exchange, which routes to the queue named by the routing key. */
  exchange: string;
  routingKey: string;
}

export interface NatsTarget {
  kind: 'nats';
  broker: string;
  subject: string;
}

export type BrokerTarget = AmqpTarget | NatsTarget;

/** AMQP 0-9-1 exchange names: letters, digits, `-`, `_`, `.`, `:`, up to 255 (a short string on the wire). */
const EXCHANGE = /^[A-Za-z0-9_.:-]{0,255}$/;
/** A routing key is a short string: at most 255 bytes. */
const ROUTING_KEY_MAX_BYTES = 255;
/** A NATS subject to publish to: dot-separated tokens, none empty, no whitespace, no wildcard. */
const SUBJECT_TOKEN = /^[^\s*>.]+$/;

/** Whether a message step is published (amqp, nats) rather than called (http, grpc). */
export const isBrokerProtocol = (protocol: string): protocol is BrokerProtocol => protocol === 'amqp' || protocol === 'nats';

const an = (kind: BrokerProtocol): string => (kind === 'amqp' ? 'an amqp' : 'a nats');

/**
 * The target of `action`, or why it has none, as a sentence to follow the field's name
 * (`steps[2].action: names broker "x", which is not configured ...`). Never names a broker's URL.
 */
export function parseBrokerAction(protocol: string, action: string, brokers: readonly BrokerConfig[]): BrokerTarget | string {
  if (!isBrokerProtocol(protocol)) return `protocol ${protocol} is not published to a broker (amqp or nats)`;
  const shape = protocol === 'amqp' ? '<broker>/<exchange>/<routingKey>' : '<broker>/<subject>';
  const step = `${an(protocol)} step`;
  const slash = action.indexOf('/');
  if (slash <= 0) return `must be ${shape} for ${step}`;
  const name = action.slice(0, slash);
  const rest = action.slice(slash + 1);
  const broker = brokers.find((b) => b.name === name);
  if (!broker) {
    const configured = brokers.filter((b) => b.kind === protocol).map((b) => b.name);
    return `names broker "${name}", which is not configured (TCC_BROKERS${configured.length ? ` has ${protocol} brokers ${configured.join(', ')}` : ` has no ${protocol} broker`})`;
  }
  if (broker.kind !== protocol) return `names broker "${name}", which is ${an(broker.kind)} broker: ${step} needs ${an(protocol)} broker`;
  if (protocol === 'amqp') {
    // The routing key is everything after the exchange: it may hold slashes (topic keys often do).
    const second = rest.indexOf('/');
    if (second < 0) return `must be ${shape} for ${step} (an empty exchange is the default exchange: ${name}//<queue>)`;
    const exchange = rest.slice(0, second);
    const routingKey = rest.slice(second + 1);
    if (!EXCHANGE.test(exchange)) return `has exchange "${exchange.slice(0, 64)}": an exchange name is up to 255 characters of A-Z a-z 0-9 - _ . :`;
    if (Buffer.byteLength(routingKey) > ROUTING_KEY_MAX_BYTES) return `has a routing key of ${Buffer.byteLength(routingKey)} bytes: at most ${ROUTING_KEY_MAX_BYTES}`;
    return { kind: 'amqp', broker: name, exchange, routingKey };
  }
  if (!rest.split('.').every((token) => SUBJECT_TOKEN.test(token))) {
    return `has subject "${rest.slice(0, 64)}": a subject is dot-separated tokens, none empty, without spaces or the wildcards * and >`;
  }
  return { kind: 'nats', broker: name, subject: rest };
}
