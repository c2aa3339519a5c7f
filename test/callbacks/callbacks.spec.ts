/**
 * Completion callbacks (docs/contract.md §11) on every store, against real receivers: one signed
 * delivery of the final view per finished transaction (TCC commit and rollback, saga, message);
 * a failing receiver retried with backoff until it answers 2xx, its attempts and last error
 * recorded and shown by the admin API; a signature the receiver does not accept refused and retried;
 * a gRPC receiver; a bad `callback` refused with 400 naming it before anything is written.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { payloadText, verifyBranchCall } from '@tcc/client';
import { createStore, STORE_KINDS, startCoordinator, type RunningCoordinator, type TestStore } from '../support/coordinator.in-process';
import type { CoordinatorApi } from '../support/coordinator.api';
import { ParticipantServer } from '../support/participant.server';
import { GrpcParticipantServer } from '../grpc/support/grpc-participant.server';
import { GrpcCoordinatorApi } from '../grpc/support/grpc-coordinator.api';
import { Scrape } from '../operate/support/metrics.text';
import { closeAll, eventually, randomSuffix } from '../support/wait';
import { CallbackReceiver } from './support/callback.receiver';

const ADMIN_TOKEN = 'callback-admin-token-0123456789';
const SIGNING_KEY = 'callback-signing-key-0123456789';
const OTHER_KEY = 'some-other-signing-key-98765432';

interface AdminCallback {
  target: string;
  protocol: string;
  state: string;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

describe.each(STORE_KINDS)('completion callbacks on %s', (kind) => {
  let store: TestStore | undefined;
  let coordinator: RunningCoordinator | undefined;
  let participant: ParticipantServer;
  let receiver: CallbackReceiver;
  let grpcReceiver: GrpcParticipantServer;
  let api: CoordinatorApi;

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    receiver = await CallbackReceiver.start();
    grpcReceiver = await GrpcParticipantServer.start(['test.v1.Hooks']);
    store = await createStore(kind);
    coordinator = await startCoordinator(store, {
      TCC_REQUEST_TIMEOUT_MS: '5000',
      TCC_RETRY_BASE_MS: '50',
      TCC_RETRY_MAX_MS: '200',
      TCC_CALLBACK_RETRY_BASE_MS: '50',
      TCC_CALLBACK_RETRY_MAX_MS: '200',
      TCC_CALLBACK_TIMEOUT_MS: '5000',
      TCC_SCAN_INTERVAL_MS: '100',
      TCC_ADMIN_TOKEN: ADMIN_TOKEN,
      TCC_SIGNING_KEYS: SIGNING_KEY,
    });
    api = coordinator.api;
  });

  afterAll(async () => {
    await closeAll(
      () => coordinator?.close(),
      () => participant?.close(),
      () => receiver?.close(),
      () => grpcReceiver?.close(),
      () => store?.dispose(),
    );
  });

  beforeEach(() => {
    receiver.keys = [];
    receiver.failTimes = 0;
  });

  async function adminCallback(gid: string): Promise<AdminCallback | null> {
    const res = await api.send<{ callback: AdminCallback | null }>({ method: 'GET', path: `/admin/v1/transactions/${gid}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    if (res.status !== 200) throw new Error(`admin detail of ${gid} answered ${res.status}: ${res.text}`);
    return res.body.callback;
  }

  function delivered(gid: string): Promise<AdminCallback> {
    return eventually(
      async () => {
        const cb = await adminCallback(gid);
        return cb?.state === 'DELIVERED' ? cb : undefined;
      },
      { timeoutMs: 20_000, what: `the callback of ${gid} recorded DELIVERED` },
    );
  }

  async function metrics(): Promise<Scrape> {
    const res = await api.send<string>({ method: 'GET', path: '/metrics' });
    return new Scrape(res.text);
  }

  async function tcc(gid: string, outcome: 'commit' | 'rollback', callback: string): Promise<void> {
    expect((await api.begin({ gid, callback })).status).toBe(201);
    expect((await api.register(gid, { branchId: 'b1', protocol: 'http', ...participant.branch(`${gid}/b1`), payload: { n: 1 } })).status).toBe(201);
    const decided = outcome === 'commit' ? await api.commit(gid, { wait: true }) : await api.rollback(gid, { wait: true });
    expect(decided.body.status).toBe(outcome === 'commit' ? 'COMMITTED' : 'ROLLED_BACK');
  }

  it('sends each finished transaction its final view once, signed, whatever its mode and outcome', async () => {
    const id = randomSuffix();
    const gids = { commit: `cb-commit-${id}`, rollback: `cb-rollback-${id}`, saga: `cb-saga-${id}`, message: `cb-msg-${id}` };
    const before = await metrics();
    await tcc(gids.commit, 'commit', receiver.url('/done'));
    await tcc(gids.rollback, 'rollback', receiver.url('/done'));
    const saga = await api.startSaga({
      gid: gids.saga,
      callback: receiver.url('/done'),
      wait: true,
      steps: [{ branchId: 's1', protocol: 'http', action: participant.url(`/${gids.saga}/s1/action`), compensate: participant.url(`/${gids.saga}/s1/compensate`) }],
    });
    expect(saga.body.status).toBe('COMMITTED');
    expect(
      (
        await api.prepareMessage({
          gid: gids.message,
          callback: receiver.url('/done'),
          callbackProtocol: 'http',
          queryPrepared: participant.url(`/${gids.message}/query`),
          steps: [{ branchId: 'm1', protocol: 'http', action: participant.url(`/${gids.message}/m1/deliver`) }],
        })
      ).status,
    ).toBe(201);
    expect((await api.submitMessage(gids.message, { wait: true })).body.status).toBe('COMMITTED');

    for (const [mode, gid] of Object.entries(gids)) {
      const [call] = await receiver.waitForDelivery(gid);
      const cb = await delivered(gid);
      expect(cb).toMatchObject({ target: receiver.url('/done'), protocol: 'http', attempts: 1, lastError: null });
      expect(Date.parse(cb.deliveredAt!)).toBeGreaterThan(0);
      // The body: the participant envelope, phase callback, around GET /v1/transactions/:gid.
      const view = await api.view(gid);
      expect(call.body).toEqual({ gid, branchId: 'callback', phase: 'callback', payload: view });
      expect(call.headers['x-tcc-phase']).toBe('callback');
      expect(view.status).toBe(mode === 'rollback' ? 'ROLLED_BACK' : 'COMMITTED');
      expect(view.mode).toBe(mode === 'saga' ? 'saga' : mode === 'message' ? 'message' : 'tcc');
      // Signed like a participant call, with the coordinator's key.
      const check = verifyBranchCall(
        [SIGNING_KEY],
        { phase: 'callback', gid, branchId: 'callback', payloadText: payloadText(call.body.payload) },
        call.headers['x-tcc-signature'] as string,
        call.headers['x-tcc-timestamp'] as string,
        60_000,
      );
      expect(check).toEqual({ ok: true });
    }
    // A later callback goes through the same scan: by the time it is delivered, none of the first four went twice.
    const sentinel = `cb-sentinel-${id}`;
    await tcc(sentinel, 'commit', receiver.url('/done'));
    await delivered(sentinel);
    for (const gid of Object.values(gids)) expect(receiver.callsFor(gid)).toHaveLength(1);
    const after = await metrics();
    expect(after.value('tcc_callbacks_total', { outcome: 'delivered' }) - before.value('tcc_callbacks_total', { outcome: 'delivered' })).toBe(5);
    expect(after.find('tcc_callbacks_pending')).toBe(0);
  });

  it('retries a receiver that answers 500 with backoff, records attempts and the last error, then delivers', async () => {
    const gid = `cb-retry-${randomSuffix()}`;
    receiver.failTimes = 3;
    const before = await metrics();
    await tcc(gid, 'commit', receiver.url('/flaky'));
    const [ok] = await receiver.waitForDelivery(gid);
    expect(ok.body.payload.status).toBe('COMMITTED');
    expect(receiver.callsFor(gid).map((c) => c.answer)).toEqual([500, 500, 500, 200]);
    const cb = await delivered(gid);
    expect(cb.attempts).toBe(4);
    expect(cb.lastError).toMatch(/HTTP 500/);
    const after = await metrics();
    expect(after.value('tcc_callbacks_total', { outcome: 'failed' }) - before.value('tcc_callbacks_total', { outcome: 'failed' })).toBe(3);
  });

  it('shows a callback still owed in the admin detail and the pending gauge', async () => {
    const gid = `cb-owed-${randomSuffix()}`;
    receiver.failTimes = 1_000_000;
    await tcc(gid, 'commit', receiver.url('/down'));
    const owed = await eventually(
      async () => {
        const cb = await adminCallback(gid);
        return cb && cb.attempts >= 2 ? cb : undefined;
      },
      { what: `two failed attempts of ${gid}` },
    );
    expect(owed).toMatchObject({ state: 'DUE', deliveredAt: null });
    expect(owed.lastError).toMatch(/HTTP 500/);
    expect(owed.nextAttemptAt).not.toBeNull();
    expect((await metrics()).find('tcc_callbacks_pending')).toBeGreaterThanOrEqual(1);
    receiver.failTimes = 0;
    await delivered(gid);
    expect((await metrics()).find('tcc_callbacks_pending')).toBe(0);
  });

  it('is refused by a receiver holding another key, retried, and delivered once the receiver has the key', async () => {
    const gid = `cb-signed-${randomSuffix()}`;
    receiver.keys = [OTHER_KEY];
    await tcc(gid, 'commit', receiver.url('/signed'));
    await eventually(() => receiver.callsFor(gid).filter((c) => c.answer === 401).length >= 2 || undefined, { what: 'two refused callbacks' });
    const refused = await adminCallback(gid);
    expect(refused!.state).toBe('DUE');
    expect(refused!.lastError).toMatch(/HTTP 401.*SIGNATURE_INVALID/);
    receiver.keys = [OTHER_KEY, SIGNING_KEY];
    await receiver.waitForDelivery(gid);
    const cb = await delivered(gid);
    expect(cb.attempts).toBe(receiver.callsFor(gid).length);
    expect(cb.attempts).toBeGreaterThanOrEqual(3);
  });

  it('sends the callback of a transaction an operator finished (found by the scan: no phase-two round finished it)', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    // A branch whose confirm always fails, resolved by hand: the last branch done finishes it.
    const resolved = `cb-resolved-${randomSuffix()}`;
    participant.behave(`/${resolved}/b1/confirm`, { kind: 'fail', status: 500, times: 1_000_000 });
    expect((await api.begin({ gid: resolved, callback: receiver.url('/ops') })).status).toBe(201);
    expect((await api.register(resolved, { branchId: 'b1', protocol: 'http', ...participant.branch(`${resolved}/b1`) })).status).toBe(201);
    expect((await api.commit(resolved, { wait: false })).body.status).toBe('COMMITTING');
    await participant.waitForCalls((c) => c.gid === resolved && c.phase === 'confirm', 1);
    const resolve = await eventually(
      async () => {
        const res = await api.send<{ status: string }>({ method: 'POST', path: `/admin/v1/transactions/${resolved}/branches/b1/resolve`, json: { reason: 'confirmed by phone' }, headers: admin });
        return res.status === 200 ? res : undefined;
      },
      { what: `${resolved} resolved by hand` },
    );
    expect(resolve.body.status).toBe('COMMITTED');
    // A prepared message forced to roll back by the admin: closed without any call.
    const aborted = `cb-aborted-${randomSuffix()}`;
    expect(
      (
        await api.prepareMessage({
          gid: aborted,
          callback: receiver.url('/ops'),
          queryPrepared: participant.url(`/${aborted}/query`),
          steps: [{ branchId: 'm1', protocol: 'http', action: participant.url(`/${aborted}/m1`) }],
        })
      ).status,
    ).toBe(201);
    const forced = await api.send<{ status: string }>({ method: 'POST', path: `/admin/v1/transactions/${aborted}/force-rollback`, json: { reason: 'not wanted' }, headers: admin });
    expect(forced.body.status).toBe('ROLLED_BACK');

    for (const [gid, status] of [[resolved, 'COMMITTED'], [aborted, 'ROLLED_BACK']]) {
      const [call] = await receiver.waitForDelivery(gid);
      expect(call.body.payload).toEqual(await api.view(gid));
      expect(call.body.payload.status).toBe(status);
      expect((await delivered(gid)).attempts).toBe(1);
    }
    expect(participant.callsFor(aborted)).toEqual([]);
  });

  it('calls a gRPC callback target with the view as the payload of a BranchRequest', async () => {
    const gid = `cb-grpc-${randomSuffix()}`;
    const target = grpcReceiver.target('test.v1.Hooks', 'Confirm');
    grpcReceiver.behave('test.v1.Hooks', 'Confirm', { kind: 'fail', code: GrpcStatus.UNAVAILABLE, times: 1 });
    await tcc(gid, 'rollback', target);
    const [, call] = await grpcReceiver.waitForCalls((c) => c.request.gid === gid, 2);
    expect(call.request).toMatchObject({ gid, branchId: 'callback', phase: 'callback' });
    const payload = JSON.parse(call.request.payload!) as { status: string; branches: unknown[] };
    expect(payload).toEqual(await api.view(gid));
    expect(payload.status).toBe('ROLLED_BACK');
    expect(call.metadata['x-tcc-signature']).toMatch(/^v1=/);
    const cb = await delivered(gid);
    expect(cb).toMatchObject({ target, protocol: 'grpc', attempts: 2 });
    expect(cb.lastError).toMatch(/UNAVAILABLE/);
  });

  it('takes callback and callback_protocol over the gRPC API too: a bad one is INVALID_ARGUMENT naming callback, a good one is delivered', async () => {
    const rpc = new GrpcCoordinatorApi(coordinator!.grpcAddress);
    try {
      const bad = `cb-rpc-bad-${randomSuffix()}`;
      const refused = await rpc.begin({ gid: bad, callback: 'http://203.0.113.9:80/hook' });
      expect(refused.codeName).toBe('INVALID_ARGUMENT');
      expect(refused.fields).toEqual(['callback']);
      const wrongProtocol = await rpc.startSaga({
        gid: bad,
        callback: receiver.url('/rpc'),
        callbackProtocol: 'grpc',
        steps: [{ branchId: 's1', protocol: 'http', action: participant.url('/x/a'), compensate: participant.url('/x/c') }],
      });
      expect(wrongProtocol.codeName).toBe('INVALID_ARGUMENT');
      expect(wrongProtocol.fields).toEqual(['callback']);
      expect((await api.get(bad)).status).toBe(404);

      const gid = `cb-rpc-${randomSuffix()}`;
      const saga = await rpc.startSaga({
        gid,
        callback: receiver.url('/rpc'),
        callbackProtocol: 'http',
        wait: true,
        steps: [{ branchId: 's1', protocol: 'http', action: participant.url(`/${gid}/a`), compensate: participant.url(`/${gid}/c`) }],
      });
      expect(saga.reply.status).toBe('COMMITTED');
      const [call] = await receiver.waitForDelivery(gid);
      expect(call.body.payload).toMatchObject({ gid, mode: 'saga', status: 'COMMITTED' });
      expect(await delivered(gid)).toMatchObject({ protocol: 'http', target: receiver.url('/rpc') });
    } finally {
      rpc.close();
    }
  });

  it.each([
    ['begin', (api: CoordinatorApi, gid: string, extra: object) => api.begin({ gid, ...extra })],
    [
      'saga',
      (api: CoordinatorApi, gid: string, extra: object) =>
        api.startSaga({ gid, steps: [{ branchId: 's1', protocol: 'http', action: participant.url('/x/a'), compensate: participant.url('/x/c') }], ...extra }),
    ],
    [
      'message',
      (api: CoordinatorApi, gid: string, extra: object) =>
        api.prepareMessage({ gid, queryPrepared: participant.url('/x/q'), steps: [{ branchId: 'm1', protocol: 'http', action: participant.url('/x/m') }], ...extra }),
    ],
  ])('%s: a bad callback is a 400 naming it, and nothing is written', async (_name, call) => {
    const cases: [object, string][] = [
      [{ callback: 'http://203.0.113.9:8080/hook' }, 'callback'],
      [{ callback: 'ftp://127.0.0.1:21/hook' }, 'callback'],
      [{ callback: '127.0.0.1:9000' }, 'callback'],
      [{ callback: receiver.url('/x'), callbackProtocol: 'grpc' }, 'callback'],
      [{ callback: receiver.url('/x'), callbackProtocol: 'smtp' }, 'callbackProtocol'],
      [{ callbackProtocol: 'http' }, 'callback'],
      [{ callback: 42 }, 'callback'],
      [{ callback: `http://127.0.0.1:1/${'x'.repeat(3000)}` }, 'callback'],
    ];
    for (const [extra, field] of cases) {
      const gid = `cb-bad-${randomSuffix()}`;
      const res = await call(api, gid, extra);
      expect({ extra, status: res.status }).toEqual({ extra, status: 400 });
      expect(res.error.fields).toContain(field);
      expect((await api.get(gid)).status).toBe(404);
    }
  });
});
