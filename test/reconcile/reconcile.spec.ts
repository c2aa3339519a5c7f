/**
 * Reconciliation (docs/contract.md §13) against real parts: the coordinator on the test database,
 * a participant service built with the library (two TCC participants with business rows and a
 * @TccReconcile() view) on a database of its own, and real HTTP servers for the webhook and for a
 * participant that goes away. A clean run over thousands of finished transactions finds nothing;
 * rows deleted or edited behind the library's back, in the barrier and in the business table, are
 * each found with both views, alerted, counted, and change no transaction; the rate holds; the
 * admin API refuses bad input naming the field.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ParticipantCaller, GrpcChannels } from '@tcc/client/caller';
import { participantGrpcService, type ReconcileAnswer } from '@tcc/client';
import { BarrierCleanupService } from '@tcc/client/barrier/barrier-cleanup.service';
import { createStore, SERVER, startCoordinator, type RunningCoordinator, type TestStore } from '../support/coordinator.in-process';
import { OperateClient } from '../operate/support/admin.client';
import { WebhookServer } from '../replicas/support/webhook.server';
import { closeAll, eventually } from '../support/wait';
import { reconcileQueries, SIGNING_KEY, startLedgerApp, type LedgerApp } from './support/ledger.app';

const ADMIN_TOKEN = 'reconcile-spec-admin-token';
const CLEAN_COUNT = 2_000;

interface RunView {
  id: string;
  state: string;
  from: string;
  to: string;
  checked: number;
  branches: number;
  mismatches: number;
  unreachable: number;
  expired: number;
  skipped: number;
  queries: number;
  findings: { gid: string; branchId: string; kind: string; coordinator: Record<string, unknown>; participant: Record<string, unknown> }[];
  nextCursor: number | null;
}

function coordinatorEnv(store: TestStore, webhook: WebhookServer, extra: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    ...store.env,
    TCC_ADMIN_TOKEN: ADMIN_TOKEN,
    TCC_SIGNING_KEYS: SIGNING_KEY,
    TCC_ALERT_WEBHOOK_URL: webhook.url,
    TCC_RETRY_BASE_MS: '20',
    TCC_RETRY_MAX_MS: '200',
    TCC_SCAN_INTERVAL_MS: '100',
    TCC_REQUEST_TIMEOUT_MS: '2000',
    TCC_LEASE_MS: '5000',
    ...extra,
  };
}

describe(`reconciliation (${SERVER})`, () => {
  let store: TestStore;
  let webhook: WebhookServer;
  let coordinator: RunningCoordinator;
  let ledger: LedgerApp;
  let admin: OperateClient;
  let remote: Server;
  let remoteUrl: string;

  /** Starts a run over [from, to) and waits for it to end; answers it with every finding. */
  async function reconcile(from: number, to: number, timeoutMs = 90_000): Promise<{ run: RunView; ms: number }> {
    const started = Date.now();
    const answer = await admin.send<RunView>('POST', '/admin/v1/reconciliations', { json: { from: new Date(from).toISOString(), to: new Date(to).toISOString() } });
    expect(answer.status).toBe(202);
    expect(answer.body.state).toBe('RUNNING');
    const id = answer.body.id;
    const run = await eventually(
      async () => {
        const got = await admin.send<RunView>('GET', `/admin/v1/reconciliations/${id}?limit=500`);
        return got.body.state === 'RUNNING' ? undefined : got.body;
      },
      { timeoutMs, intervalMs: 100, what: `reconciliation ${id} to end` },
    );
    return { run, ms: Date.now() - started };
  }

  /** Finished transactions whose finish time lies in [from, to): the window's size. */
  async function windowSize(from: number, to: number): Promise<number> {
    const rows = await store.database!.query(
      "SELECT COUNT(*) AS n FROM tcc_transactions WHERE status IN ('COMMITTED', 'ROLLED_BACK') AND updated_at >= ? AND updated_at < ?",
      [from, to],
    );
    return Number(rows[0].n);
  }

  /** Waits until no transaction is unfinished (rollbacks are not awaited by the initiator). */
  async function allFinished(): Promise<void> {
    await eventually(async () => {
      const rows = await store.database!.query("SELECT COUNT(*) AS n FROM tcc_transactions WHERE status NOT IN ('COMMITTED', 'ROLLED_BACK')");
      return Number(rows[0].n) === 0;
    }, { timeoutMs: 60_000, what: 'every transaction to finish' });
  }

  /** `count` transactions, `concurrency` at a time; every `rollbackEvery`-th refused by the wallet. */
  async function pay(count: number, rollbackEvery: number, concurrency = 24): Promise<{ gid: string; committed: boolean }[]> {
    const out: { gid: string; committed: boolean }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const i = next++;
          out.push(await ledger.checkout.pay(rollbackEvery > 0 && i % rollbackEvery === 0));
        }
      }),
    );
    await allFinished();
    return out;
  }

  beforeAll(async () => {
    store = await createStore(SERVER);
    webhook = await WebhookServer.start();
    // Unthrottled for the clean run; the rate test restarts it with the default rate.
    coordinator = await startCoordinator(store, coordinatorEnv(store, webhook, { TCC_RECONCILE_RATE: '0' }));
    ledger = await startLedgerApp(coordinator.url);
    admin = new OperateClient(coordinator.url, ADMIN_TOKEN);
    remote = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((resolve) => remote.listen(0, '127.0.0.1', resolve));
    remoteUrl = `http://127.0.0.1:${(remote.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await closeAll(
      () => ledger?.close(),
      () => coordinator?.close(),
      () => webhook?.close(),
      () => new Promise((resolve) => (remote?.listening ? remote.close(resolve) : resolve(undefined))),
      () => store?.dispose(),
    );
  });

  let cleanFrom = 0;
  let cleanTo = 0;

  it(`finds nothing in ${CLEAN_COUNT} finished transactions that nobody touched`, async () => {
    cleanFrom = Date.now() - 1;
    const made = Date.now();
    const results = await pay(CLEAN_COUNT, 10);
    const makeMs = Date.now() - made;
    cleanTo = Date.now() + 1;
    expect(results.filter((r) => !r.committed).length).toBe(CLEAN_COUNT / 10);
    const size = await windowSize(cleanFrom, cleanTo);
    expect(size).toBe(CLEAN_COUNT);

    const queriesBefore = reconcileQueries.length;
    const { run, ms } = await reconcile(cleanFrom, cleanTo);
    expect(run.state).toBe('DONE');
    expect(run.findings).toEqual([]);
    expect(run).toMatchObject({ checked: CLEAN_COUNT, mismatches: 0, unreachable: 0, expired: 0, skipped: 0 });
    // Every branch asked once: a committed one has stock and wallet; a refused one has both too.
    expect(run.branches).toBe(2 * CLEAN_COUNT);
    expect(run.queries).toBe(2 * CLEAN_COUNT);
    expect(reconcileQueries.length - queriesBefore).toBe(2 * CLEAN_COUNT);
    const metrics = (await admin.send('GET', '/metrics')).text;
    expect(metrics).toMatch(new RegExp(`^tcc_reconciliation_checked_total ${CLEAN_COUNT}$`, 'm'));
    expect(metrics).toMatch(/^tcc_reconciliation_runs_total\{outcome="clean"\} 1$/m);
    expect(webhook.calls).toEqual([]);
    // The cost, unthrottled (reported in the README).
    console.log(
      `reconcile cost (${SERVER}, unthrottled): ${CLEAN_COUNT} transactions (${run.queries} queries) in ${ms} ms = ` +
        `${Math.round((ms * 1000) / CLEAN_COUNT)} ms and ${(run.queries * 1000) / CLEAN_COUNT} queries per 1000 transactions; made in ${makeMs} ms`,
    );
  }, 240_000);

  it('finds rows deleted or edited behind the library, in the barrier and the business table, each with both views; changes nothing', async () => {
    const from = Date.now() - 1;
    const committed: string[] = [];
    for (let i = 0; i < 6; i++) committed.push((await ledger.checkout.pay(false)).gid);
    const rolledBack = (await ledger.checkout.pay(true)).gid;
    const gone = (await ledger.checkout.pay(false, remoteUrl)).gid;
    await allFinished();
    const to = Date.now() + 1;
    const [missingConfirm, cancelledButCommitted, unknown, editedBusiness, deletedBusiness, missingTry] = committed;
    const barrier = (sql: string, params: unknown[]): Promise<unknown> => ledger.query(sql, params);
    await barrier("DELETE FROM tcc_barrier WHERE gid = ? AND branch_id = 'wallet' AND phase = 'confirm'", [missingConfirm]);
    await barrier("INSERT INTO tcc_barrier (gid, branch_id, phase, reason, created_at) VALUES (?, 'stock', 'cancel', 'cancel', ?)", [cancelledButCommitted, Date.now()]);
    await barrier("DELETE FROM tcc_barrier WHERE gid = ? AND branch_id = 'stock'", [unknown]);
    await barrier("UPDATE ledger_holds SET state = 'CANCELLED' WHERE gid = ? AND participant = 'wallet'", [editedBusiness]);
    await barrier("DELETE FROM ledger_holds WHERE gid = ? AND participant = 'stock'", [deletedBusiness]);
    await barrier("DELETE FROM tcc_barrier WHERE gid = ? AND branch_id = 'wallet' AND phase = 'try'", [missingTry]);
    // The rolled-back transaction's stock branch was tried and cancelled: its cancel row becomes a confirm row.
    await barrier("UPDATE tcc_barrier SET phase = 'confirm', reason = 'confirm' WHERE gid = ? AND branch_id = 'stock' AND phase = 'cancel'", [rolledBack]);
    // The remote participant goes away: unreachable, not a mismatch.
    await new Promise((resolve) => remote.close(resolve));

    const { run } = await reconcile(from, to);
    expect(run.state).toBe('DONE');
    expect(run.checked).toBe(8);
    const byGid = new Map(run.findings.map((f) => [`${f.gid}/${f.branchId}`, f]));
    const expected: [string, string, string][] = [
      [missingConfirm, 'wallet', 'MISSING_CONFIRM'],
      [cancelledButCommitted, 'stock', 'CANCELLED_BUT_COMMITTED'],
      [unknown, 'stock', 'UNKNOWN_TO_PARTICIPANT'],
      [editedBusiness, 'wallet', 'BUSINESS_MISMATCH'],
      [deletedBusiness, 'stock', 'BUSINESS_MISMATCH'],
      [missingTry, 'wallet', 'MISSING_TRY'],
      [rolledBack, 'stock', 'CONFIRMED_BUT_ROLLED_BACK'],
      [gone, 'remote', 'UNREACHABLE'],
    ];
    expect([...byGid.entries()].map(([key, f]) => [key, f.kind]).sort()).toEqual(expected.map(([gid, branch, kind]) => [`${gid}/${branch}`, kind]).sort());
    expect(run).toMatchObject({ mismatches: 7, unreachable: 1 });

    // Both views: the coordinator's decision, and what the participant answered.
    const confirmGone = byGid.get(`${missingConfirm}/wallet`)!;
    expect(confirmGone.coordinator).toMatchObject({ mode: 'tcc', status: 'COMMITTED', branchStatus: 'CONFIRMED', participant: 'wallet' });
    expect(typeof confirmGone.coordinator.decidedAt).toBe('string');
    expect((confirmGone.participant as unknown as ReconcileAnswer).rows.map((r) => r.phase)).toEqual(['try']);
    expect((confirmGone.participant as unknown as ReconcileAnswer).business).toEqual({ state: 'confirmed', detail: { row: 'CONFIRMED' } });
    const edited = byGid.get(`${editedBusiness}/wallet`)!;
    expect(edited.coordinator).toMatchObject({ status: 'COMMITTED', branchStatus: 'CONFIRMED' });
    expect((edited.participant as unknown as ReconcileAnswer).business).toEqual({ state: 'cancelled', detail: { row: 'CANCELLED' } });
    expect((byGid.get(`${deletedBusiness}/stock`)!.participant as unknown as ReconcileAnswer).business).toEqual({ state: 'none' });
    expect((byGid.get(`${unknown}/stock`)!.participant as unknown as ReconcileAnswer).rows).toEqual([]);
    const rolled = byGid.get(`${rolledBack}/stock`)!;
    expect(rolled.coordinator).toMatchObject({ status: 'ROLLED_BACK', branchStatus: 'CANCELLED' });
    expect((rolled.participant as unknown as ReconcileAnswer).rows.map((r) => r.phase).sort()).toEqual(['confirm', 'try']);
    expect(byGid.get(`${gone}/remote`)!.participant).toMatchObject({ error: expect.stringMatching(/ECONNREFUSED|connect/i) });

    // Alerted once per mismatch (not for the unreachable one), and counted by kind.
    await eventually(() => webhook.calls.length >= 7, { what: 'seven webhook alerts' });
    const alerts = webhook.calls.map((c) => c.body as { kind: string; gid: string; mismatch: string; coordinator: unknown; participant: unknown });
    expect(alerts.every((a) => a.kind === 'reconciliation-mismatch' && a.coordinator && a.participant)).toBe(true);
    expect(alerts.map((a) => a.mismatch).sort()).toEqual(expected.filter(([, , k]) => k !== 'UNREACHABLE').map(([, , k]) => k).sort());
    const metrics = (await admin.send('GET', '/metrics')).text;
    expect(metrics).toMatch(/^tcc_reconciliation_mismatches_total\{kind="BUSINESS_MISMATCH"\} 2$/m);
    expect(metrics).toMatch(/^tcc_reconciliation_mismatches_total\{kind="MISSING_CONFIRM"\} 1$/m);
    expect(metrics).toMatch(/^tcc_reconciliation_unreachable_total 1$/m);
    expect(metrics).toMatch(/^tcc_reconciliation_runs_total\{outcome="mismatches"\} 1$/m);

    // Nothing changed: every transaction keeps its status, nothing is due.
    for (const gid of [...committed, gone]) expect((await coordinator.api.get(gid)).body.status).toBe('COMMITTED');
    expect((await coordinator.api.get(rolledBack)).body.status).toBe('ROLLED_BACK');

    // The run is listed.
    const list = await admin.send<{ items: RunView[] }>('GET', '/admin/v1/reconciliations');
    expect(list.status).toBe(200);
    expect(list.body.items[0].id).toBe(run.id);
  }, 120_000);

  it("counts branches older than the participant's barrier retention, whose rows its cleanup removed, as expired: not mismatches", async () => {
    const shortLived = await startLedgerApp(coordinator.url, { retentionMs: 1_000 });
    try {
      const from = Date.now() - 1;
      for (let i = 0; i < 2; i++) expect((await shortLived.checkout.pay(false)).committed).toBe(true);
      await allFinished();
      const to = Date.now() + 1;
      // The participant's own cleanup removes the rows once they are older than its retention.
      const cleanup = shortLived.app.get(BarrierCleanupService);
      await eventually(async () => (await cleanup.runOnce()) >= 0 && Number((await shortLived.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM tcc_barrier'))[0].n) === 0, {
        what: 'the barrier cleanup to remove every row older than a second',
      });
      const { run } = await reconcile(from, to);
      expect(run).toMatchObject({ state: 'DONE', checked: 2, branches: 4, expired: 4, mismatches: 0, unreachable: 0 });
      expect(run.findings).toEqual([]);
    } finally {
      await shortLived.close();
    }
  });

  it('answers the same over HTTP and gRPC (tcc.v1.participants.<Name>/Reconcile), and refuses an unsigned query', async () => {
    const caller = new ParticipantCaller(new GrpcChannels());
    try {
      const [gid] = (await pay(1, 0)).map((r) => r.gid);
      const body = { gid, branchId: 'wallet', phase: 'reconcile' as const, payload: null };
      const http = await caller.call({ protocol: 'http', target: `${ledger.url}/tcc/wallet/reconcile`, body, timeoutMs: 5_000, signingKey: SIGNING_KEY });
      const grpc = await caller.call({ protocol: 'grpc', target: `${ledger.grpcAddress}/${participantGrpcService('wallet')}/Reconcile`, body, timeoutMs: 5_000, signingKey: SIGNING_KEY });
      expect(http.outcome).toBe('done');
      expect(grpc.outcome).toBe('done');
      const a = (http as unknown as { body: ReconcileAnswer }).body;
      const b = (grpc as unknown as { body: ReconcileAnswer }).body;
      expect(a).toMatchObject({ gid, branchId: 'wallet', participant: 'wallet', kind: 'tcc', business: { state: 'confirmed' } });
      expect(a.rows.map((r) => `${r.phase}:${r.reason}`)).toEqual(['try:try', 'confirm:confirm']);
      expect(b.rows).toEqual(a.rows);
      const unsigned = await caller.call({ protocol: 'http', target: `${ledger.url}/tcc/wallet/reconcile`, body, timeoutMs: 5_000 });
      expect(unsigned).toMatchObject({ outcome: 'refused', statusCode: 401, code: 'SIGNATURE_INVALID' });
    } finally {
      await caller.onApplicationShutdown();
    }
  });

  it('keeps to TCC_RECONCILE_RATE (default 100 a second): never more than the rate and its burst in any second', async () => {
    await coordinator.close();
    coordinator = await startCoordinator(store, coordinatorEnv(store, webhook));
    admin = new OperateClient(coordinator.url, ADMIN_TOKEN);
    // The first 300 transactions of the clean window: 600 queries.
    const rows = await store.database!.query(
      "SELECT updated_at FROM tcc_transactions WHERE status IN ('COMMITTED', 'ROLLED_BACK') AND updated_at >= ? ORDER BY updated_at, gid LIMIT 1 OFFSET 300",
      [cleanFrom],
    );
    const to = Number(rows[0].updated_at);
    const size = await windowSize(cleanFrom, to);
    const first = reconcileQueries.length;
    const { run, ms } = await reconcile(cleanFrom, to);
    expect(run).toMatchObject({ state: 'DONE', checked: size, mismatches: 0 });
    const times = reconcileQueries.slice(first);
    expect(times.length).toBe(2 * size);
    let most = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i] - times[j] >= 1000) j++;
      most = Math.max(most, i - j + 1);
    }
    // Rate 100 with a burst of 10 (the bucket), plus a few for requests crossing a second at the server.
    expect(most).toBeLessThanOrEqual(100 + 10 + 5);
    // And it is not slower than the rate makes it by much: it took at least (queries - burst) / rate.
    expect(ms).toBeGreaterThanOrEqual(((times.length - 10) / 100) * 1000 - 50);
    console.log(
      `reconcile cost (${SERVER}, rate 100/s): ${size} transactions (${run.queries} queries) in ${ms} ms = ` +
        `${Math.round((ms * 1000) / size)} ms per 1000 transactions; at most ${most} queries in one second`,
    );
  }, 120_000);

  it('refuses bad admin input naming the field, and answers 404 for an unknown run', async () => {
    const post = (json: unknown): Promise<{ status: number; error: { fields?: string[] } }> =>
      admin.send('POST', '/admin/v1/reconciliations', { json }) as never;
    const missing = await post({});
    expect(missing.status).toBe(400);
    expect(missing.error.fields).toEqual(expect.arrayContaining(['from', 'to']));
    const badFrom = await post({ from: 'yesterday', to: '2026-12-01T00:00:00Z' });
    expect(badFrom.status).toBe(400);
    expect(badFrom.error.fields).toEqual(['from']);
    const badTo = await post({ from: '2026-12-01T00:00:00Z', to: 12 });
    expect(badTo.status).toBe(400);
    expect(badTo.error.fields).toEqual(['to']);
    const backwards = await post({ from: '2026-12-01T10:00:00Z', to: '2026-12-01T09:00:00Z' });
    expect(backwards.status).toBe(400);
    expect(backwards.error.fields).toEqual(['to']);
    const extra = await post({ from: '2026-12-01T00:00:00Z', to: '2026-12-01T01:00:00Z', force: true });
    expect(extra.status).toBe(400);
    const badActor = await admin.send<unknown>('POST', '/admin/v1/reconciliations', {
      json: { from: '2026-12-01T00:00:00Z', to: '2026-12-01T01:00:00Z' },
      headers: { 'x-tcc-actor': 'a'.repeat(129) },
    });
    expect(badActor.status).toBe(400);
    expect(badActor.error.fields).toEqual(['x-tcc-actor']);
    expect((await admin.send('GET', '/admin/v1/reconciliations/rec-0-nothere')).status).toBe(404);
    expect((await admin.send('GET', `/admin/v1/reconciliations/${'x'.repeat(65)}`)).status).toBe(400);
    expect((await admin.as(undefined).send('GET', '/admin/v1/reconciliations')).status).toBe(401);
    expect((await admin.as(undefined).send('POST', '/admin/v1/reconciliations', { json: { from: '2026-12-01T00:00:00Z', to: '2026-12-01T01:00:00Z' } })).status).toBe(401);
  });
});

// The embedded store too (in the default run only, as the coordinator's other storage suites).
(SERVER === 'mariadb' ? describe : describe.skip)('reconciliation on the embedded SQLite store', () => {
  let store: TestStore;
  let webhook: WebhookServer;
  let coordinator: RunningCoordinator;
  let ledger: LedgerApp;

  beforeAll(async () => {
    store = await createStore('sqlite');
    webhook = await WebhookServer.start();
    coordinator = await startCoordinator(store, coordinatorEnv(store, webhook, { TCC_RECONCILE_RATE: '0', TCC_RECONCILE_BATCH: '7' }));
    ledger = await startLedgerApp(coordinator.url);
  });

  afterAll(async () => {
    await closeAll(
      () => ledger?.close(),
      () => coordinator?.close(),
      () => webhook?.close(),
      () => store?.dispose(),
    );
  });

  it('pages through the window with its cursor and finds a missing confirm', async () => {
    const from = Date.now() - 1;
    const gids: string[] = [];
    for (let i = 0; i < 30; i++) gids.push((await ledger.checkout.pay(i % 10 === 0)).gid);
    const admin = new OperateClient(coordinator.url, ADMIN_TOKEN);
    try {
      await eventually(async () => {
        for (const gid of gids) if (!['COMMITTED', 'ROLLED_BACK'].includes((await coordinator.api.get(gid)).body.status)) return false;
        return true;
      }, { what: 'every transaction to finish' });
      const to = Date.now() + 1;
      await ledger.query("DELETE FROM tcc_barrier WHERE gid = ? AND branch_id = 'stock' AND phase = 'confirm'", [gids[1]]);
      const started = await admin.send<{ id: string }>('POST', '/admin/v1/reconciliations', { json: { from: new Date(from).toISOString(), to: new Date(to).toISOString() } });
      expect(started.status).toBe(202);
      const run = await eventually(async () => {
        const got = await admin.send<RunView>('GET', `/admin/v1/reconciliations/${started.body.id}`);
        return got.body.state === 'RUNNING' ? undefined : got.body;
      }, { what: 'the run to end' });
      expect(run).toMatchObject({ state: 'DONE', checked: 30, branches: 60, mismatches: 1, unreachable: 0 });
      expect(run.findings.map((f) => [f.gid, f.branchId, f.kind])).toEqual([[gids[1], 'stock', 'MISSING_CONFIRM']]);
    } finally {
      await admin.close();
    }
  });
});
