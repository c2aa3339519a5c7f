/**
 * The brokers message steps may be published to (TCC_BROKERS, docs/contract.md §10):
 * `name=url,...`. The kind follows from the URL's scheme; a URL's credentials never appear in an
 * error or a log line (brokerUrlForLog).
 */
export type BrokerKind = 'amqp' | 'nats';

export interface BrokerConfig {
  /** What a step's action names first: `<name>/<exchange>/<routingKey>` or `<name>/<subject>`. */
  name: string;
  kind: BrokerKind;
  /** As given, credentials included: only the publisher's connection sees it. */
  url: string;
}

export const BROKER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

const KIND_OF_SCHEME: Record<string, BrokerKind> = { 'amqp:': 'amqp', 'amqps:': 'amqp', 'nats:': 'nats', 'tls:': 'nats' };

const MASK = '***';

/**
 * `url` fit for a log line: its password masked, and for NATS a user without a password too,
 * because that is how a NATS URL carries a token (`nats://<token>@host:4222`).
 */
export function brokerUrlForLog(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = MASK;
    else if (parsed.username && KIND_OF_SCHEME[parsed.protocol] === 'nats') parsed.username = MASK;
    return parsed.toString();
  } catch {
    // Not a URL: nothing of it is shown.
    return MASK;
  }
}

/** Parses TCC_BROKERS; throws naming the setting, the entry and what it accepts (never the URL's credentials). */
export function parseBrokers(value: string | undefined): BrokerConfig[] {
  const brokers: BrokerConfig[] = [];
  const entries = (value ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  entries.forEach((entry, index) => {
    const where = `entry ${index + 1}`;
    const eq = entry.indexOf('=');
    const name = eq > 0 ? entry.slice(0, eq).trim() : '';
    const url = eq > 0 ? entry.slice(eq + 1).trim() : '';
    if (!BROKER_NAME.test(name)) {
      throw new Error(`TCC_BROKERS: ${where} must be name=url with a name of 1-64 characters of A-Z a-z 0-9 _ . - (e.g. rabbit=amqp://guest:guest@127.0.0.1:5672,js=nats://127.0.0.1:4222)`);
    }
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    const kind = parsed ? KIND_OF_SCHEME[parsed.protocol] : undefined;
    if (!parsed || !kind || !parsed.hostname) {
      throw new Error(
        `TCC_BROKERS: the URL of "${name}" (${where}) must be amqp://, amqps:// (RabbitMQ) or nats://, tls:// (NATS JetStream) with a host, ` +
          'e.g. amqp://user:password@127.0.0.1:5672/vhost or nats://127.0.0.1:4222 (percent-encode a comma or @ in a password)',
      );
    }
    if (brokers.some((b) => b.name === name)) throw new Error(`TCC_BROKERS: the name "${name}" is given twice (${where})`);
    brokers.push({ name, kind, url });
  });
  return brokers;
}
