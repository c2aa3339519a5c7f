/**
 * The retry budget (docs/contract.md §2, §7): a branch whose confirm, cancel, compensation or
 * delivery keeps failing past its `maxAttempts` or `retryFor` stops being retried, and its
 * transaction, keeping its status, is flagged for attention with why, announced once to the alert
 * webhook and counted in tcc_retry_budget_spent_total{mode}; the admin's retry now resets it and
 * drives it to its end, audited. Without a budget nothing changes (unlimited retries). The
 * coordinator runs in this process on the server database of the run (and on SQLite in the
 * MariaDB run); participants and the webhook are real HTTP servers in the test.
 */
import { ParticipantServer } from '../support/participant.server';
import { createStore, startCoordinator, STORE_KINDS, type RunningCoordinator, type TestStore } from '../support/coordinator.in-process';
import { closeAll, eventually, randomSuffix } from '../support/wait';
import { WebhookServer } from '../replicas/support/webhook.server';
import { GrpcCoordinatorApi } from '../grpc/support/grpc-coordinator.api';
import { OperateClient, type AdminDetail } from './support/admin.client';
import { Scrape } from './support/metrics.text';
import { MAX_ATTEMPTS_LIMIT, MAX_RETRY_FOR_MS, type BranchRetryBudget, type TransactionView } from '@tcc/client/protocol';

const TOKEN = `budget-${randomSuffix(24)}`;
const HOUR = 3_600_000;
const ALWAYS = 1_000_000;

const REASON = /^NEEDS_ATTENTION: retry budget spent: branch (\S+) failed (\d+) times over (\d+) ms: (.+)$/;

interface Flagged extends AdminDetail {
  attentionReason: string | null;
}

