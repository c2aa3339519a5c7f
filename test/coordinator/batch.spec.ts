/**
 * Group commit on MariaDB: the writes of concurrent requests share batches, and each request still
 * gets exactly the answer it would get alone: duplicate gids (one 201, the repeat 200 with the same
 * times), identical and conflicting branch registrations, registrations after a decision (409 with
 * the status), commits racing the timeout (COMMITTED, or 409 with the rollback: never both), all in
 * the same bursts. Then the coordinator process is killed with SIGKILL in the middle of bursts:
 * every answered write is in the database afterwards, every unanswered one is absent or finishes.
 */
import { LifecycleStore } from '../../apps/coordinator/src/store/lifecycle.store';
import { createCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap';
import { CoordinatorApi } from '../support/coordinator.api';
import { TEST_DEFAULTS } from '../support/coordinator.in-process';
import { assertBuilt, CoordinatorProcess } from '../support/coordinator.process';
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { eventually, randomSuffix, sleep } from '../support/wait';

const FAST = {
  TCC_SCAN_INTERVAL_MS: '100',
  TCC_RETRY_BASE_MS: '50',
  TCC_RETRY_MAX_MS: '200',
  TCC_LEASE_MS: '2000',
  TCC_REQUEST_TIMEOUT_MS: '1000',
  TCC_COMMIT_WAIT_MS: '5000',
};

describe('group commit: every request of a batch gets its own answer', () => {
  let db: TestDatabase;
  let participant: ParticipantServer;
  let coordinator: RunningCoordinator;
  let api: CoordinatorApi;
  let store: LifecycleStore;

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    db = await createTestDatabase();
    // A window of 20 ms gathers each burst into a few batches, so the conflicts meet inside batches.
    coordinator = await createCoordinator({ ...TEST_DEFAULTS, ...FAST, TCC_DB_URL: db.url, TCC_WRITE_BATCH_WINDOW_MS: '20' });
    api = new CoordinatorApi(coordinator.url);
    store = coordinator.app.get(LifecycleStore);
  });

  afterAll(async () => {
    await coordinator?.close();
    await api?.close();
    await participant?.close();
    await db?.drop();
  });

  it('answers duplicate begins in one burst with one 201 and repeats of the same transaction', async () => {
    const before = store.batchStats;
    const gids = Array.from({ length: 40 }, (_, i) => `dup-${i}-${randomSuffix()}`);
    const answers = await Promise.all(gids.flatMap((gid) => [api.begin({ gid, timeoutMs: 60_000 }), api.begin({ gid, timeoutMs: 60_000 }), api.begin({ gid })]));
    for (const [i, gid] of gids.entries()) {
      const three = answers.slice(3 * i, 3 * i + 3);
      expect(three.map((a) => a.status).sort()).toEqual([200, 200, 201]);
      const created = three.find((a) => a.status === 201)!;
      for (const a of three) expect(a.body).toEqual({ gid, status: 'TRYING', createdAt: created.body.createdAt, expiresAt: created.body.expiresAt });
      const view = await api.view(gid);
      expect([view.createdAt, view.expiresAt]).toEqual([created.body.createdAt, created.body.expiresAt]);
    }
    const after = store.batchStats;
    // The burst was written in batches of several writes, not one write each.
    expect(after.writes - before.writes).toBeGreaterThanOrEqual(gids.length);
    expect(after.batches - before.batches).toBeLessThan(after.writes - before.writes);
  });

  it('answers identical, conflicting and late registrations in one burst as it would one by one', async () => {
    const route = participant.branch(`burst-${randomSuffix()}`);
    const open = await Promise.all(Array.from({ length: 20 }, () => api.begin({ timeoutMs: 60_000 })));
    const decided = await Promise.all(Array.from({ length: 20 }, () => api.begin({ timeoutMs: 60_000 })));
    for (const d of decided) expect((await api.commit(d.body.gid, { wait: true })).body.status).toBe('COMMITTED');
    const bursts = await Promise.all([
      // Each open transaction: the same branch twice (201 and 200) and a conflicting one (409).
      ...open.flatMap(({ body: { gid } }) => [
        api.register(gid, { branchId: 'b1', protocol: 'http', ...route }).then((r) => ({ gid, kind: 'same', r })),
        api.register(gid, { branchId: 'b1', protocol: 'http', ...route }).then((r) => ({ gid, kind: 'same', r })),
        api.register(gid, { branchId: 'b1', protocol: 'http', ...route, payload: { other: true } }).then((r) => ({ gid, kind: 'other', r })),
        api.register(gid, { branchId: 'b2', protocol: 'http', ...route }).then((r) => ({ gid, kind: 'second', r })),
      ]),
      // Each decided transaction: a registration after the decision.
      ...decided.map(({ body: { gid } }) => api.register(gid, { branchId: 'late', protocol: 'http', ...route }).then((r) => ({ gid, kind: 'late', r }))),
    ]);
    for (const { body: { gid } } of open) {
      const mine = bursts.filter((b) => b.gid === gid);
      const same = mine.filter((b) => b.kind === 'same').map((b) => b.r.status);
      const other = mine.find((b) => b.kind === 'other')!.r;
      if (other.status === 201) {
        // The different registration got there first: both identical ones conflict with it.
        expect(same).toEqual([409, 409]);
      } else {
        expect(same.sort()).toEqual([200, 201]);
        expect(other.status).toBe(409);
        expect(other.error.status).toBe('TRYING');
      }
      expect(mine.find((b) => b.kind === 'second')!.r.status).toBe(201);
      expect((await api.view(gid)).branches.map((b) => b.branchId).sort()).toEqual(['b1', 'b2']);
    }
    for (const late of bursts.filter((b) => b.kind === 'late')) {
      expect(late.r.status).toBe(409);
      expect(late.r.error.status).toBe('COMMITTED');
      expect((await api.view(late.gid)).branches).toEqual([]);
    }
  });

  it('splits a burst of large registrations into packets the server takes, every one answered 201', async () => {
    const route = participant.branch(`large-${randomSuffix()}`);
    const begun = await Promise.all(Array.from({ length: 100 }, () => api.begin({ timeoutMs: 60_000 })));
    const before = store.batchStats;
    // 100 payloads of about 60 KB: some 6 MB of SQL, cut into packets of at most 4 MB (MySQL's
    // max_allowed_packet is 16 MiB by default before 8.0).
    const payload = { blob: 'x'.repeat(60_000) };
    const answers = await Promise.all(begun.map(({ body: { gid } }) => api.register(gid, { branchId: 'big', protocol: 'http', ...route, payload })));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
    const after = store.batchStats;
    expect(after.writes - before.writes).toBe(100);
    expect(after.batches - before.batches).toBeGreaterThanOrEqual(3);
    const committed = await api.commit(begun[0].body.gid, { wait: true });
    expect(committed.body.status).toBe('COMMITTED');
    expect(participant.callsFor(begun[0].body.gid)[0].body?.payload).toEqual(payload);
  });

  it('lets each commit racing the timeout either win or get 409 with the rollback, never both, 200 times', async () => {
    const route = participant.branch(`race-${randomSuffix()}`);
    // Room for the set-up on a busy machine; the commits are then aimed around each deadline.
    const timeoutMs = 2_500;
    const begun = await Promise.all(Array.from({ length: 200 }, () => api.begin({ timeoutMs })));
    await Promise.all(begun.map(({ body: { gid } }) => api.register(gid, { branchId: 'b1', protocol: 'http', ...route })));
    const started = Date.now();
    // Commits spread around the deadline, in bursts that share batches with the scheduler's rollbacks.
    const answers = await Promise.all(
      begun.map(async ({ body }, i) => {
        await sleep(Math.max(0, Date.parse(body.expiresAt) - Date.now() - 60 + (i % 12) * 10));
        return { gid: body.gid, r: await api.commit(body.gid, { wait: true }) };
      }),
    );
    let won = 0;
    for (const { gid, r } of answers) {
      const final = await api.waitForStatus(gid, ['COMMITTED', 'ROLLED_BACK']);
      const calls = participant.callsFor(gid);
      if (r.status === 200) {
        won++;
        expect(r.body.status).toBe('COMMITTED');
        expect(final.status).toBe('COMMITTED');
        expect(calls.every((c) => c.phase === 'confirm')).toBe(true);
      } else {
        expect(r.status).toBe(409);
        expect(['ROLLING_BACK', 'ROLLED_BACK']).toContain(r.error.status);
        expect(final.status).toBe('ROLLED_BACK');
        expect(calls.every((c) => c.phase === 'cancel')).toBe(true);
      }
    }
    // How many won depends on timing, which tests never judge: each answer above agreed with the outcome.
    console.log(`batch race: ${won} of 200 commits won against a ${timeoutMs} ms deadline in ${Date.now() - started} ms`);
  });
});

