/**
 * Message steps published to NATS JetStream (docs/contract.md §10), against a private nats-server
 * of this spec's own (support/private-nats.ts): what a stream stores, duplicates dropped by
 * Nats-Msg-Id, a subject no stream captures, a server that is down, and one killed and restarted
 * while hundreds of messages are being published.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType, type JsMsg } from '@nats-io/jetstream';
import { verifyBranchCall } from '../../libs/tcc-client/src/signing/branch-signature';
import type { BranchCallBody } from '../../libs/tcc-client/src/protocol';
import type { BrokerPublisher } from '../../apps/coordinator/src/phase-two/brokers';
import { closeAll, eventually, randomSuffix } from '../support/wait';
import { BROKER_PORTS } from './support/broker-ports';
import { PrivateNats } from './support/private-nats';
import { gate, inParallel, messageStep, newTally, publishRequest, publisherOver, publishUntilDone, SIGNING_KEY, timed } from './support/publishing';

let nats: PrivateNats;
const publishers: BrokerPublisher[] = [];

const publisher = (): BrokerPublisher => {
  const p = publisherOver(`js=${nats.url}`);
  publishers.push(p);
  return p;
};

interface Stored {
  subject: string;
  body: BranchCallBody;
  headers: Record<string, string>;
}

async function withNats<T>(fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: `127.0.0.1:${nats.port}`, reconnect: false });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

/** A stream in file storage capturing `<name>.>`, named uniquely. */
async function newStream(): Promise<string> {
  const name = `S${randomSuffix()}`.toUpperCase();
  await withNats(async (nc) => (await jetstreamManager(nc)).streams.add({ name, subjects: [`${name}.>`], storage: StorageType.File }));
  return name;
}

const storedOf = (m: JsMsg): Stored => ({
  subject: m.subject,
  body: m.json<BranchCallBody>(),
  headers: Object.fromEntries(m.headers ? [...m.headers.keys()].map((k) => [k, m.headers!.get(k)]) : []),
});

/** Reads `stream` from its start (an ordered consumer) until `enough` holds for what it read. */
async function readStream(stream: string, enough: (got: Stored[]) => boolean, timeoutMs = 30_000): Promise<Stored[]> {
  return withNats(async (nc) => {
    const consumer = await jetstream(nc).consumers.get(stream);
    const got: Stored[] = [];
    await eventually(
      async () => {
        const message = await consumer.next({ expires: 1_000 });
        if (message) got.push(storedOf(message));
        return enough(got);
      },
      { timeoutMs, intervalMs: 0, what: `messages of stream ${stream} (${got.length} so far)` },
    );
    return got;
  });
}

const messagesIn = (stream: string): Promise<number> => withNats(async (nc) => (await (await jetstreamManager(nc)).streams.info(stream)).state.messages);

beforeAll(async () => {
  nats = await PrivateNats.create(BROKER_PORTS.nats);
}, 60_000);

afterAll(async () => {
  await closeAll(
    ...publishers.map((p) => () => p.onApplicationShutdown()),
    () => nats?.dispose(),
  );
  if (nats) process.stdout.write(`private nats-server starts (ms): ${nats.startTimes.join(', ')}\n`);
});