describe.each(STORE_KINDS)('retry budget on %s', (kind) => {
  let store: TestStore | undefined;
  let coordinator: RunningCoordinator | undefined;
  let participant: ParticipantServer | undefined;
  let webhook: WebhookServer | undefined;
  let admin: OperateClient;
  let rpc: GrpcCoordinatorApi | undefined;

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    webhook = await WebhookServer.start();
    store = await createStore(kind);
    coordinator = await startCoordinator(store, {
      TCC_ADMIN_TOKEN: TOKEN,
      TCC_ALERT_WEBHOOK_URL: webhook.url,
      // Only the budget flags here: the time-based flag is an hour away.
      TCC_ATTENTION_AFTER_MS: String(HOUR),
      TCC_RETRY_BASE_MS: '50',
      TCC_RETRY_MAX_MS: '100',
      TCC_SCAN_INTERVAL_MS: '50',
      TCC_REQUEST_TIMEOUT_MS: '1000',
      TCC_LEASE_MS: '2000',
      TCC_COMMIT_WAIT_MS: '5000',
    });
    admin = new OperateClient(coordinator.url, TOKEN);
    rpc = new GrpcCoordinatorApi(coordinator.grpcAddress);
  });

  afterAll(async () => {
    await closeAll(
      () => rpc?.close(),
      () => admin?.close(),
      () => coordinator?.close(),
      () => participant?.close(),
      () => webhook?.close(),
      () => store?.dispose(),
    );
  });

  const api = () => coordinator!.api;

  async function scrape(): Promise<Scrape> {
    const res = await admin.as(undefined).send('GET', '/metrics');
    expect(res.status).toBe(200);
    return new Scrape(res.text);
  }

  /** Begins a TCC transaction with `budget`, and registers one branch per route name with its own fields. */
  async function begin(label: string, budget: Record<string, number>, branches: Array<{ route: string } & Record<string, unknown>>): Promise<string> {
    const gid = `${label}-${randomSuffix(10)}`;
    const res = await api().begin({ gid, timeoutMs: HOUR, ...budget });
    expect(res.status).toBe(201);
    for (const [k, { route, ...fields }] of branches.entries()) {
      const reg = await api().register(gid, { branchId: `b${k + 1}`, participant: route, protocol: 'http', ...participant!.branch(route), ...fields });
      expect(reg.status).toBe(201);
    }
    return gid;
  }

  /** Waits for the budget's flag: the admin detail with its attention reason. */
  function flagged(gid: string): Promise<Flagged> {
    return eventually(
      async () => {
        const view = (await admin.view(gid)) as Flagged;
        return view.attentionReason?.startsWith('NEEDS_ATTENTION: retry budget spent') ? view : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 25, what: `${gid} flagged for its spent retry budget` },
    );
  }

  /** Lets at least `n` more recovery scans run (each would claim a due transaction). */
  async function scansPass(n: number): Promise<void> {
    const before = (await scrape()).value('tcc_recovery_scans_total');
    await eventually(async () => (await scrape()).value('tcc_recovery_scans_total') >= before + n, { timeoutMs: 10_000, intervalMs: 25, what: `${n} more recovery scans` });
  }

  function webhookFor(gid: string) {
    return eventually(() => webhook!.calls.find((c) => (c.body as { gid?: string } | undefined)?.gid === gid), { timeoutMs: 10_000, intervalMs: 20, what: `the alert for ${gid}` });
  }

  it('stops confirming after maxAttempts, keeps COMMITTING, flags and alerts once; retry now resets it and commits, audited', async () => {
    participant!.behave('/max-confirm/confirm', { kind: 'fail', status: 503, times: ALWAYS, body: 'ledger down' });
    const spentBefore = (await scrape()).value('tcc_retry_budget_spent_total', { mode: 'tcc' });
    const gid = await begin('budget-max', { maxAttempts: 3 }, [{ route: 'max-confirm' }]);
    expect((await api().commit(gid, { wait: false })).body).toMatchObject({ status: 'COMMITTING' });

    const view = await flagged(gid);
    expect(view.status).toBe('COMMITTING');
    const m = REASON.exec(view.attentionReason ?? '');
    expect(m).not.toBeNull();
    expect(m![1]).toBe('b1');
    expect(Number(m![2])).toBe(3);
    expect(m![4]).toContain('503');
    expect(view.nextAttemptAt).toBeNull();
    expect(view.attentionAt).not.toBeNull();
    expect(participant!.callsFor(gid, 'b1', 'confirm')).toHaveLength(3);

    // The public view shows the budget that applies (the transaction's) and that it is spent.
    const pub = await api().view(gid);
    expect(pub.retryBudget).toMatchObject({ retryFor: null, maxAttempts: 3 });
    expect(pub.retryBudget?.spentAt).toEqual(expect.any(String));
    expect(pub.branches[0].retryBudget).toMatchObject<Partial<BranchRetryBudget>>({ retryFor: null, maxAttempts: 3, failures: 3 });
    expect(Date.parse(pub.branches[0].retryBudget!.spentAt!)).not.toBeNaN();

    const alert = await webhookFor(gid);
    expect(alert.body).toMatchObject({ gid, status: 'COMMITTING', branchId: 'b1', attempts: 3, reason: view.attentionReason });
    expect((await scrape()).value('tcc_retry_budget_spent_total', { mode: 'tcc' })).toBe(spentBefore + 1);
    // Listed among those that need attention.
    const listed = await admin.list({ attention: true, limit: 500 });
    const item = listed.body.items.find((t) => t.gid === gid) as (typeof listed.body.items)[number] & { budgetSpentAt?: string | null };
    expect(item).toMatchObject({ status: 'COMMITTING', budgetSpentAt: pub.retryBudget?.spentAt });

    // Several scans later: never claimed again, so never called again, and still COMMITTING.
    await scansPass(5);
    expect(participant!.callsFor(gid, 'b1', 'confirm')).toHaveLength(3);
    expect((await api().view(gid)).status).toBe('COMMITTING');
    expect(webhook!.calls.filter((c) => (c.body as { gid?: string }).gid === gid)).toHaveLength(1);

    // The participant recovers; a person retries: reset, one round, COMMITTED, audited.
    participant!.behave('/max-confirm/confirm', { kind: 'ok' });
    const retried = await admin.retry(gid, { reason: 'ledger is back' }, { 'x-tcc-actor': 'alice' });
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual({ gid, status: 'COMMITTED' });
    const after = (await admin.view(gid)) as Flagged;
    expect(after.status).toBe('COMMITTED');
    expect(after.attentionAt).toBeNull();
    expect(after.attentionReason).toBeNull();
    expect(after.branches[0]).toMatchObject({ status: 'CONFIRMED', attempts: 4, retryBudget: { failures: 0, spentAt: null } });
    expect(after.audit.map((a) => [a.action, a.actor, a.reason])).toEqual([
      ['retry', 'alice', 'ledger is back'],
      ['reset-retry-budget', 'alice', 'ledger is back'],
    ]);
  });

  it("spends a branch's own retryFor (which wins over its transaction's maxAttempts), counted from its first failed confirm", async () => {
    participant!.behave('/for-confirm/confirm', { kind: 'fail', status: 500, times: ALWAYS });
    participant!.behave('/for-ok/confirm', { kind: 'ok' });
    const gid = await begin('budget-for', { maxAttempts: 1_000 }, [{ route: 'for-confirm', retryFor: 400 }, { route: 'for-ok' }]);
    await api().commit(gid, { wait: false });
    const view = await flagged(gid);
    const m = REASON.exec(view.attentionReason ?? '')!;
    expect(m[1]).toBe('b1');
    expect(Number(m[3])).toBeGreaterThanOrEqual(400);
    expect(Number(m[2])).toBeGreaterThanOrEqual(2);
    expect(view.status).toBe('COMMITTING');
    const [b1, b2] = view.branches;
    expect(b1.retryBudget).toMatchObject({ retryFor: 400, maxAttempts: null, failures: Number(m[2]) });
    // The other branch confirmed in the first round and is kept.
    expect(b2).toMatchObject({ status: 'CONFIRMED', retryBudget: { retryFor: null, maxAttempts: 1_000, failures: 0, spentAt: null } });
    const calls = participant!.callsFor(gid, 'b1', 'confirm').length;
    expect(calls).toBe(Number(m[2]));
    await scansPass(5);
    expect(participant!.callsFor(gid, 'b1', 'confirm')).toHaveLength(calls);
    expect(participant!.callsFor(gid, 'b2', 'confirm')).toHaveLength(1);
  });

  it("stops a rollback's cancels after the budget: stays ROLLING_BACK, flagged; retry now finishes it", async () => {
    participant!.behave('/rb-cancel/cancel', { kind: 'fail', status: 502, times: ALWAYS });
    const gid = await begin('budget-rb', {}, [{ route: 'rb-cancel', maxAttempts: 2 }]);
    expect((await api().rollback(gid, { wait: false, reason: 'try failed' })).body).toMatchObject({ status: 'ROLLING_BACK' });
    const view = await flagged(gid);
    expect(view.status).toBe('ROLLING_BACK');
    expect(REASON.exec(view.attentionReason ?? '')?.[2]).toBe('2');
    await scansPass(5);
    expect(participant!.callsFor(gid, 'b1', 'cancel')).toHaveLength(2);
    expect((await api().view(gid)).status).toBe('ROLLING_BACK');
    participant!.behave('/rb-cancel/cancel', { kind: 'ok' });
    expect((await admin.retry(gid, {})).body).toEqual({ gid, status: 'ROLLED_BACK' });
  });

  it('resolving the spent branch by hand lets the others be retried again, to the end', async () => {
    participant!.behave('/res-dead/confirm', { kind: 'fail', status: 500, times: ALWAYS });
    participant!.behave('/res-slow/confirm', { kind: 'fail', status: 500, times: 2 });
    const gid = await begin('budget-resolve', {}, [{ route: 'res-dead', maxAttempts: 2 }, { route: 'res-slow', maxAttempts: 100 }]);
    await api().commit(gid, { wait: false });
    const view = await flagged(gid);
    expect(view.branches.map((b) => [b.branchId, b.status])).toEqual([
      ['b1', 'REGISTERED'],
      ['b2', 'REGISTERED'],
    ]);
    // Parked as a whole: b2, which has budget left, waits too.
    await scansPass(3);
    expect(participant!.callsFor(gid, 'b2', 'confirm')).toHaveLength(2);
    const resolved = await admin.resolve(gid, 'b1', { reason: 'confirmed in the ledger by hand' }, { 'x-tcc-actor': 'bob' });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toEqual({ gid, status: 'COMMITTING' });
    const done = await api().waitForStatus(gid, ['COMMITTED'], 15_000);
    expect(done.branches.map((b) => [b.branchId, b.status])).toEqual([
      ['b1', 'CONFIRMED'],
      ['b2', 'CONFIRMED'],
    ]);
    expect(participant!.callsFor(gid, 'b1', 'confirm')).toHaveLength(2);
    expect(participant!.callsFor(gid, 'b2', 'confirm')).toHaveLength(3);
    const after = (await admin.view(gid)) as Flagged;
    expect(after.attentionAt).toBeNull();
    expect(after.audit.map((a) => [a.action, a.actor])).toEqual([['resolve-branch', 'bob']]);
  });

  it("budgets a saga's compensations and a message's deliveries, counted by mode", async () => {
    const before = await scrape();
    participant!.behave('/saga-refuse/action', { kind: 'fail', status: 409, times: ALWAYS });
    participant!.behave('/saga-done/action', { kind: 'ok' });
    participant!.behave('/saga-done/compensate', { kind: 'fail', status: 500, times: ALWAYS });
    const saga = `budget-saga-${randomSuffix(10)}`;
    const started = await api().startSaga({
      gid: saga,
      timeoutMs: HOUR,
      steps: [
        { branchId: 's1', protocol: 'http', action: participant!.url('/saga-done/action'), compensate: participant!.url('/saga-done/compensate'), maxAttempts: 2 },
        { branchId: 's2', protocol: 'http', action: participant!.url('/saga-refuse/action'), compensate: participant!.url('/saga-refuse/compensate') },
      ],
    });
    expect(started.status).toBe(201);
    const sagaView = await flagged(saga);
    expect(sagaView.status).toBe('ROLLING_BACK');
    expect(REASON.exec(sagaView.attentionReason ?? '')?.slice(1, 3)).toEqual(['s1', '2']);

    participant!.behave('/msg-deliver/action', { kind: 'fail', status: 503, times: ALWAYS });
    const message = `budget-msg-${randomSuffix(10)}`;
    const prepared = await api().prepareMessage({
      gid: message,
      steps: [{ branchId: 'm1', protocol: 'http', action: participant!.url('/msg-deliver/action') }],
      queryPrepared: participant!.url('/msg-query'),
      timeoutMs: HOUR,
      retryFor: HOUR,
      maxAttempts: 2,
    });
    expect(prepared.status).toBe(201);
    expect((await api().submitMessage(message, { wait: false })).status).toBe(200);
    const msgView = await flagged(message);
    expect(msgView.status).toBe('COMMITTING');
    expect(msgView.branches[0].retryBudget).toMatchObject({ retryFor: HOUR, maxAttempts: 2, failures: 2 });

    const after = await scrape();
    expect(after.value('tcc_retry_budget_spent_total', { mode: 'saga' })).toBe(before.value('tcc_retry_budget_spent_total', { mode: 'saga' }) + 1);
    expect(after.value('tcc_retry_budget_spent_total', { mode: 'message' })).toBe(before.value('tcc_retry_budget_spent_total', { mode: 'message' }) + 1);
  });

  it('without any budget (coordinator defaults unset) retries without limit and never flags', async () => {
    participant!.behave('/free-confirm/confirm', { kind: 'fail', status: 500, times: 8 });
    const gid = await begin('budget-none', {}, [{ route: 'free-confirm' }]);
    await api().commit(gid, { wait: false });
    const done = await api().waitForStatus(gid, ['COMMITTED'], 20_000);
    expect(done.branches[0]).toMatchObject({ attempts: 9, retryBudget: { retryFor: null, maxAttempts: null, spentAt: null } });
    expect(done.retryBudget).toEqual({ retryFor: null, maxAttempts: null, spentAt: null });
    const view = (await admin.view(gid)) as Flagged;
    expect(view.attentionAt).toBeNull();
    expect(webhook!.calls.some((c) => (c.body as { gid?: string }).gid === gid)).toBe(false);
  });

  it('stores the budget of a begin that also asks for a completion callback', async () => {
    const gid = `budget-cb-${randomSuffix(10)}`;
    const res = await api().begin({ gid, timeoutMs: HOUR, retryFor: 7_000, maxAttempts: 2, callback: participant!.url('/cb/finished') });
    expect(res.status).toBe(201);
    expect((await api().register(gid, { branchId: 'b1', protocol: 'http', ...participant!.branch('cb-branch') })).status).toBe(201);
    const view = await api().view(gid);
    expect(view.retryBudget).toEqual({ retryFor: 7_000, maxAttempts: 2, spentAt: null });
    expect(view.branches[0].retryBudget).toEqual({ retryFor: 7_000, maxAttempts: 2, failures: 0, spentAt: null });
  });

  it('refuses a bad budget with a 400 naming the field, before anything is written', async () => {
    const cases: Array<[string, () => Promise<{ status: number; body: unknown }>, string]> = [
      ['begin retryFor 0', () => api().begin({ retryFor: 0 }), 'retryFor'],
      ['begin maxAttempts past the bound', () => api().begin({ maxAttempts: MAX_ATTEMPTS_LIMIT + 1 }), 'maxAttempts'],
      ['begin retryFor past the bound', () => api().begin({ retryFor: MAX_RETRY_FOR_MS + 1 }), 'retryFor'],
      ['begin maxAttempts as text', () => api().begin({ maxAttempts: '3' }), 'maxAttempts'],
      ['begin retryFor fractional', () => api().begin({ retryFor: 1.5 }), 'retryFor'],
      [
        'saga step maxAttempts 0',
        () => api().startSaga({ steps: [{ branchId: 's1', protocol: 'http', action: participant!.url('/a'), compensate: participant!.url('/c'), maxAttempts: 0 }] }),
        'steps[0].maxAttempts',
      ],
      [
        'message retryFor negative',
        () => api().prepareMessage({ gid: `bad-${randomSuffix(8)}`, steps: [{ branchId: 'm1', protocol: 'http', action: participant!.url('/a') }], queryPrepared: participant!.url('/q'), retryFor: -1 }),
        'retryFor',
      ],
    ];
    for (const [what, send, field] of cases) {
      const res = await send();
      expect({ what, status: res.status, fields: (res.body as { fields?: string[] }).fields }).toEqual({ what, status: 400, fields: [field] });
    }
    const gid = await begin('budget-bad', {}, []);
    const reg = await api().register(gid, { branchId: 'b1', protocol: 'http', ...participant!.branch('x'), maxAttempts: -3 });
    expect(reg.status).toBe(400);
    expect(reg.body).toMatchObject({ fields: ['maxAttempts'] });
    expect((await api().view(gid)).branches).toEqual([]);
  });

  it('takes and shows the budget over gRPC, and refuses a bad one as INVALID_ARGUMENT naming the field', async () => {
    const gid = `budget-grpc-${randomSuffix(10)}`;
    const begun = await rpc!.begin({ gid, timeoutMs: HOUR, retryForMs: 90_000, maxAttempts: 4 });
    expect(begun.codeName).toBe('OK');
    expect((await rpc!.register({ gid, branchId: 'g1', protocol: 'http', ...participant!.branch('grpc-ok'), maxAttempts: 7 })).codeName).toBe('OK');
    expect((await rpc!.register({ gid, branchId: 'g2', protocol: 'http', ...participant!.branch('grpc-ok2') })).codeName).toBe('OK');
    const got = await rpc!.get(gid);
    expect(got.codeName).toBe('OK');
    expect(got.reply).toMatchObject({ retryForMs: 90_000, maxAttempts: 4 });
    const [g1, g2] = got.reply.branches ?? [];
    expect(g1).toMatchObject({ branchId: 'g1', maxAttempts: 7 });
    expect(g1.retryForMs ?? 0).toBe(0);
    expect(g2).toMatchObject({ branchId: 'g2', retryForMs: 90_000, maxAttempts: 4 });
    const pub: TransactionView = await api().view(gid);
    expect(pub.branches.map((b) => b.retryBudget)).toEqual([
      { retryFor: null, maxAttempts: 7, failures: 0, spentAt: null },
      { retryFor: 90_000, maxAttempts: 4, failures: 0, spentAt: null },
    ]);

    const bad = await rpc!.begin({ maxAttempts: -1 });
    expect(bad.codeName).toBe('INVALID_ARGUMENT');
    expect(bad.fields).toEqual(['maxAttempts']);
    const badStep = await rpc!.register({ gid, branchId: 'g3', protocol: 'http', ...participant!.branch('grpc-ok3'), retryForMs: MAX_RETRY_FOR_MS + 1 });
    expect(badStep.codeName).toBe('INVALID_ARGUMENT');
    expect(badStep.fields).toEqual(['retryFor']);
  });
});

