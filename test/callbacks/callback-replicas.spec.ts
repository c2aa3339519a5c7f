/**
 * A completion callback survives the replica sending it (docs/contract.md §11): two coordinator
 * replicas as real processes on the test database. Both scanning (no Redis), 40 callbacks whose
 * first attempts fail are each sent once per attempt, never by both. The replica that finished a transaction is
 * SIGKILLed while its callback is claimed and in flight (the receiver holds the call unanswered);
 * the other replica takes the callback over once the dead one's lease expires and delivers it,
 * and it is recorded DELIVERED once. Then the last replica is SIGKILLed while a callback is owed
 * (its receiver failing), and the same replica, restarted, delivers it.
 */
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { closeAll, eventually, randomSuffix } from '../support/wait';
import { disposeAll, startReplicas, type Replica } from '../replicas/support/replica';
import { sample, scrape } from '../replicas/support/metrics';
import { CallbackReceiver } from './support/callback.receiver';

/** Long beside a call (4 s at most): a lease never expires under a live send here, so any second send would be a fault. */
const LEASE_MS = 8_000;

describe('a completion callback whose replica is killed', () => {
  let db: TestDatabase | undefined;
  let participant: ParticipantServer | undefined;
  let receiver: CallbackReceiver | undefined;
  let replicas: Replica[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    participant = await ParticipantServer.start();
    receiver = await CallbackReceiver.start();
    // No Redis: every replica scans, and the database leases alone keep them apart.
    replicas = await startReplicas(2, {
      TCC_DB_URL: db.url,
      TCC_SCAN_INTERVAL_MS: '200',
      TCC_REQUEST_TIMEOUT_MS: '1000',
      TCC_CALLBACK_TIMEOUT_MS: '4000',
      TCC_LEASE_MS: String(LEASE_MS),
      TCC_CALLBACK_RETRY_BASE_MS: '100',
      TCC_CALLBACK_RETRY_MAX_MS: '500',
    });
  });

  afterAll(async () => {
    await closeAll(
      () => disposeAll(replicas),
      () => receiver?.close(),
      () => participant?.close(),
      () => db?.drop(),
    );
  });

  const callbackRow = async (gid: string): Promise<{ state: string; owner: string | null; attempts: number; delivered_at: unknown }> => {
    const [row] = await db!.query<{ state: string; owner: string | null; attempts: number; delivered_at: unknown }>(
      'SELECT state, owner, attempts, delivered_at FROM tcc_callbacks WHERE gid = ?',
      [gid],
    );
    return row;
  };

  it('two replicas scanning the same callbacks send each once: 40 callbacks, every first attempt failing', async () => {
    const COUNT = 40;
    const run = randomSuffix(6);
    receiver!.failFirstOfEach = true;
    try {
      const gids = Array.from({ length: COUNT }, (_, i) => `cb-two-${run}-${i}`);
      await Promise.all(
        gids.map(async (gid, i) => {
          const api = replicas[i % 2].api;
          expect((await api.begin({ gid, callback: receiver!.url('/two') })).status).toBe(201);
          expect((await api.register(gid, { branchId: 'b1', protocol: 'http', ...participant!.branch(`${gid}/b1`) })).status).toBe(201);
          expect((await api.commit(gid, { wait: true })).body.status).toBe('COMMITTED');
        }),
      );
      await eventually(
        async () => {
          const [row] = await db!.query<{ n: number }>(`SELECT COUNT(*) AS n FROM tcc_callbacks WHERE gid LIKE ? AND state = 'DELIVERED'`, [`cb-two-${run}-%`]);
          return Number(row.n) === COUNT || undefined;
        },
        { timeoutMs: 30_000, what: `all ${COUNT} callbacks DELIVERED` },
      );
      for (const gid of gids) {
        expect({ gid, answers: receiver!.callsFor(gid).map((c) => c.answer) }).toEqual({ gid, answers: [500, 200] });
        expect(Number((await callbackRow(gid)).attempts)).toBe(2);
      }
      const scrapes = await Promise.all(replicas.map((r) => scrape(r.url)));
      const total = (outcome: string): number => scrapes.reduce((n, text) => n + (sample(text, 'tcc_callbacks_total', { outcome }) ?? 0), 0);
      expect(total('failed')).toBe(COUNT);
      expect(total('delivered')).toBe(COUNT);
    } finally {
      receiver!.failFirstOfEach = false;
    }
  });

  it('is delivered by the surviving replica after the sender is SIGKILLed mid-send', async () => {
    const [doomed, survivor] = replicas;
    const gid = `cb-kill-${randomSuffix()}`;
    receiver!.hang = true;
    expect((await doomed.api.begin({ gid, callback: receiver!.url('/hook') })).status).toBe(201);
    expect((await doomed.api.register(gid, { branchId: 'b1', protocol: 'http', ...participant!.branch(`${gid}/b1`) })).status).toBe(201);
    expect((await doomed.api.commit(gid, { wait: true })).body.status).toBe('COMMITTED');

    // The replica that finished it sends at once; the receiver holds the call.
    await eventually(() => receiver!.callsFor(gid).length >= 1 || undefined, { what: 'the first callback call' });
    const inFlight = await callbackRow(gid);
    expect(inFlight.state).toBe('DUE');
    expect(inFlight.delivered_at).toBeNull();
    const killedPid = doomed.pid;
    const deliveredBefore = sample(await scrape(survivor.url), 'tcc_callbacks_total', { outcome: 'delivered' }) ?? 0;
    await doomed.kill('SIGKILL');
    expect(doomed.running).toBe(false);

    receiver!.hang = false;
    const [delivered] = await receiver!.waitForDelivery(gid, 1, 30_000);
    expect(delivered.body.payload).toMatchObject({ gid, status: 'COMMITTED', mode: 'tcc' });
    const row = await eventually(
      async () => {
        const r = await callbackRow(gid);
        return r.state === 'DELIVERED' ? r : undefined;
      },
      { what: `${gid} recorded DELIVERED` },
    );
    expect(row.owner).toBeNull();
    expect(Number(row.delivered_at)).toBeGreaterThan(0);
    // The killed replica's call never counted as an attempt; the survivor's did.
    expect(Number(row.attempts)).toBeGreaterThanOrEqual(1);
    expect(sample(await scrape(survivor.url), 'tcc_callbacks_total', { outcome: 'delivered' })).toBe(deliveredBefore + 1);
    expect(survivor.pid).not.toBe(killedPid);
    // One 200 only: once DELIVERED it is never claimed again (a later callback through the same scan proves the scan ran since).
    const later = `cb-kill-later-${randomSuffix()}`;
    expect((await survivor.api.begin({ gid: later, callback: receiver!.url('/hook') })).status).toBe(201);
    expect((await survivor.api.rollback(later, { wait: true })).body.status).toBe('ROLLED_BACK');
    await receiver!.waitForDelivery(later);
    expect(receiver!.callsFor(gid).filter((c) => c.answer === 200)).toHaveLength(1);
  });

  it('is delivered by a replica restarted after a SIGKILL, when every replica was down while it was owed', async () => {
    // Only the survivor of the test above runs; its receiver fails this path until the restart.
    const replica = replicas.find((r) => r.running)!;
    const gid = `cb-restart-${randomSuffix()}`;
    receiver!.failPaths.add('/restart');
    expect((await replica.api.begin({ gid, callback: receiver!.url('/restart') })).status).toBe(201);
    expect((await replica.api.rollback(gid, { wait: true })).body.status).toBe('ROLLED_BACK');
    const failed = await eventually(
      async () => {
        const r = await callbackRow(gid);
        return Number(r.attempts) >= 2 ? r : undefined;
      },
      { what: `two failed attempts of ${gid}` },
    );
    expect(failed.state).toBe('DUE');
    await replica.kill('SIGKILL');
    expect(replicas.some((r) => r.running)).toBe(false);

    receiver!.failPaths.delete('/restart');
    await replica.start();
    const [delivered] = await receiver!.waitForDelivery(gid, 1, 30_000);
    expect(delivered.body.payload).toMatchObject({ gid, status: 'ROLLED_BACK' });
    const row = await eventually(
      async () => {
        const r = await callbackRow(gid);
        return r.state === 'DELIVERED' ? r : undefined;
      },
      { what: `${gid} recorded DELIVERED by the restarted replica` },
    );
    // Counted: the two failures before the kill and the delivery after (a call cut by the kill is sent but never counted).
    expect(Number(row.attempts)).toBeGreaterThanOrEqual(3);
    expect(Number(row.attempts)).toBeLessThanOrEqual(receiver!.callsFor(gid).length);
    expect(sample(await scrape(replica.url), 'tcc_callbacks_total', { outcome: 'delivered' })).toBe(1);
  });
});