describe('publishing to NATS JetStream', () => {
  it('stores every step with its body, the x-tcc and signature headers and Nats-Msg-Id <gid>/<branchId>', async () => {
    const stream = await newStream();
    const gid = `g-${randomSuffix()}`;
    const steps = Array.from({ length: 20 }, (_, i) => messageStep(gid, `b${i}`, i === 0 ? null : { i, text: `zł ${'x'.repeat(i)}` }));
    const p = publisher();
    const results = await Promise.all(steps.map((s) => p.publish(publishRequest('nats', `js/${stream}.orders.created`, s))));
    expect(results).toEqual(steps.map(() => ({ outcome: 'done', body: undefined })));

    const got = await readStream(stream, (m) => m.length >= steps.length);
    const byId = new Map(got.map((m) => [m.headers['Nats-Msg-Id'], m]));
    for (const step of steps) {
      const stored = byId.get(`${gid}/${step.branchId}`);
      expect(stored).toBeDefined();
      const { subject, body, headers } = stored as Stored;
      expect(subject).toBe(`${stream}.orders.created`);
      expect(body).toEqual(step);
      expect(headers).toMatchObject({ 'x-tcc-gid': gid, 'x-tcc-branch-id': step.branchId, 'x-tcc-phase': 'message' });
      const signed = { phase: step.phase, gid, branchId: step.branchId, payloadText: JSON.stringify(step.payload ?? null) };
      expect(verifyBranchCall([SIGNING_KEY], signed, headers['x-tcc-signature'], headers['x-tcc-timestamp'], 60_000)).toEqual({ ok: true });
    }
    expect(await messagesIn(stream)).toBe(steps.length);
  });

  it('publishes the same step twice with the same Nats-Msg-Id, and the stream keeps it once', async () => {
    const stream = await newStream();
    const step = messageStep(`g-${randomSuffix()}`, 'twice', { amount: 7 });
    const other = messageStep(step.gid, 'other');
    const p = publisher();
    for (const s of [step, step, other, step]) expect(await p.publish(publishRequest('nats', `js/${stream}.x`, s))).toEqual({ outcome: 'done', body: undefined });
    const got = await readStream(stream, (m) => m.length >= 2);
    expect(got.map((m) => m.headers['Nats-Msg-Id'])).toEqual([`${step.gid}/twice`, `${step.gid}/other`]);
    expect(await messagesIn(stream)).toBe(2);
  });

  it('fails a step whose subject no stream captures (503 no responders), naming the subject', async () => {
    const subject = `nowhere.${randomSuffix()}`;
    const result = await publisher().publish(publishRequest('nats', `js/${subject}`, messageStep('g-nowhere', 'b'), 2_000));
    expect(result).toEqual({ outcome: 'failed', error: `broker js: no stream captures subject "${subject}" (503 no responders; or JetStream is not enabled)` });
  });

  it('answers failed at once while the server is unreachable, and done once it is up', async () => {
    const nobody = publisherOver(`nobody=nats://127.0.0.1:${BROKER_PORTS.natsNobody}`);
    publishers.push(nobody);
    const refused = await timed(() => nobody.publish(publishRequest('nats', 'nobody/a.b', messageStep('g-down', 'b'), 5_000)));
    expect(refused.value).toEqual({ outcome: 'failed', error: expect.stringMatching(/^broker nobody: cannot connect: /) });
    expect(refused.ms).toBeLessThan(1_000);

    const stream = await newStream();
    const p = publisher();
    const step = messageStep(`g-${randomSuffix()}`, 'across-restart');
    expect((await p.publish(publishRequest('nats', `js/${stream}.k`, messageStep(step.gid, 'before')))).outcome).toBe('done');
    await nats.stop('SIGTERM');
    const down = await timed(() => p.publish(publishRequest('nats', `js/${stream}.k`, step, 5_000)));
    expect(down.value.outcome).toBe('failed');
    expect(down.ms).toBeLessThan(1_000);
    await nats.start();
    await publishUntilDone(p, () => publishRequest('nats', `js/${stream}.k`, step, 5_000), newTally());
    const got = await readStream(stream, (m) => m.length >= 2);
    expect(got.map((m) => m.headers['Nats-Msg-Id'])).toEqual([`${step.gid}/before`, `${step.gid}/across-restart`]);
  });

  it('loses no message when the server is killed and restarted while hundreds are being published, each retried until done', async () => {
    const stream = await newStream();
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
      await publishUntilDone(p, () => publishRequest('nats', `js/${stream}.orders`, step, 2_000), tally);
    });

    await eventually(() => tally.done >= 100, { timeoutMs: 60_000, what: '100 messages published before the kill' });
    await nats.stop('SIGKILL');
    killed.open();
    // Down for a while: every worker's retries fail to connect a few times, not only the publishes in flight at the kill.
    const failedAtKill = tally.failed;
    await eventually(() => tally.failed >= failedAtKill + 40 && [...tally.errors].some((e) => e.includes('cannot connect')), {
      timeoutMs: 30_000,
      what: 'publishes failing while the server is down',
    });
    await nats.start();
    await publishing;

    expect(tally.done).toBe(count);
    const ids = new Set<string>();
    const got = await readStream(stream, (m) => {
      for (const message of m) ids.add(message.headers['Nats-Msg-Id']);
      return ids.size >= count;
    }, 60_000);
    expect([...ids].sort()).toEqual(steps.map((s) => `${gid}/${s.branchId}`).sort());
    // Retries of a message the stream had stored before the kill are dropped as duplicates.
    expect(got.length).toBe(count);
    process.stdout.write(`nats restart run: ${count} messages, ${tally.failed} failed attempts (${[...tally.errors].join(' | ')}), ${got.length} stored\n`);
  });
});