describe('group commit: the coordinator killed in the middle of batches', () => {
  let db: TestDatabase;
  let participant: ParticipantServer;
  let proc: CoordinatorProcess;
  let api: CoordinatorApi;

  beforeAll(async () => {
    assertBuilt();
    participant = await ParticipantServer.start();
    db = await createTestDatabase();
    proc = new CoordinatorProcess({ ...TEST_DEFAULTS, ...FAST, TCC_DB_URL: db.url });
    await proc.start();
    api = new CoordinatorApi(proc.url);
  });

  afterAll(async () => {
    await proc?.stop();
    await api?.close();
    await participant?.close();
    await db?.drop();
  });

  it('keeps every answered write and finishes or forgets every unanswered one, three kills', async () => {
    const route = participant.branch(`kill-${randomSuffix()}`);
    const answeredBegins = new Set<string>();
    const answeredBranches = new Set<string>();
    const committed = new Set<string>();
    const attempted = new Set<string>();
    for (let round = 0; round < 3; round++) {
      let stop = false;
      const worker = async (w: number): Promise<void> => {
        for (let n = 0; !stop; n++) {
          const gid = `kill-${round}-${w}-${n}-${randomSuffix(4)}`;
          attempted.add(gid);
          try {
            const begun = await api.begin({ gid, timeoutMs: 1500 });
            if (begun.status !== 201) return;
            answeredBegins.add(gid);
            const reg = await api.register(gid, { branchId: 'b1', protocol: 'http', ...route });
            if (reg.status !== 201) return;
            answeredBranches.add(gid);
            const done = await api.commit(gid, { wait: false });
            if (done.status === 200) committed.add(gid);
          } catch {
            return; // the process died under this request: its fate is checked below
          }
        }
      };
      const workers = Array.from({ length: 32 }, (_, w) => worker(w));
      // Kill once this round has had some writes answered, so batches are in flight, whatever the machine's speed.
      const answeredBefore = answeredBegins.size;
      await eventually(() => answeredBegins.size >= answeredBefore + 20, { timeoutMs: 30_000, what: 'writes answered before the kill' });
      await sleep(100 * round);
      await proc.kill('SIGKILL');
      stop = true;
      await Promise.all(workers);
      await proc.start();
      api.baseUrl = proc.url;
    }
    expect(answeredBegins.size).toBeGreaterThan(20);
    // Answered writes are durable; unanswered ones are absent, or present and finish.
    for (const gid of attempted) {
      const res = await api.get(gid);
      if (answeredBegins.has(gid)) expect(res.status).toBe(200);
      if (res.status === 404) continue;
      expect(res.status).toBe(200);
      if (answeredBranches.has(gid)) expect(res.body.branches.map((b) => b.branchId)).toEqual(['b1']);
      const final = await api.waitForStatus(gid, ['COMMITTED', 'ROLLED_BACK'], 30_000);
      if (committed.has(gid)) expect(final.status).toBe('COMMITTED');
      const phases = new Set(participant.callsFor(gid).map((c) => c.phase));
      expect(phases.size).toBeLessThanOrEqual(1);
      if (final.status === 'COMMITTED') expect([...phases]).toEqual(['confirm']);
    }
    console.log(`kill -9 mid-batch: ${attempted.size} attempted, ${answeredBegins.size} begun, ${answeredBranches.size} registered, ${committed.size} committed`);
  });
});
