/**
 * The publisher's bounds, without a broker: a broker address that accepts connections and never
 * answers (a TCP server of the test's own) costs a publish its timeout and no more; shutdown; an
 * action that names no configured broker; a missing client package; the Nest module.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Global, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { COORDINATOR_CONFIG } from '../../apps/coordinator/src/config/coordinator.config';
import { parseBrokers } from '../../apps/coordinator/src/config/brokers.parser';
import { BrokerPublisher, BrokersModule } from '../../apps/coordinator/src/phase-two/brokers';
import { BROKER_PORTS } from './support/broker-ports';
import { messageStep, publishRequest, publisherOver, timed } from './support/publishing';

let silent: Server;
const sockets = new Set<Socket>();

beforeAll(async () => {
  silent = createServer((socket) => {
    // Accepts, reads, never answers: a broker that hangs.
    sockets.add(socket);
    socket.on('data', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    silent.once('error', reject);
    silent.listen(BROKER_PORTS.silent, '127.0.0.1', resolve);
  });
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

describe('BrokerPublisher bounds', () => {
  it.each([
    ['amqp', `hang=amqp://guest:guest@127.0.0.1:${BROKER_PORTS.silent}`, 'hang/ex/key'],
    ['nats', `hang=nats://127.0.0.1:${BROKER_PORTS.silent}`, 'hang/a.b'],
  ] as const)('%s: a broker that never answers costs each publish its timeout, not more (20 at once)', async (protocol, brokers, action) => {
    const publisher = publisherOver(brokers);
    try {
      const { ms, value } = await timed(() => Promise.all(Array.from({ length: 20 }, (_, i) => publisher.publish(publishRequest(protocol, action, messageStep('g-hang', `b${i}`), 700)))));
      expect(value.map((r) => r.outcome)).toEqual(Array(20).fill('failed'));
      for (const result of value) expect(result).toEqual({ outcome: 'failed', error: expect.stringMatching(/^broker hang: /) });
      expect(ms).toBeGreaterThanOrEqual(650);
      expect(ms).toBeLessThan(2_000);
      // The next one is bounded as well, whether it joins a connection attempt or starts one.
      const again = await timed(() => publisher.publish(publishRequest(protocol, action, messageStep('g-hang', 'again'), 500)));
      expect(again.value.outcome).toBe('failed');
      expect(again.ms).toBeLessThan(1_500);
    } finally {
      const shutdown = await timed(() => publisher.onApplicationShutdown());
      expect(shutdown.ms).toBeLessThan(6_000);
    }
  });

  it('fails a step whose action names no configured broker, or one of the other kind, naming the action', async () => {
    const publisher = publisherOver(`rabbit=amqp://127.0.0.1:${BROKER_PORTS.nobody}`);
    expect(await publisher.publish(publishRequest('amqp', 'gone/ex/key', messageStep('g', 'b')))).toEqual({
      outcome: 'failed',
      error: 'action gone/ex/key: names broker "gone", which is not configured (TCC_BROKERS has amqp brokers rabbit)',
    });
    expect(await publisher.publish(publishRequest('nats', 'rabbit/a.b', messageStep('g', 'b')))).toEqual({
      outcome: 'failed',
      error: 'action rabbit/a.b: names broker "rabbit", which is an amqp broker: a nats step needs a nats broker',
    });
    await publisher.onApplicationShutdown();
  });

  it('fails every publish once shut down', async () => {
    const publisher = publisherOver(`rabbit=amqp://127.0.0.1:${BROKER_PORTS.nobody}`);
    await publisher.onApplicationShutdown();
    expect(await publisher.publish(publishRequest('amqp', 'rabbit/ex/key', messageStep('g', 'b')))).toEqual({
      outcome: 'failed',
      error: 'broker rabbit: the coordinator is shutting down',
    });
  });

  it('does not start when a configured kind lacks its client package, naming what to install; loads nothing for kinds not configured', () => {
    jest.isolateModules(() => {
      const missing = (name: string) => () => {
        throw Object.assign(new Error(`Cannot find module '${name}' from 'broker.peers.ts'`), { code: 'MODULE_NOT_FOUND' });
      };
      jest.doMock('amqplib', missing('amqplib'));
      jest.doMock('@nats-io/transport-node', missing('@nats-io/transport-node'));
      const { BrokerPublisher: Isolated } = require('../../apps/coordinator/src/phase-two/brokers/broker.publisher') as { BrokerPublisher: typeof BrokerPublisher };
      expect(() => new Isolated({ brokers: parseBrokers('rabbit=amqp://127.0.0.1:5999') }).onModuleInit()).toThrow(
        'TCC_BROKERS names amqp brokers, which need amqplib: npm install amqplib',
      );
      expect(() => new Isolated({ brokers: parseBrokers('js=nats://127.0.0.1:5999') }).onModuleInit()).toThrow(
        'TCC_BROKERS names nats brokers, which need @nats-io/transport-node: npm install @nats-io/transport-node @nats-io/jetstream',
      );
      expect(() => new Isolated({ brokers: [] }).onModuleInit()).not.toThrow();
    });
    jest.dontMock('amqplib');
    jest.dontMock('@nats-io/transport-node');
  });

  it('is provided by BrokersModule to whoever imports it, with the coordinator config, and closed with the app', async () => {
    @Global()
    @Module({ providers: [{ provide: COORDINATOR_CONFIG, useValue: { brokers: parseBrokers(`rabbit=amqp://127.0.0.1:${BROKER_PORTS.nobody}`) } }], exports: [COORDINATOR_CONFIG] })
    class ConfigModule {}
    const moduleRef = await Test.createTestingModule({ imports: [ConfigModule, BrokersModule] }).compile();
    const app = await moduleRef.init();
    const publisher = app.get(BrokerPublisher);
    expect((await publisher.publish(publishRequest('amqp', 'rabbit/ex/k', messageStep('g', 'b')))).outcome).toBe('failed');
    await app.close();
    expect(await publisher.publish(publishRequest('amqp', 'rabbit/ex/k', messageStep('g', 'b')))).toEqual({ outcome: 'failed', error: 'broker rabbit: the coordinator is shutting down' });
  });
});
