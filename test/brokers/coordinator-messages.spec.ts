/**
 * Reliable messages whose steps are published to brokers, through the coordinator (docs/contract.md
 * §10): one message with a RabbitMQ step, a JetStream step and an HTTP step is submitted and every
 * step arrives once with the gid/branchId message id; a step whose exchange does not exist yet is
 * retried until it does; a step naming a broker TCC_BROKERS does not configure is a 400. Uses the
 * machine's RabbitMQ and NATS with names of its own (nothing is stopped here; the restart cases run
 * against private brokers in amqp-publisher.spec.ts and nats-publisher.spec.ts).
 */
import { connect as amqpConnect, type ConsumeMessage } from 'amqplib';
import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { createStore, SERVER, startCoordinator, type RunningCoordinator, type TestStore } from '../support/coordinator.in-process';
import { ParticipantServer } from '../support/participant.server';
import { closeAll, eventually, randomSuffix } from '../support/wait';

const RABBIT = 'amqp://guest:guest@127.0.0.1:5672';
const NATS = 'nats://127.0.0.1:4222';

describe(`messages published to RabbitMQ and JetStream through the coordinator (${SERVER})`, () => {
  let store: TestStore | undefined;
  let coordinator: RunningCoordinator | undefined;
  let participant: ParticipantServer;
  let nc: NatsConnection | undefined;
  const suffix = randomSuffix();
  const exchange = `tcc-test-ex-${suffix}`;
  const queue = `tcc-test-q-${suffix}`;
  const stream = `TCCTEST${suffix}`.toUpperCase();

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    const amqp = await amqpConnect(RABBIT);
    const channel = await amqp.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    await channel.assertQueue(queue, { durable: false, autoDelete: false });
    await channel.bindQueue(queue, exchange, 'points.#');
    await amqp.close();
    nc = await natsConnect({ servers: NATS, reconnect: false });
    await (await jetstreamManager(nc)).streams.add({ name: stream, subjects: [`${stream}.>`], storage: StorageType.Memory });
    store = await createStore(SERVER);
    coordinator = await startCoordinator(store, {
      TCC_BROKERS: `rabbit=${RABBIT},js=${NATS}`,
      TCC_REQUEST_TIMEOUT_MS: '2000',
      TCC_RETRY_BASE_MS: '50',
      TCC_RETRY_MAX_MS: '300',
      TCC_SCAN_INTERVAL_MS: '100',
      TCC_COMMIT_WAIT_MS: '10000',
      TCC_SIGNING_KEYS: 'brokers-e2e-key-0123456789abcdef',
    });
  });

  afterAll(async () => {
    await closeAll(
      () => coordinator?.close(),
      () => participant?.close(),
      () => store?.dispose(),
      async () => {
        const amqp = await amqpConnect(RABBIT);
        const channel = await amqp.createChannel();
        await channel.deleteQueue(queue);
        await channel.deleteExchange(exchange);
        await channel.deleteExchange(`${exchange}-late`).catch(() => undefined);
        await amqp.close();
      },
      async () => {
        if (nc) await (await jetstreamManager(nc)).streams.delete(stream);
        await nc?.close();
      },
    );
  });

  async function consumeQueue(name: string, enough: (got: ConsumeMessage[]) => boolean): Promise<ConsumeMessage[]> {
    const amqp = await amqpConnect(RABBIT);
    const got: ConsumeMessage[] = [];
    try {
      const channel = await amqp.createChannel();
      await channel.consume(name, (m) => {
        if (m) {
          got.push(m);
          channel.ack(m);
        }
      });
      await eventually(() => enough(got), { timeoutMs: 20_000, what: `deliveries from ${name}` });
      await channel.close();
      return got;
    } finally {
      await amqp.close().catch(() => undefined);
    }
  }

  it('a RabbitMQ step, a JetStream step and an HTTP step: each arrives with the message id gid/branchId', async () => {
    const api = coordinator!.api;
    const gid = `brokers-${randomSuffix()}`;
    const prepared = await api.prepareMessage({
      gid,
      queryPrepared: participant.url('/query'),
      steps: [
        { branchId: 'rabbit', protocol: 'amqp', action: `rabbit/${exchange}/points.award`, payload: { points: 7 } },
        { branchId: 'js', protocol: 'nats', action: `js/${stream}.points`, payload: { points: 7 } },
        { branchId: 'http', protocol: 'http', action: participant.url(`/${gid}/deliver`) },
      ],
    });
    expect(prepared.status).toBe(201);
    expect((await api.submitMessage(gid, { wait: true })).body.status).toBe('COMMITTED');

    const [delivered] = await consumeQueue(queue, (got) => got.some((m) => m.properties.messageId === `${gid}/rabbit`));
    expect(delivered.properties.messageId).toBe(`${gid}/rabbit`);
    expect(delivered.properties.deliveryMode).toBe(2);
    expect(JSON.parse(delivered.content.toString())).toEqual({ gid, branchId: 'rabbit', phase: 'message', payload: { points: 7 } });
    expect(delivered.properties.headers?.['x-tcc-signature']).toBeTruthy();

    const consumer = await jetstream(nc!).consumers.get(stream);
    const msg = await consumer.next({ expires: 5_000 });
    expect(msg?.headers?.get('Nats-Msg-Id')).toBe(`${gid}/js`);
    expect(msg?.json()).toEqual({ gid, branchId: 'js', phase: 'message', payload: { points: 7 } });
    expect(participant.callsFor(gid, 'http', 'message')).toHaveLength(1);
    expect((await api.view(gid)).branches.map((b) => [b.branchId, b.protocol, b.status])).toEqual([
      ['rabbit', 'amqp', 'SUCCEEDED'],
      ['js', 'nats', 'SUCCEEDED'],
      ['http', 'http', 'SUCCEEDED'],
    ]);
  });

  it('an exchange that does not exist yet: the step is retried (its error recorded) until it does', async () => {
    const api = coordinator!.api;
    const gid = `brokers-late-${randomSuffix()}`;
    const late = `${exchange}-late`;
    await api.prepareMessage({ gid, queryPrepared: participant.url('/query'), steps: [{ branchId: 'late', protocol: 'amqp', action: `rabbit/${late}/points.award` }] });
    expect((await api.submitMessage(gid)).body.status).toBe('COMMITTING');
    const failing = await eventually(
      async () => {
        const view = await api.view(gid);
        return view.branches[0].attempts >= 2 ? view : undefined;
      },
      { timeoutMs: 20_000, what: 'two failed publishes' },
    );
    expect(failing.status).toBe('COMMITTING');
    expect(failing.branches[0].lastError).toContain(late);
    const amqp = await amqpConnect(RABBIT);
    const channel = await amqp.createChannel();
    await channel.assertExchange(late, 'topic', { durable: false, autoDelete: false });
    await channel.bindQueue(queue, late, 'points.#');
    await amqp.close();
    await api.waitForStatus(gid, ['COMMITTED'], 20_000);
    const got = await consumeQueue(queue, (all) => all.some((m) => m.properties.messageId === `${gid}/late`));
    expect(got.filter((m) => m.properties.messageId === `${gid}/late`).length).toBeGreaterThanOrEqual(1);
  });

  it('a step naming a broker that is not configured, or a malformed action: 400 naming the step, nothing written', async () => {
    const api = coordinator!.api;
    const gid = `brokers-bad-${randomSuffix()}`;
    for (const step of [
      { branchId: 'a', protocol: 'amqp', action: `nobroker/${exchange}/k` },
      { branchId: 'a', protocol: 'nats', action: 'rabbit/subject' },
      { branchId: 'a', protocol: 'amqp', action: 'rabbit' },
    ]) {
      const res = await api.prepareMessage({ gid, queryPrepared: participant.url('/query'), steps: [step] });
      expect([res.status, res.error.fields]).toEqual([400, ['steps[0].action']]);
    }
    expect((await api.get(gid)).status).toBe(404);
  });
});
