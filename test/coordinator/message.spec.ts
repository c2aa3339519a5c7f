/**
 * Reliable messages (docs/contract.md §10) against real participants on every store: prepare,
 * submit and every step delivered until it succeeds; abort while PREPARED; a message left PREPARED
 * past its timeout asked about through queryPrepared (COMMITTED delivers, ROLLED_BACK aborts,
 * anything else asks again later); conflicts and bad bodies.
 */
import { createStore, STORE_KINDS, startCoordinator, type RunningCoordinator, type TestStore } from '../support/coordinator.in-process';
import type { CoordinatorApi } from '../support/coordinator.api';
import { ParticipantServer } from '../support/participant.server';
import { closeAll, eventually, randomSuffix } from '../support/wait';

describe.each(STORE_KINDS)('reliable messages on %s', (kind) => {
  let store: TestStore | undefined;
  let coordinator: RunningCoordinator | undefined;
  let participant: ParticipantServer;
  let api: CoordinatorApi;

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    store = await createStore(kind);
    coordinator = await startCoordinator(store, {
      TCC_REQUEST_TIMEOUT_MS: '500',
      // Long: nothing here may wait for a lease to expire (a submit joining a query round must deliver at once).
      TCC_LEASE_MS: '30000',
      TCC_RETRY_BASE_MS: '50',
      TCC_RETRY_MAX_MS: '200',
      TCC_SCAN_INTERVAL_MS: '100',
      TCC_COMMIT_WAIT_MS: '10000',
    });
    api = coordinator.api;
  });

  afterAll(async () => {
    await closeAll(
      () => coordinator?.close(),
      () => participant?.close(),
      () => store?.dispose(),
    );
  });

  function message(gid: string, ids: string[], timeoutMs = 60_000) {
    return {
      gid,
      timeoutMs,
      queryPrepared: participant.url(`/${gid}/query`),
      steps: ids.map((id) => ({ branchId: id, protocol: 'http', action: participant.url(`/${gid}/${id}/deliver`), payload: { id } })),
    };
  }

  it('prepare, then submit: every step delivered once with phase message, COMMITTED; repeats answer the same', async () => {
    const gid = `msg-ok-${randomSuffix()}`;
    const prepared = await api.prepareMessage(message(gid, ['points', 'mail']));
    expect(prepared.status).toBe(201);
    expect(prepared.body).toMatchObject({ gid, status: 'PREPARED' });
    expect((await api.prepareMessage(message(gid, ['points', 'mail']))).status).toBe(200);
    expect(participant.callsFor(gid)).toEqual([]);
    expect((await api.view(gid)).mode).toBe('message');

    const submitted = await api.submitMessage(gid, { wait: true });
    expect(submitted.body).toEqual({ gid, status: 'COMMITTED' });
    const calls = participant.callsFor(gid);
    expect(calls.map((c) => `${c.branchId}:${c.phase}`).sort()).toEqual(['mail:message', 'points:message']);
    expect(calls.find((c) => c.branchId === 'points')?.body).toEqual({ gid, branchId: 'points', phase: 'message', payload: { id: 'points' } });
    expect((await api.view(gid)).branches.map((b) => b.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);

    expect((await api.submitMessage(gid)).body).toEqual({ gid, status: 'COMMITTED' });
    const abort = await api.abortMessage(gid);
    expect([abort.status, abort.error.status]).toEqual([409, 'COMMITTED']);
    expect(participant.callsFor(gid)).toHaveLength(2);
  });

  it('a delivery that fails (a refusal included) is retried until it succeeds', async () => {
    const gid = `msg-retry-${randomSuffix()}`;
    participant.behave(`/${gid}/a/deliver`, { kind: 'fail', status: 500, times: 2 });
    participant.behave(`/${gid}/b/deliver`, { kind: 'fail', status: 409, times: 1 });
    await api.prepareMessage(message(gid, ['a', 'b']));
    expect((await api.submitMessage(gid)).body.status).toBe('COMMITTING');
    await api.waitForStatus(gid, ['COMMITTED'], 30_000);
    expect(participant.callsFor(gid, 'a').map((c) => c.answer)).toEqual([500, 500, 200]);
    expect(participant.callsFor(gid, 'b').map((c) => c.answer)).toEqual([409, 200]);
  });

  it('abort while PREPARED: ROLLED_BACK, nothing delivered, submit then answers 409', async () => {
    const gid = `msg-abort-${randomSuffix()}`;
    await api.prepareMessage(message(gid, ['a']));
    expect((await api.abortMessage(gid, { reason: 'local transaction failed' })).body).toEqual({ gid, status: 'ROLLED_BACK' });
    expect((await api.abortMessage(gid)).body).toEqual({ gid, status: 'ROLLED_BACK' });
    const submit = await api.submitMessage(gid);
    expect([submit.status, submit.error.status]).toEqual([409, 'ROLLED_BACK']);
    expect(participant.callsFor(gid)).toEqual([]);
  });

  it('PREPARED past its timeout: queryPrepared answering COMMITTED delivers every step', async () => {
    const gid = `msg-query-commit-${randomSuffix()}`;
    participant.behave(`/${gid}/query`, { kind: 'ok', body: JSON.stringify({ status: 'COMMITTED' }) });
    await api.prepareMessage(message(gid, ['a', 'b'], 300));
    await api.waitForStatus(gid, ['COMMITTED'], 30_000);
    const [query] = participant.callsFor(gid, 'prepared', 'query');
    expect(query.body).toEqual({ gid, branchId: 'prepared', phase: 'query', payload: null });
    expect(participant.callsFor(gid, undefined, 'message').map((c) => c.branchId).sort()).toEqual(['a', 'b']);
  });

  it('queryPrepared answering ROLLED_BACK aborts it: nothing delivered', async () => {
    const gid = `msg-query-abort-${randomSuffix()}`;
    participant.behave(`/${gid}/query`, { kind: 'ok', body: JSON.stringify({ status: 'ROLLED_BACK' }) });
    await api.prepareMessage(message(gid, ['a'], 300));
    await api.waitForStatus(gid, ['ROLLED_BACK'], 30_000);
    expect(participant.callsFor(gid, undefined, 'message')).toEqual([]);
  });

  it('queryPrepared failing, or answering another status, is asked again later', async () => {
    const gid = `msg-query-later-${randomSuffix()}`;
    participant.behave(`/${gid}/query`, { kind: 'fail', status: 503, times: 2 });
    await api.prepareMessage(message(gid, ['a'], 300));
    // Two failures, then 200 with a body that is not a decision ({ ok: true }): still PREPARED.
    await participant.waitForCalls((c) => c.gid === gid && c.phase === 'query', 4, 30_000);
    expect((await api.view(gid)).status).toBe('PREPARED');
    participant.behave(`/${gid}/query`, { kind: 'ok', body: JSON.stringify({ status: 'COMMITTED' }) });
    await api.waitForStatus(gid, ['COMMITTED'], 30_000);
    expect(participant.callsFor(gid, 'a', 'message')).toHaveLength(1);
  });

  it('an initiator that submits while the coordinator asks: exactly one decision, delivered once', async () => {
    const gid = `msg-race-${randomSuffix()}`;
    participant.behave(`/${gid}/query`, { kind: 'ok', delayMs: 300, body: JSON.stringify({ status: 'COMMITTED' }) });
    await api.prepareMessage(message(gid, ['a'], 100));
    await participant.waitForCalls((c) => c.gid === gid && c.phase === 'query', 1, 30_000);
    const submit = await api.submitMessage(gid, { wait: true });
    expect(submit.body).toEqual({ gid, status: 'COMMITTED' });
    await eventually(() => (participant.callsFor(gid, 'a', 'message').length >= 1 ? true : undefined), { timeoutMs: 10_000 });
    expect(participant.callsFor(gid, 'a', 'message').filter((c) => c.answer === 200)).toHaveLength(1);
  });

  it('refuses bad messages with 400 naming the field, writing nothing', async () => {
    const gid = `msg-bad-${randomSuffix()}`;
    const ok = message(gid, ['a']);
    const cases: [Record<string, unknown>, string][] = [
      [{ ...ok, gid: undefined }, 'gid'],
      [{ ...ok, queryPrepared: undefined }, 'queryPrepared'],
      [{ ...ok, queryPrepared: 'http://10.9.9.9:1/query' }, 'queryPrepared'],
      [{ ...ok, steps: [] }, 'steps'],
      [{ ...ok, steps: [{ branchId: 'a', protocol: 'amqp', action: 'nobroker/ex/key' }] }, 'steps[0].action'],
      [{ ...ok, steps: [{ branchId: 'a', protocol: 'smtp', action: 'x' }] }, 'steps[0].protocol'],
    ];
    for (const [body, field] of cases) {
      const res = await api.prepareMessage(body);
      expect([res.status, res.error.fields]).toEqual([400, expect.arrayContaining([field])]);
    }
    expect((await api.get(gid)).status).toBe(404);
    const unknown = await api.submitMessage(`msg-none-${randomSuffix()}`);
    expect(unknown.status).toBe(404);
  });
});
