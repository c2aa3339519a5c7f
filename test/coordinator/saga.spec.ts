/**
 * Sagas (docs/contract.md §9) against real participants (an HTTP server in the test) on every store:
 * actions in order, a refusal compensating every step whose action was sent in reverse order
 * (sequential and concurrent with `after`), the deadline turning failing actions into
 * compensation, compensations retried until they succeed, repeats and bad bodies.
 */
import { createStore, STORE_KINDS, startCoordinator, type RunningCoordinator, type TestStore } from '../support/coordinator.in-process';
import type { CoordinatorApi } from '../support/coordinator.api';
import { ParticipantServer, type RecordedCall } from '../support/participant.server';
import { closeAll, randomSuffix } from '../support/wait';

describe.each(STORE_KINDS)('sagas on %s', (kind) => {
  let store: TestStore | undefined;
  let coordinator: RunningCoordinator | undefined;
  let participant: ParticipantServer;
  let api: CoordinatorApi;

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    store = await createStore(kind);
    coordinator = await startCoordinator(store, {
      TCC_REQUEST_TIMEOUT_MS: '500',
      TCC_LEASE_MS: '2000',
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

  /** A step whose action and compensation are `/<gid>/<id>/action` and `/<gid>/<id>/compensate`. */
  function step(gid: string, id: string, payload: unknown = { id }) {
    return { branchId: id, protocol: 'http', action: participant.url(`/${gid}/${id}/action`), compensate: participant.url(`/${gid}/${id}/compensate`), payload };
  }

  const seqOf = (calls: RecordedCall[], id: string, phase: string): number => {
    const found = calls.find((c) => c.branchId === id && c.phase === phase);
    if (!found) throw new Error(`no ${phase} call for ${id}`);
    return found.seq;
  };

  it('runs every action in order, each once, and ends COMMITTED with mode saga', async () => {
    const gid = `saga-ok-${randomSuffix()}`;
    const res = await api.startSaga({ gid, steps: ['s1', 's2', 's3'].map((id) => step(gid, id)), wait: true });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ gid, status: 'COMMITTED' });
    const calls = participant.callsFor(gid);
    expect(calls.map((c) => `${c.branchId}:${c.phase}`)).toEqual(['s1:action', 's2:action', 's3:action']);
    expect(calls[0].body).toEqual({ gid, branchId: 's1', phase: 'action', payload: { id: 's1' } });
    const view = await api.view(gid);
    expect(view.mode).toBe('saga');
    expect(view.branches.map((b) => [b.branchId, b.status, b.attempts])).toEqual([
      ['s1', 'SUCCEEDED', 1],
      ['s2', 'SUCCEEDED', 1],
      ['s3', 'SUCCEEDED', 1],
    ]);
    // The same saga again is a repeat: 200 with its status, nothing sent again.
    const again = await api.startSaga({ gid, steps: ['s1', 's2', 's3'].map((id) => step(gid, id)) });
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('COMMITTED');
    expect(participant.callsFor(gid)).toHaveLength(3);
  });

  it('a refused action compensates it and every step before it, in reverse order; later steps are SKIPPED', async () => {
    const gid = `saga-refused-${randomSuffix()}`;
    participant.behave(`/${gid}/s3/action`, { kind: 'fail', status: 409, times: 1, body: JSON.stringify({ error: 'INSUFFICIENT_FUNDS' }) });
    const res = await api.startSaga({ gid, steps: ['s1', 's2', 's3', 's4'].map((id) => step(gid, id)), wait: true });
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('ROLLED_BACK');
    const calls = participant.callsFor(gid);
    expect(calls.map((c) => `${c.branchId}:${c.phase}`)).toEqual(['s1:action', 's2:action', 's3:action', 's3:compensate', 's2:compensate', 's1:compensate']);
    const view = await api.view(gid);
    expect(view.branches.map((b) => [b.branchId, b.status])).toEqual([
      ['s1', 'COMPENSATED'],
      ['s2', 'COMPENSATED'],
      ['s3', 'COMPENSATED'],
      ['s4', 'SKIPPED'],
    ]);
  });

  it('concurrent with after: actions start when their dependencies succeeded; compensation runs in reverse dependency order', async () => {
    const gid = `saga-dag-${randomSuffix()}`;
    participant.behave(`/${gid}/d/action`, { kind: 'fail', status: 422, times: 1 });
    // a and b at once; c after both; d after c (refused); e after d (never sent).
    const res = await api.startSaga({
      gid,
      steps: ['a', 'b', 'c', 'd', 'e'].map((id) => step(gid, id)),
      concurrent: true,
      after: { c: ['a', 'b'], d: ['c'], e: ['d'] },
      wait: true,
    });
    expect(res.body.status).toBe('ROLLED_BACK');
    const calls = participant.callsFor(gid);
    expect(seqOf(calls, 'c', 'action')).toBeGreaterThan(Math.max(seqOf(calls, 'a', 'action'), seqOf(calls, 'b', 'action')));
    expect(seqOf(calls, 'd', 'action')).toBeGreaterThan(seqOf(calls, 'c', 'action'));
    expect(seqOf(calls, 'c', 'compensate')).toBeGreaterThan(seqOf(calls, 'd', 'compensate'));
    expect(seqOf(calls, 'a', 'compensate')).toBeGreaterThan(seqOf(calls, 'c', 'compensate'));
    expect(seqOf(calls, 'b', 'compensate')).toBeGreaterThan(seqOf(calls, 'c', 'compensate'));
    expect(calls.filter((c) => c.branchId === 'e')).toEqual([]);
    const statuses = Object.fromEntries((await api.view(gid)).branches.map((b) => [b.branchId, b.status]));
    expect(statuses).toEqual({ a: 'COMPENSATED', b: 'COMPENSATED', c: 'COMPENSATED', d: 'COMPENSATED', e: 'SKIPPED' });
  });

  it('an action failing without a refusal is retried until the deadline, then the saga compensates (the failing step included)', async () => {
    const gid = `saga-deadline-${randomSuffix()}`;
    participant.behave(`/${gid}/s2/action`, { kind: 'fail', status: 503, times: 1_000_000 });
    const res = await api.startSaga({ gid, timeoutMs: 1_500, steps: ['s1', 's2', 's3'].map((id) => step(gid, id)) });
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('COMMITTING');
    const view = await api.waitForStatus(gid, ['ROLLED_BACK'], 30_000);
    const actions = participant.callsFor(gid, 's2', 'action');
    expect(actions.length).toBeGreaterThan(1);
    const compensation = participant.callsFor(gid, 's2', 'compensate');
    expect(compensation).toHaveLength(1);
    expect(compensation[0].seq).toBeGreaterThan(actions[actions.length - 1].seq);
    expect(participant.callsFor(gid, 's1', 'compensate')[0].seq).toBeGreaterThan(compensation[0].seq);
    expect(view.branches.map((b) => b.status)).toEqual(['COMPENSATED', 'COMPENSATED', 'SKIPPED']);
    expect(view.branches[1].attempts).toBe(actions.length + 1);
  });

  it('a compensation that fails is retried until it succeeds', async () => {
    const gid = `saga-comp-retry-${randomSuffix()}`;
    participant.behave(`/${gid}/s2/action`, { kind: 'fail', status: 409, times: 1 });
    participant.behave(`/${gid}/s1/compensate`, { kind: 'fail', status: 500, times: 3 });
    await api.startSaga({ gid, steps: ['s1', 's2'].map((id) => step(gid, id)) });
    const view = await api.waitForStatus(gid, ['ROLLED_BACK'], 30_000);
    expect(participant.callsFor(gid, 's1', 'compensate').map((c) => c.answer)).toEqual([500, 500, 500, 200]);
    expect(view.branches[0]).toMatchObject({ branchId: 's1', status: 'COMPENSATED', attempts: 5 });
  });

  it('refuses bad sagas with 400 naming the field, writing nothing', async () => {
    const gid = `saga-bad-${randomSuffix()}`;
    const cases: [Record<string, unknown>, string][] = [
      [{ gid, steps: [] }, 'steps'],
      [{ gid, steps: [step(gid, 'a'), step(gid, 'a')] }, 'steps'],
      [{ gid, steps: [step(gid, 'a'), step(gid, 'b')], after: { b: ['a'] } }, 'after'],
      [{ gid, steps: [step(gid, 'a'), step(gid, 'b')], concurrent: true, after: { a: ['b'], b: ['a'] } }, 'after'],
      [{ gid, steps: [step(gid, 'a')], concurrent: true, after: { a: ['zz'] } }, 'after'],
      [{ gid, steps: [{ ...step(gid, 'a'), action: 'ftp://x/y' }] }, 'steps[0].action'],
      [{ gid, steps: [{ ...step(gid, 'a'), compensate: undefined }] }, 'steps[0].compensate'],
      [{ gid, steps: [{ ...step(gid, 'a'), protocol: 'amqp' }] }, 'steps[0].protocol'],
    ];
    for (const [body, field] of cases) {
      const res = await api.startSaga(body);
      expect([res.status, res.error.fields]).toEqual([400, expect.arrayContaining([field])]);
    }
    expect((await api.get(gid)).status).toBe(404);
    expect(participant.callsFor(gid)).toEqual([]);
  });

  it('a saga gid is not a TCC transaction: commit and register answer 409 with its status', async () => {
    const gid = `saga-not-tcc-${randomSuffix()}`;
    await api.startSaga({ gid, steps: [step(gid, 's1')], wait: true });
    const commit = await api.commit(gid);
    expect([commit.status, commit.error.status]).toEqual([409, 'COMMITTED']);
    const begin = await api.begin({ gid });
    expect(begin.status).toBe(409);
  });
});
