/**
 * A message step published to RabbitMQ is traced like a participant call (docs/contract.md §12):
 * the coordinator process, exporting to a receiver of this spec, delivers a message whose step is
 * an AMQP publish; the published message's `traceparent` header is the context of the coordinator's
 * `tcc.call.message` CLIENT span, itself the child of the submit request's span, child of the
 * caller's traceparent. Uses the machine's RabbitMQ with an exchange and queue of its own.
 */
import { randomBytes } from 'node:crypto';
import { connect as amqpConnect, type ChannelModel } from 'amqplib';
import { Http } from '../client/support/http';
import { bearer } from '../support/api-keys';
import { CoordinatorProcess } from '../support/coordinator.process';
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { closeAll, eventually, randomSuffix } from '../support/wait';
import { OTLP_KIND, OtlpReceiver } from './support/otlp.receiver';

const RABBIT = 'amqp://guest:guest@127.0.0.1:5672';

jest.setTimeout(60_000);

describe('traces: a message step published to RabbitMQ', () => {
  let receiver: OtlpReceiver | undefined;
  let database: TestDatabase | undefined;
  let coordinator: CoordinatorProcess | undefined;
  let amqp: ChannelModel | undefined;
  const http = new Http();
  const suffix = randomSuffix();
  const exchange = `tcc-trace-ex-${suffix}`;
  const queue = `tcc-trace-q-${suffix}`;

  beforeAll(async () => {
    amqp = await amqpConnect(RABBIT);
    const channel = await amqp.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    await channel.assertQueue(queue, { durable: false, autoDelete: false });
    await channel.bindQueue(queue, exchange, 'points.#');
    receiver = await OtlpReceiver.start();
    database = await createTestDatabase();
    coordinator = new CoordinatorProcess({ TCC_DB_URL: database.url, TCC_MIGRATE_ON_START: 'true', TCC_LOG_LEVEL: 'warn', TCC_BROKERS: `rabbit=${RABBIT}`, ...receiver.env() });
    await coordinator.start();
  });

  afterAll(async () => {
    await closeAll(
      () => coordinator?.stop(),
      async () => {
        if (!amqp) return;
        const channel = await amqp.createChannel();
        await channel.deleteQueue(queue);
        await channel.deleteExchange(exchange);
        await amqp.close();
      },
      () => receiver?.close(),
      () => database?.drop(),
      () => http.close(),
    );
  });

  it('puts the publish span context in the message, under the submit request', async () => {
    const gid = `trace-msg-${suffix}`;
    const caller = { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') };
    const headers = { ...bearer(), traceparent: `00-${caller.traceId}-${caller.spanId}-01` };
    const prepared = await http.post(
      `${coordinator!.url}/v1/messages`,
      { gid, steps: [{ branchId: 'points', protocol: 'amqp', action: `rabbit/${exchange}/points.award`, payload: { points: 7 } }], queryPrepared: 'http://127.0.0.1:9/query-prepared' },
      headers,
    );
    expect(prepared.status).toBe(201);
    const submitted = await http.post(`${coordinator!.url}/v1/messages/${gid}/submit`, { wait: true }, headers);
    expect(submitted.body).toMatchObject({ status: 'COMMITTED' });

    const channel = await amqp!.createChannel();
    const message = await eventually(async () => (await channel.get(queue, { noAck: true })) || undefined, { what: 'the published message' });
    const traceparent = String(message.properties.headers?.traceparent);

    const publish = await eventually(() => receiver!.spans.find((s) => s.name === 'tcc.call.message' && s.attributes['tcc.gid'] === gid), { what: 'the publish span' });
    expect(traceparent).toBe(`00-${publish.traceId}-${publish.spanId}-01`);
    expect(publish).toMatchObject({ service: 'tcc-coordinator', kind: OTLP_KIND.client, traceId: caller.traceId, status: 0 });
    expect(publish.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': `rabbit/${exchange}/points.award`,
      'tcc.branch_id': 'points',
      'tcc.phase': 'message',
      'tcc.mode': 'message',
    });
    // The request's span ends after the publish, so it may come in a later export.
    const submit = await eventually(() => receiver!.spans.find((s) => s.spanId === publish.parentSpanId), { what: 'the submit span' });
    expect(submit).toMatchObject({ name: 'tcc.coordinator.message.submit', kind: OTLP_KIND.server, parentSpanId: caller.spanId });
    const prepare = receiver!.spans.find((s) => s.name === 'tcc.coordinator.message.prepare' && s.attributes['tcc.gid'] === gid);
    expect(prepare).toMatchObject({ parentSpanId: caller.spanId, traceId: caller.traceId, kind: OTLP_KIND.server });
  });
});
