/**
 * Message steps published to RabbitMQ (docs/contract.md §10), against a private RabbitMQ node of
 * this spec's own (support/private-rabbitmq.ts), shared by its tests because a start takes seconds:
 * what arrives, duplicates, missing exchanges and unbound keys, a broker that is down, and one
 * killed and restarted while hundreds of messages are being published.
 */
import { connect, type Channel, type ConsumeMessage } from 'amqplib';
import { verifyBranchCall } from '../../libs/tcc-client/src/signing/branch-signature';
import type { BrokerPublisher } from '../../apps/coordinator/src/phase-two/brokers';
import { closeAll, eventually, randomSuffix } from '../support/wait';
import { BROKER_PORTS } from './support/broker-ports';
import { PrivateRabbitMq } from './support/private-rabbitmq';
import { gate, inParallel, messageStep, newTally, publishRequest, publisherOver, publishUntilDone, SIGNING_KEY, timed } from './support/publishing';

let rabbit: PrivateRabbitMq;
const publishers: BrokerPublisher[] = [];

const publisher = (extra = ''): BrokerPublisher => {
  const p = publisherOver(`rabbit=${rabbit.url}${extra}`);
  publishers.push(p);
  return p;
};

/** Runs `fn` on a channel of a connection of the test's own, closed after. */
async function withChannel<T>(fn: (channel: Channel) => Promise<T>): Promise<T> {
  const connection = await connect(rabbit.url);
  try {
    return await fn(await connection.createChannel());
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** A durable topic exchange and a durable queue bound to it by `bindingKey`; both named uniquely. */
async function exchangeWithQueue(bindingKey = '#'): Promise<{ exchange: string; queue: string }> {
  const suffix = randomSuffix();
  const exchange = `ex-${suffix}`;
  const queue = `q-${suffix}`;
  await withChannel(async (channel) => {
    await channel.assertExchange(exchange, 'topic', { durable: true, autoDelete: false });
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, exchange, bindingKey);
  });
  return { exchange, queue };
}

/** Consumes `queue` (acking) until `enough` holds for what arrived; returns every delivery. */
async function consume(queue: string, enough: (got: ConsumeMessage[]) => boolean, timeoutMs = 30_000): Promise<ConsumeMessage[]> {
  const got: ConsumeMessage[] = [];
  const connection = await connect(rabbit.url);
  try {
    const channel = await connection.createChannel();
    await channel.prefetch(500);
    await channel.consume(queue, (message) => {
      if (!message) return;
      got.push(message);
      channel.ack(message);
    });
    await eventually(() => enough(got), { timeoutMs, what: `deliveries from ${queue} (${got.length} so far)` });
    // Closing the channel first waits until the broker has taken every ack; a connection closed
    // at once may drop the last ones, and those messages would be delivered again.
    await channel.close();
    return got;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

beforeAll(async () => {
  rabbit = await PrivateRabbitMq.create(BROKER_PORTS.rabbit);
}, 120_000);

afterAll(async () => {
  await closeAll(
    ...publishers.map((p) => () => p.onApplicationShutdown()),
    () => rabbit?.dispose(),
  );
  // The report reads this line: how long the private node took to start, each time.
  if (rabbit) process.stdout.write(`private rabbitmq starts (ms): ${rabbit.startTimes.join(', ')}\n`);
});

describe('publishing to RabbitMQ', () => {
  it('delivers every step with its body, the x-tcc and signature headers and the message id <gid>/<branchId>, persistent', async () => {
    const { exchange, queue } = await exchangeWithQueue('order.*');
    const gid = `g-${randomSuffix()}`;
    const steps = Array.from({ length: 20 }, (_, i) => messageStep(gid, `b${i}`, i === 0 ? null : { i, text: `zł ${'x'.repeat(i)}`, nested: [i, { ok: true }] }));
    const p = publisher();
    const results = await Promise.all(steps.map((s) => p.publish(publishRequest('amqp', `rabbit/${exchange}/order.created`, s))));
    expect(results).toEqual(steps.map(() => ({ outcome: 'done', body: undefined })));

    const got = await consume(queue, (m) => m.length >= steps.length);
    expect(got).toHaveLength(steps.length);
    const byId = new Map(got.map((m) => [m.properties.messageId as string, m]));
    for (const step of steps) {
      const message = byId.get(`${gid}/${step.branchId}`);
      expect(message).toBeDefined();
      const { content, properties, fields } = message as ConsumeMessage;
      expect(JSON.parse(content.toString('utf8'))).toEqual(step);
      expect(properties.deliveryMode).toBe(2);
      expect(properties.contentType).toBe('application/json');
      expect(fields.exchange).toBe(exchange);
      expect(fields.routingKey).toBe('order.created');
      const headers = properties.headers as Record<string, unknown>;
      expect(headers).toMatchObject({ 'x-tcc-gid': gid, 'x-tcc-branch-id': step.branchId, 'x-tcc-phase': 'message' });
      const signed = { phase: step.phase, gid, branchId: step.branchId, payloadText: JSON.stringify(step.payload ?? null) };
      expect(verifyBranchCall([SIGNING_KEY], signed, String(headers['x-tcc-signature']), String(headers['x-tcc-timestamp']), 60_000)).toEqual({ ok: true });
    }
  });

  it('publishes to a queue by name through the default exchange (<broker>//<queue>)', async () => {
    const queue = `direct-${randomSuffix()}`;
    await withChannel((channel) => channel.assertQueue(queue, { durable: true }));
    const step = messageStep(`g-${randomSuffix()}`, 'only');
    expect(await publisher().publish(publishRequest('amqp', `rabbit//${queue}`, step))).toEqual({ outcome: 'done', body: undefined });
    const [message] = await consume(queue, (m) => m.length >= 1);
    expect(JSON.parse(message.content.toString())).toEqual(step);
  });

  it('publishes the same step twice with the same messageId, for the consumer to drop the second', async () => {
    const { exchange, queue } = await exchangeWithQueue();
    const step = messageStep(`g-${randomSuffix()}`, 'twice', { amount: 7 });
    const p = publisher();
    expect((await p.publish(publishRequest('amqp', `rabbit/${exchange}/k`, step))).outcome).toBe('done');
    expect((await p.publish(publishRequest('amqp', `rabbit/${exchange}/k`, step))).outcome).toBe('done');
    const got = await consume(queue, (m) => m.length >= 2);
    expect(got.map((m) => m.properties.messageId)).toEqual([`${step.gid}/twice`, `${step.gid}/twice`]);
    expect(got.map((m) => JSON.parse(m.content.toString()))).toEqual([step, step]);
  });

  it('fails a step whose exchange does not exist with the 404, without failing the steps published beside it', async () => {
    const { exchange, queue } = await exchangeWithQueue();
    const missing = `missing-${randomSuffix()}`;
    const gid = `g-${randomSuffix()}`;
    const p = publisher();
    const [bad, ...good] = await Promise.all([
      p.publish(publishRequest('amqp', `rabbit/${missing}/k`, messageStep(gid, 'bad'))),
      ...Array.from({ length: 10 }, (_, i) => p.publish(publishRequest('amqp', `rabbit/${exchange}/k`, messageStep(gid, `good${i}`)))),
    ]);
    expect(bad).toEqual({ outcome: 'failed', error: `broker rabbit: exchange "${missing}": 404 NOT_FOUND - no exchange '${missing}' in vhost '/'` });
    expect(good.map((r) => r.outcome)).toEqual(Array(10).fill('done'));
    await consume(queue, (m) => m.length >= 10);

    // Declared later, the exchange is found: a missing one is not remembered as missing.
    await withChannel(async (channel) => {
      await channel.assertExchange(missing, 'topic', { durable: true });
      await channel.bindQueue(queue, missing, '#');
    });
    expect((await p.publish(publishRequest('amqp', `rabbit/${missing}/k`, messageStep(gid, 'bad')))).outcome).toBe('done');
    const [late] = await consume(queue, (m) => m.length >= 1);
    expect(late.properties.messageId).toBe(`${gid}/bad`);
  });

  it('fails a step no queue is bound for (a mandatory message returned 312 NO_ROUTE): published into nothing it would be lost', async () => {
    const exchange = `lonely-${randomSuffix()}`;
    await withChannel((channel) => channel.assertExchange(exchange, 'direct', { durable: true }));
    const result = await publisher().publish(publishRequest('amqp', `rabbit/${exchange}/nobody.listens`, messageStep('g-lonely', 'b')));
    expect(result).toEqual({
      outcome: 'failed',
      error: `broker rabbit: unroutable: no queue is bound to exchange "${exchange}" for routing key "nobody.listens" (312 NO_ROUTE)`,
    });
  });

  it('answers failed at once while the broker is unreachable, and done once it is up', async () => {
    // A broker nothing listens for: refused at once, long before the timeout.
    const nobody = publisherOver(`nobody=amqp://guest:guest@127.0.0.1:${BROKER_PORTS.rabbitNobody}`);
    publishers.push(nobody);
    const refused = await timed(() => nobody.publish(publishRequest('amqp', 'nobody/x/y', messageStep('g-down', 'b'), 5_000)));
    expect(refused.value).toEqual({ outcome: 'failed', error: expect.stringMatching(/^broker nobody: cannot connect: .*ECONNREFUSED/) });
    expect(refused.ms).toBeLessThan(1_000);

    // The private node, stopped and started again: failed while it is down, done after.
    const { exchange, queue } = await exchangeWithQueue();
    const p = publisher();
    const step = messageStep(`g-${randomSuffix()}`, 'across-restart');
    expect((await p.publish(publishRequest('amqp', `rabbit/${exchange}/k`, messageStep(step.gid, 'before')))).outcome).toBe('done');
    await rabbit.stop('SIGTERM');
    const down = await timed(() => p.publish(publishRequest('amqp', `rabbit/${exchange}/k`, step, 5_000)));
    expect(down.value.outcome).toBe('failed');
    expect(down.ms).toBeLessThan(1_000);
    await rabbit.start();
    const tally = newTally();
    await publishUntilDone(p, () => publishRequest('amqp', `rabbit/${exchange}/k`, step, 5_000), tally);
    const got = await consume(queue, (m) => m.length >= 2);
    expect(got.map((m) => m.properties.messageId).sort()).toEqual([`${step.gid}/across-restart`, `${step.gid}/before`]);
  });

  it('loses no message when the broker is killed and restarted while hundreds are being published, each retried until done', async () => {
    const { exchange, queue } = await exchangeWithQueue('orders.#');
    const gid = `g-${randomSuffix()}`;
    const count = 300;
    const steps = Array.from({ length: count }, (_, i) => messageStep(gid, `m${i}`, { i }));
    const p = publisher();
    const tally = newTally();
    // The first half goes out at once; the second only once the broker is killed, so the run spans
    // the outage however fast the broker takes the first (JetStream can take all 300 before a kill lands).
    const killed = gate();
    const publishing = inParallel(steps, 10, async (step, index) => {
      if (index >= count / 2) await killed.opened;
      await publishUntilDone(p, () => publishRequest('amqp', `rabbit/${exchange}/orders.created`, step, 2_000), tally);
    });

    await eventually(() => tally.done >= 100, { timeoutMs: 60_000, what: '100 messages published before the kill' });
    await rabbit.stop('SIGKILL');
    killed.open();
    // Down for a while: every worker's retries fail to connect a few times, not only the publishes in flight at the kill.
    const failedAtKill = tally.failed;
    await eventually(() => tally.failed >= failedAtKill + 40 && [...tally.errors].some((e) => e.includes('cannot connect')), {
      timeoutMs: 30_000,
      what: 'publishes failing while the broker is down',
    });
    await rabbit.start();
    await publishing;

    expect(tally.done).toBe(count);
    const ids = new Set<string>();
    const got = await consume(queue, (m) => {
      for (const message of m) ids.add(message.properties.messageId as string);
      return ids.size >= count;
    }, 60_000);
    expect([...ids].sort()).toEqual(steps.map((s) => `${gid}/${s.branchId}`).sort());
    process.stdout.write(`amqp restart run: ${count} messages, ${tally.failed} failed attempts (${[...tally.errors].join(' | ')}), ${got.length} deliveries (${got.length - count} duplicates)\n`);
  });
});
