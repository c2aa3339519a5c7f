/**
 * The ports of the brokers spec files, all in 7500-7599 and apart per file, because Jest runs spec
 * files side by side. None is the machine's shared RabbitMQ (5672) or NATS (4222), which these
 * specs never touch.
 */
import { createConnection } from 'node:net';

export const BROKER_PORTS = {
  /** amqp-publisher.spec.ts: its private RabbitMQ node (AMQP, Erlang distribution, its own epmd). */
  rabbit: { amqp: 7500, dist: 7501, epmd: 7502 },
  /** amqp-publisher.spec.ts: where no broker ever listens. */
  rabbitNobody: 7509,
  /** nats-publisher.spec.ts: its private nats-server. */
  nats: 7510,
  natsNobody: 7519,
  /** broker-publisher.spec.ts: a TCP server that accepts and never answers, and a port nobody listens on. */
  silent: 7520,
  nobody: 7529,
} as const;

/** Whether something accepts connections on 127.0.0.1:`port`. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Fails naming the port when something already listens there (a leftover of an earlier run, or another program). */
export async function assertFree(port: number, what: string): Promise<void> {
  if (await listening(port)) throw new Error(`${what}: port ${port} is in use; the brokers specs need 7500-7599 free on 127.0.0.1`);
}