describe('retry budget from the coordinator defaults (TCC_MAX_ATTEMPTS)', () => {
  let store: TestStore | undefined;
  let coordinator: RunningCoordinator | undefined;
  let participant: ParticipantServer | undefined;
  let admin: OperateClient | undefined;

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    store = await createStore(STORE_KINDS[0]);
    coordinator = await startCoordinator(store, {
      TCC_ADMIN_TOKEN: TOKEN,
      TCC_ATTENTION_AFTER_MS: String(HOUR),
      TCC_MAX_ATTEMPTS: '2',
      TCC_RETRY_BASE_MS: '50',
      TCC_RETRY_MAX_MS: '100',
      TCC_SCAN_INTERVAL_MS: '50',
      TCC_REQUEST_TIMEOUT_MS: '1000',
      TCC_LEASE_MS: '2000',
    });
    admin = new OperateClient(coordinator.url, TOKEN);
  });

  afterAll(async () => {
    await closeAll(
      () => admin?.close(),
      () => coordinator?.close(),
      () => participant?.close(),
      () => store?.dispose(),
    );
  });

  it('applies the default to a transaction without a budget, and a budget of its own over the default', async () => {
    participant!.behave('/dflt/confirm', { kind: 'fail', status: 500, times: ALWAYS });
    const plain = `budget-dflt-${randomSuffix(10)}`;
    const own = `budget-own-${randomSuffix(10)}`;
    for (const [gid, budget] of [[plain, {}], [own, { maxAttempts: 4 }]] as const) {
      expect((await coordinator!.api.begin({ gid, timeoutMs: HOUR, ...budget })).status).toBe(201);
      expect((await coordinator!.api.register(gid, { branchId: 'b1', protocol: 'http', ...participant!.branch('dflt') })).status).toBe(201);
      await coordinator!.api.commit(gid, { wait: false });
    }
    const waitFlag = (gid: string) =>
      eventually(
        async () => {
          const view = (await admin!.view(gid)) as Flagged;
          return view.attentionReason?.startsWith('NEEDS_ATTENTION') ? view : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 25, what: `${gid} flagged` },
      );
    expect(REASON.exec((await waitFlag(plain)).attentionReason ?? '')?.[2]).toBe('2');
    expect(REASON.exec((await waitFlag(own)).attentionReason ?? '')?.[2]).toBe('4');
    const view = await coordinator!.api.view(plain);
    expect(view.branches[0].retryBudget).toMatchObject({ retryFor: null, maxAttempts: 2, failures: 2 });
    expect(participant!.callsFor(plain, 'b1', 'confirm')).toHaveLength(2);
    expect(participant!.callsFor(own, 'b1', 'confirm')).toHaveLength(4);
  });
});
