/**
 * Phase two against participants that fail or hang (MariaDB): every confirm and cancel is retried
 * with capped exponential backoff, without a limit, until it succeeds; attempts and the last error
 * show in GET (docs/contract.md §2, §5).
 */
import { createStore, SERVER, startCoordinator, type RunningCoordinator, type TestStore } from '../support/coordinator.in-process';
import type { CoordinatorApi } from '../support/coordinator.api';
import { ParticipantServer, type RecordedCall } from '../support/participant.server';
import { eventually, randomSuffix, sleep, closeAll } from '../support/wait';

const REQUEST_TIMEOUT_MS = 300;
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 400;

function gaps(calls: RecordedCall[]): number[] {
  return calls.slice(1).map((c, k) => c.at - calls[k].at);
}

describe(`phase-two retries on ${SERVER}`, () => {
  let store: TestStore | undefined;
  let coordinator: RunningCoordinator | undefined;
  let participant: ParticipantServer;
  let api: CoordinatorApi;

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    store = await createStore(SERVER);
    coordinator = await startCoordinator(store, {
      TCC_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      TCC_LEASE_MS: '1500',
      TCC_RETRY_BASE_MS: String(RETRY_BASE_MS),
      TCC_RETRY_MAX_MS: String(RETRY_MAX_MS),
      TCC_SCAN_INTERVAL_MS: '100',
      TCC_COMMIT_WAIT_MS: '1000',
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

  async function txWith(label: string, routes: string[], timeoutMs = 60_000): Promise<string> {
    const gid = `${label}-${randomSuffix()}`;
    expect((await api.begin({ gid, timeoutMs })).status).toBe(201);
    for (const [k, route] of routes.entries()) {
      const res = await api.register(gid, { branchId: `b${k + 1}`, protocol: 'http', ...participant.branch(route), payload: { k } });
      expect(res.status).toBe(201);
    }
    return gid;
  }

  it('a participant answering 500 to its first N confirms: COMMITTED after N+1 attempts, the healthy branch confirmed once', async () => {
    const N = 4;
    participant.behave('/flaky/confirm', { kind: 'fail', status: 500, times: N });
    const gid = await txWith('flaky', ['flaky', 'healthy']);
    const res = await api.commit(gid, { wait: true });
    expect(res.status).toBe(200);
    expect(['COMMITTING', 'COMMITTED']).toContain(res.body.status);

    const view = await api.waitForStatus(gid, ['COMMITTED'], 20_000);
    const [flaky, healthy] = [view.branches.find((b) => b.branchId === 'b1')!, view.branches.find((b) => b.branchId === 'b2')!];
    const flakyCalls = participant.callsFor(gid, 'b1', 'confirm');
    expect(flakyCalls.map((c) => c.answer)).toEqual([...Array<number>(N).fill(500), 200]);
    expect(flaky).toMatchObject({ status: 'CONFIRMED', attempts: N + 1 });
    expect(healthy).toMatchObject({ status: 'CONFIRMED', attempts: 1, lastError: null });
    expect(participant.callsFor(gid, 'b2', 'confirm')).toHaveLength(1);
    expect(participant.callsFor(gid, undefined, 'cancel')).toHaveLength(0);
    // Every retry carries the same request.
    expect(new Set(flakyCalls.map((c) => c.rawBody)).size).toBe(1);
  });

  it('a participant hanging past TCC_REQUEST_TIMEOUT_MS: the call is given up at the timeout and retried until COMMITTED', async () => {
    participant.behave('/sleepy/confirm', { kind: 'hang', times: 2 });
    const gid = await txWith('sleepy', ['sleepy']);
    const started = Date.now();
    const res = await api.commit(gid, { wait: true });
    expect(res.status).toBe(200);
    const view = await api.waitForStatus(gid, ['COMMITTED'], 20_000);
    expect(Date.now() - started).toBeLessThan(8_000);
    const calls = participant.callsFor(gid, 'b1', 'confirm');
    expect(calls.map((c) => c.answer)).toEqual(['hang', 'hang', 200]);
    expect(view.branches[0]).toMatchObject({ status: 'CONFIRMED', attempts: 3 });
    for (const gap of gaps(calls)) {
      // Arrival times: the first call may reach us a little after the coordinator started its timer.
      expect(gap).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 80);
      expect(gap).toBeLessThan(REQUEST_TIMEOUT_MS + RETRY_MAX_MS + 2_000);
    }
  });

  it('shows attempts and lastError while failing, keeps retrying with capped backoff, and commits once the participants recover', async () => {
    participant.behave('/down/confirm', { kind: 'fail', status: 503, times: Number.MAX_SAFE_INTEGER });
    participant.behave('/stuck/confirm', { kind: 'hang' });
    const gid = await txWith('outage', ['down', 'stuck']);
    const res = await api.commit(gid, { wait: false });
    expect(res.status).toBe(200);

    const failing = await eventually(
      async () => {
        const v = await api.view(gid);
        return v.branches.every((b) => b.attempts >= 3 && b.lastError) ? v : undefined;
      },
      { timeoutMs: 15_000, what: 'three failed attempts on each branch' },
    );
    expect(failing.status).toBe('COMMITTING');
    const [down, stuck] = [failing.branches.find((b) => b.branchId === 'b1')!, failing.branches.find((b) => b.branchId === 'b2')!];
    expect(down.status).toBe('REGISTERED');
    expect(down.lastError).toMatch(/503/);
    expect(stuck.status).toBe('REGISTERED');
    expect(stuck.lastError).toMatch(/time|abort|no answer/i);

    // Keep failing for a while: no attempt limit, and the backoff stays under its cap.
    await sleep(3_000);
    const during = await api.view(gid);
    expect(during.status).toBe('COMMITTING');
    const downCalls = participant.callsFor(gid, 'b1', 'confirm');
    expect(downCalls.length).toBeGreaterThan(down.attempts);
    const later = gaps(downCalls).slice(3);
    expect(later.length).toBeGreaterThan(0);
    // Capped: no wait grows past the cap (plus a scan period and scheduling slack) ...
    expect(Math.max(...later)).toBeLessThan(RETRY_MAX_MS + 1_500);
    // ... and backing off: not hammering at every scan of 100 ms.
    expect(later.reduce((a, b) => a + b, 0) / later.length).toBeGreaterThanOrEqual(RETRY_BASE_MS);

    participant.behave('/down/confirm', { kind: 'ok' });
    participant.behave('/stuck/confirm', { kind: 'ok' });
    const done = await api.waitForStatus(gid, ['COMMITTED'], 15_000);
    await sleep(300);
    for (const b of done.branches) {
      expect(b.status).toBe('CONFIRMED');
      const received = participant.callsFor(gid, b.branchId, 'confirm').length;
      expect(b.attempts).toBe(received);
      expect(b.attempts).toBeGreaterThanOrEqual(4);
    }
    expect(participant.callsFor(gid, undefined, 'cancel')).toHaveLength(0);
  });

  it('retries cancels the same way: a participant answering 500 to its first N cancels ends ROLLED_BACK', async () => {
    const N = 3;
    participant.behave('/flaky-cancel/cancel', { kind: 'fail', status: 500, times: N });
    const gid = await txWith('flaky-cancel', ['flaky-cancel']);
    const res = await api.rollback(gid, { reason: 'try refused' });
    expect(res.status).toBe(200);
    const view = await api.waitForStatus(gid, ['ROLLED_BACK'], 20_000);
    expect(view.branches[0]).toMatchObject({ status: 'CANCELLED', attempts: N + 1 });
    expect(participant.callsFor(gid, 'b1', 'cancel').map((c) => c.answer)).toEqual([...Array<number>(N).fill(500), 200]);
    expect(participant.callsFor(gid, undefined, 'confirm')).toHaveLength(0);
  });

  it('the timeout rollback retries a hanging cancel too', async () => {
    participant.behave('/late-cancel/cancel', { kind: 'hang', times: 1 });
    const gid = await txWith('late-cancel', ['late-cancel'], 300);
    const view = await api.waitForStatus(gid, ['ROLLED_BACK'], 15_000);
    expect(view.branches[0]).toMatchObject({ status: 'CANCELLED', attempts: 2 });
    expect(participant.callsFor(gid, 'b1', 'cancel').map((c) => c.answer)).toEqual(['hang', 200]);
    expect(participant.callsFor(gid, undefined, 'confirm')).toHaveLength(0);
  });
});
