/**
 * The coordinator's HTTP API v1 (docs/contract.md §3) end to end, on MariaDB and on the embedded SQLite
 * store: every endpoint's success, each error code, idempotency, and bad input changing nothing.
 * The participant is a real HTTP server recording what the coordinator sends it.
 */
import { GID_MAX_LENGTH, BRANCH_ID_MAX_LENGTH, ID_PATTERN, TCC_HEADERS, type TransactionView } from '@tcc/client';
import type { CoordinatorApi, HttpResult, RawRequest } from '../support/coordinator.api';
import { createStore, startCoordinator, STORE_KINDS, type RunningCoordinator, type TestStore } from '../support/coordinator.in-process';
import { ParticipantServer } from '../support/participant.server';
import { randomSuffix, sleep, closeAll } from '../support/wait';

const PAYLOAD_LIMIT = 4096;
// A confirm that hangs outlives the commit wait bound: the request timeout is longer.
const COMMIT_WAIT_MS = 1000;
const REQUEST_TIMEOUT_MS = 2500;
const DEFAULT_TIMEOUT_MS = 20_000;
const MAX_TIMEOUT_MS = 3_600_000;

const SETTINGS = {
  TCC_SCAN_INTERVAL_MS: '200',
  TCC_RETRY_BASE_MS: '100',
  TCC_RETRY_MAX_MS: '500',
  TCC_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
  TCC_LEASE_MS: '6000',
  TCC_COMMIT_WAIT_MS: String(COMMIT_WAIT_MS),
  TCC_MAX_PAYLOAD_BYTES: String(PAYLOAD_LIMIT),
  TCC_DEFAULT_TIMEOUT_MS: String(DEFAULT_TIMEOUT_MS),
  TCC_MAX_TIMEOUT_MS: String(MAX_TIMEOUT_MS),
};

type Body = Record<string, unknown>;

/** Status and body together, so a failed expectation shows what the coordinator answered. */
function answer<T>(res: HttpResult<T>): { status: number; body: unknown } {
  return { status: res.status, body: res.body ?? res.text };
}

function expectBadRequest<T>(res: HttpResult<T>, field: string): void {
  expect(answer(res)).toMatchObject({ status: 400, body: { statusCode: 400, fields: expect.arrayContaining([field]) } });
  expect(typeof res.error.error).toBe('string');
  expect(Array.isArray(res.error.message)).toBe(true);
  expect((res.error.message as string[]).length).toBeGreaterThan(0);
  for (const m of res.error.message as string[]) expect(typeof m).toBe('string');
}

function expectConflict<T>(res: HttpResult<T>, statuses: string[]): void {
  expect(answer(res)).toMatchObject({ status: 409, body: { statusCode: 409 } });
  expect(statuses).toContain(res.error.status);
}

function ms(iso: string): number {
  const t = Date.parse(iso);
  expect(Number.isFinite(t)).toBe(true);
  return t;
}

describe.each(STORE_KINDS)('coordinator HTTP API v1 on %s', (kind) => {
  let store: TestStore | undefined;
  let coordinator: RunningCoordinator | undefined;
  let participant: ParticipantServer;
  let api: CoordinatorApi;

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    store = await createStore(kind);
    coordinator = await startCoordinator(store, SETTINGS);
    api = coordinator.api;
  });

  afterAll(async () => {
    await closeAll(
      () => coordinator?.close(),
      () => participant?.close(),
      () => store?.dispose(),
    );
  });

  const newGid = (label: string): string => `${label}-${randomSuffix()}`;
  let routeSeq = 0;
  /** A route pair of the participant used by one test only, so behaviours never leak. */
  const newRoute = (label: string): string => `${label}-${++routeSeq}`;

  function branchBody(branchId: string, route: string, extra: Body = {}): Body {
    return { branchId, participant: `svc-${branchId}`, protocol: 'http', ...participant.branch(route), ...extra };
  }

  async function beginTx(label: string, body: Body = {}): Promise<string> {
    const gid = newGid(label);
    const res = await api.begin({ gid, ...body });
    expect(answer(res)).toMatchObject({ status: 201, body: { gid, status: 'TRYING' } });
    return gid;
  }

  async function registerOk(gid: string, body: Body): Promise<void> {
    const res = await api.register(gid, body);
    expect(answer(res)).toMatchObject({ status: 201, body: { gid, branchId: body.branchId, status: 'REGISTERED' } });
  }

  /** A TRYING transaction with one branch per route name. */
  async function txWithBranches(label: string, routes: string[], begin: Body = {}): Promise<string> {
    const gid = await beginTx(label, begin);
    for (const [i, route] of routes.entries()) await registerOk(gid, branchBody(`b${i + 1}`, route, { payload: { n: i + 1 } }));
    return gid;
  }

  function byBranch(view: TransactionView): Record<string, TransactionView['branches'][number]> {
    return Object.fromEntries(view.branches.map((b) => [b.branchId, b]));
  }

  // ------------------------------------------------------------------------------------------
  describe('POST /v1/transactions (begin)', () => {
    it('creates a TRYING transaction with a generated, time-sortable gid and the default timeout', async () => {
      const gids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await api.begin({});
        expect(answer(res)).toMatchObject({ status: 201, body: { status: 'TRYING' } });
        const { gid, createdAt, expiresAt } = res.body;
        expect(gid).toMatch(ID_PATTERN);
        expect(gid.length).toBeLessThanOrEqual(GID_MAX_LENGTH);
        expect(Math.abs(ms(expiresAt) - ms(createdAt) - DEFAULT_TIMEOUT_MS)).toBeLessThanOrEqual(2);
        expect(Math.abs(ms(createdAt) - Date.now())).toBeLessThan(5_000);
        gids.push(gid);
        await sleep(3);
      }
      expect(new Set(gids).size).toBe(gids.length);
      expect([...gids].sort()).toEqual(gids);
      const view = await api.view(gids[0]);
      expect(view).toMatchObject({ gid: gids[0], status: 'TRYING', branches: [] });
    });

    it("honours the client's gid, timeoutMs and metadata", async () => {
      const gid = `Ab0_.:-${randomSuffix()}`;
      const metadata = { order: 'o-1', n: 3, nested: { list: [1, 'x', null, true] } };
      const res = await api.begin({ gid, timeoutMs: 45_000, metadata });
      expect(answer(res)).toMatchObject({ status: 201, body: { gid, status: 'TRYING' } });
      expect(ms(res.body.expiresAt) - ms(res.body.createdAt)).toBeGreaterThanOrEqual(45_000 - 2);
      expect(ms(res.body.expiresAt) - ms(res.body.createdAt)).toBeLessThanOrEqual(45_000 + 2);
      const view = await api.view(gid);
      expect(view).toMatchObject({ gid, status: 'TRYING', metadata, branches: [], createdAt: res.body.createdAt, expiresAt: res.body.expiresAt });
      expect(ms(view.updatedAt)).toBeGreaterThanOrEqual(ms(view.createdAt));
    });

    it('accepts a gid of exactly 128 characters and a timeoutMs of exactly TCC_MAX_TIMEOUT_MS', async () => {
      const gid = `L${randomSuffix()}`.padEnd(GID_MAX_LENGTH, 'x');
      const res = await api.begin({ gid, timeoutMs: MAX_TIMEOUT_MS });
      expect(answer(res)).toMatchObject({ status: 201, body: { gid } });
      // Every path that carries the gid must take the longest valid one.
      expect(answer(await api.get(gid))).toMatchObject({ status: 200, body: { gid, status: 'TRYING' } });
      const route = newRoute('long-gid');
      expect(answer(await api.register(gid, branchBody('b1', route)))).toMatchObject({ status: 201, body: { gid } });
      expect(answer(await api.commit(gid, {}))).toEqual({ status: 200, body: { gid, status: 'COMMITTED' } });
      expect(participant.callsFor(gid, 'b1', 'confirm')).toHaveLength(1);
      const other = await api.begin({ gid: gid.slice(0, -1) + 'y' });
      expect(other.status).toBe(201);
      expect(answer(await api.rollback(other.body.gid, {}))).toEqual({ status: 200, body: { gid: other.body.gid, status: 'ROLLED_BACK' } });
    });

    it('answers 200 with the same transaction when begin is repeated with the gid of a TRYING one', async () => {
      const gid = newGid('again');
      const first = await api.begin({ gid, timeoutMs: 60_000 });
      expect(first.status).toBe(201);
      await sleep(5);
      const second = await api.begin({ gid, timeoutMs: 60_000 });
      expect(answer(second)).toMatchObject({ status: 200, body: first.body });
      const third = await api.begin({ gid });
      expect(answer(third)).toMatchObject({ status: 200, body: { gid, status: 'TRYING', createdAt: first.body.createdAt } });
      const view = await api.view(gid);
      expect(view.expiresAt).toBe(first.body.expiresAt);
    });

    it('answers 409 with the status when begin is repeated with the gid of a finished transaction', async () => {
      const committed = await beginTx('fin-c');
      expect((await api.commit(committed, {})).body.status).toBe('COMMITTED');
      expectConflict(await api.begin({ gid: committed }), ['COMMITTED']);

      const rolledBack = await beginTx('fin-r');
      expect((await api.rollback(rolledBack, {})).body.status).toBe('ROLLED_BACK');
      expectConflict(await api.begin({ gid: rolledBack }), ['ROLLED_BACK']);
      expect((await api.view(rolledBack)).status).toBe('ROLLED_BACK');
    });

    const badBegins: Array<[string, (gid: string) => Body, string]> = [
      ['gid with a space', () => ({ gid: 'has space' }), 'gid'],
      ['gid with a slash', () => ({ gid: 'a/b' }), 'gid'],
      ['empty gid', () => ({ gid: '' }), 'gid'],
      ['gid of 129 characters', () => ({ gid: 'g'.repeat(GID_MAX_LENGTH + 1) }), 'gid'],
      ['numeric gid', () => ({ gid: 42 }), 'gid'],
      ['timeoutMs 0', (gid) => ({ gid, timeoutMs: 0 }), 'timeoutMs'],
      ['negative timeoutMs', (gid) => ({ gid, timeoutMs: -5 }), 'timeoutMs'],
      ['fractional timeoutMs', (gid) => ({ gid, timeoutMs: 1.5 }), 'timeoutMs'],
      ['timeoutMs above TCC_MAX_TIMEOUT_MS', (gid) => ({ gid, timeoutMs: MAX_TIMEOUT_MS + 1 }), 'timeoutMs'],
      ['timeoutMs above 24 h', (gid) => ({ gid, timeoutMs: 86_400_001 }), 'timeoutMs'],
      ['metadata as a string', (gid) => ({ gid, metadata: 'text' }), 'metadata'],
      ['metadata as an array', (gid) => ({ gid, metadata: [1, 2] }), 'metadata'],
      ['an unknown property', (gid) => ({ gid, colour: 'red' }), 'colour'],
    ];
    it.each(badBegins)('answers 400 naming the field for %s, and creates nothing', async (_name, makeBody, field) => {
      const gid = newGid('bad-begin');
      const res = await api.begin(makeBody(gid));
      expectBadRequest(res, field);
      expect((await api.get(gid)).status).toBe(404);
    });

    it('answers 400 for malformed JSON and for a body that is not an object, and creates nothing', async () => {
      const gid = newGid('malformed');
      const truncated = await api.send({ method: 'POST', path: '/v1/transactions', raw: `{"gid":"${gid}","timeoutMs":` });
      expect(answer(truncated)).toMatchObject({ status: 400, body: { statusCode: 400 } });
      for (const raw of ['[]', '"text"', '42']) {
        const res = await api.send({ method: 'POST', path: '/v1/transactions', raw });
        expect(answer(res)).toMatchObject({ status: 400 });
      }
      expect((await api.get(gid)).status).toBe(404);
    });

    it('answers 413 for a body far above the size limit, and creates nothing', async () => {
      const gid = newGid('huge-begin');
      const res = await api.begin({ gid, metadata: { blob: 'x'.repeat(2 * 1024 * 1024) } });
      expect(answer(res)).toMatchObject({ status: 413, body: { statusCode: 413 } });
      expect((await api.get(gid)).status).toBe(404);
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('POST /v1/transactions/:gid/branches (register)', () => {
    it('registers a branch (201) and shows it in GET with no attempts yet', async () => {
      const gid = await beginTx('reg');
      const route = newRoute('reg');
      const res = await api.register(gid, branchBody('pay-1', route, { payload: { amount: 42 } }));
      expect(answer(res)).toEqual({ status: 201, body: { gid, branchId: 'pay-1', status: 'REGISTERED' } });
      const view = await api.view(gid);
      expect(view.status).toBe('TRYING');
      expect(view.branches).toEqual([
        {
          branchId: 'pay-1',
          participant: 'svc-pay-1',
          protocol: 'http',
          status: 'REGISTERED',
          attempts: 0,
          lastError: null,
          // No budget given and none configured: unlimited (docs/contract.md §2.1).
          retryBudget: { retryFor: null, maxAttempts: null, failures: 0, spentAt: null },
        },
      ]);
      expect(participant.callsFor(gid)).toHaveLength(0);
    });

    it('accepts a branch without participant and payload, a 64-character branchId, every allowed host form, https and grpc', async () => {
      const gid = await beginTx('reg-forms', { timeoutMs: 3_600_000 });
      const longId = 'b'.repeat(BRANCH_ID_MAX_LENGTH);
      const port = participant.port;
      const bodies: Body[] = [
        { branchId: 'bare', protocol: 'http', ...participant.branch(newRoute('bare')) },
        { branchId: longId, protocol: 'http', ...participant.branch(newRoute('long')) },
        { branchId: 'localhost', protocol: 'http', confirm: `http://localhost:${port}/lh/confirm`, cancel: `http://localhost:${port}/lh/cancel` },
        { branchId: 'ipv6', protocol: 'http', confirm: `http://[::1]:${port}/v6/confirm`, cancel: `http://[::1]:${port}/v6/cancel` },
        { branchId: 'tls', protocol: 'http', confirm: 'https://127.0.0.1:8443/c', cancel: 'https://127.0.0.1:8443/x' },
        { branchId: 'rpc', protocol: 'grpc', confirm: '127.0.0.1:50051/tcc.v1.Account/Confirm', cancel: '127.0.0.1:50051/tcc.v1.Account/Cancel' },
      ];
      for (const body of bodies) await registerOk(gid, body);
      const branches = byBranch(await api.view(gid));
      expect(Object.keys(branches).sort()).toEqual(['bare', longId, 'localhost', 'ipv6', 'tls', 'rpc'].sort());
      expect(branches.bare.participant).toBeNull();
      expect(branches.rpc.protocol).toBe('grpc');
      // Leave no grpc/https branch behind for phase two to chase: this one stays TRYING for an hour.
    });

    it('answers 200 to the identical registration, and 409 to the same branchId with different fields', async () => {
      const gid = await beginTx('reg-idem');
      const route = newRoute('idem');
      const body = branchBody('b1', route, { payload: { amount: 10, tags: ['a', 'b'] } });
      await registerOk(gid, body);
      const again = await api.register(gid, body);
      expect(answer(again)).toEqual({ status: 200, body: { gid, branchId: 'b1', status: 'REGISTERED' } });

      const other = participant.branch(newRoute('other'));
      expectConflict(await api.register(gid, { ...body, confirm: other.confirm }), ['TRYING']);
      expectConflict(await api.register(gid, { ...body, cancel: other.cancel }), ['TRYING']);
      expectConflict(await api.register(gid, { ...body, payload: { amount: 11, tags: ['a', 'b'] } }), ['TRYING']);
      expectConflict(await api.register(gid, { ...body, participant: 'someone-else' }), ['TRYING']);

      const view = await api.view(gid);
      expect(view.branches).toHaveLength(1);
      expect(view.branches[0]).toMatchObject({ branchId: 'b1', participant: 'svc-b1', status: 'REGISTERED' });
      // The first registration is the one that stands: confirm goes to its URL with its payload.
      expect((await api.commit(gid, {})).body.status).toBe('COMMITTED');
      const calls = participant.callsFor(gid);
      expect(calls.map((c) => c.path)).toEqual([`/${route}/confirm`]);
      expect(calls[0].body?.payload).toEqual({ amount: 10, tags: ['a', 'b'] });
    });

    const badRegisters: Array<[string, (b: Body) => Body, string]> = [
      ['a missing branchId', ({ branchId: _omit, ...b }) => b, 'branchId'],
      ['an empty branchId', (b) => ({ ...b, branchId: '' }), 'branchId'],
      ['a branchId with a space', (b) => ({ ...b, branchId: 'b 1' }), 'branchId'],
      ['a branchId of 65 characters', (b) => ({ ...b, branchId: 'b'.repeat(BRANCH_ID_MAX_LENGTH + 1) }), 'branchId'],
      ['a numeric branchId', (b) => ({ ...b, branchId: 7 }), 'branchId'],
      ['a missing protocol', ({ protocol: _omit, ...b }) => b, 'protocol'],
      ['protocol ftp', (b) => ({ ...b, protocol: 'ftp' }), 'protocol'],
      ['a missing confirm', ({ confirm: _omit, ...b }) => b, 'confirm'],
      ['a relative confirm URL', (b) => ({ ...b, confirm: '/confirm' }), 'confirm'],
      ['an ftp confirm URL', (b) => ({ ...b, confirm: 'ftp://127.0.0.1:21/confirm' }), 'confirm'],
      ['a confirm that is not a URL', (b) => ({ ...b, confirm: 'not a url' }), 'confirm'],
      ['a confirm URL without host', (b) => ({ ...b, confirm: 'http://' }), 'confirm'],
      ['a numeric confirm', (b) => ({ ...b, confirm: 42 }), 'confirm'],
      ['a missing cancel', ({ cancel: _omit, ...b }) => b, 'cancel'],
      ['a relative cancel URL', (b) => ({ ...b, cancel: 'cancel' }), 'cancel'],
      ['a confirm target outside TCC_ALLOWED_TARGETS', (b) => ({ ...b, confirm: 'http://10.0.0.1:8080/confirm' }), 'confirm'],
      ['a cancel target outside TCC_ALLOWED_TARGETS', (b) => ({ ...b, cancel: 'http://example.com:80/cancel' }), 'cancel'],
      ['a host that only starts like an allowed one', (b) => ({ ...b, confirm: 'http://127.0.0.1.evil.example:80/c' }), 'confirm'],
      ['a neighbouring address', (b) => ({ ...b, confirm: 'http://127.0.0.2:8080/c' }), 'confirm'],
      ['an allowed host in the userinfo only', (b) => ({ ...b, cancel: 'http://127.0.0.1:80@10.0.0.1:8080/c' }), 'cancel'],
      ['a grpc branch with an http URL', (b) => ({ ...b, protocol: 'grpc', confirm: 'http://127.0.0.1:50051/x' }), 'confirm'],
      ['a grpc target without a method', (b) => ({ ...b, protocol: 'grpc', confirm: '127.0.0.1:50051', cancel: '127.0.0.1:50051/tcc.v1.A/Cancel' }), 'confirm'],
      ['a grpc target outside TCC_ALLOWED_TARGETS', (b) => ({ ...b, protocol: 'grpc', confirm: '10.0.0.1:50051/tcc.v1.A/Confirm', cancel: '127.0.0.1:50051/tcc.v1.A/Cancel' }), 'confirm'],
      ['a participant of 129 characters', (b) => ({ ...b, participant: 'p'.repeat(129) }), 'participant'],
      ['a numeric participant', (b) => ({ ...b, participant: 5 }), 'participant'],
      ['an unknown property', (b) => ({ ...b, priority: 1 }), 'priority'],
    ];
    it.each(badRegisters)('answers 400 naming the field for %s, and registers nothing', async (_name, mutate, field) => {
      const gid = await beginTx('bad-reg');
      const res = await api.register(gid, mutate(branchBody('b1', newRoute('bad-reg'))));
      expectBadRequest(res, field);
      const view = await api.view(gid);
      expect(view).toMatchObject({ status: 'TRYING', branches: [] });
    });

    it('answers 413 for a payload above TCC_MAX_PAYLOAD_BYTES and accepts one below it', async () => {
      const gid = await beginTx('payload');
      const big = await api.register(gid, branchBody('big', newRoute('big'), { payload: { blob: 'x'.repeat(PAYLOAD_LIMIT + 100) } }));
      expect(answer(big)).toMatchObject({ status: 413, body: { statusCode: 413 } });
      const huge = await api.register(gid, branchBody('huge', newRoute('huge'), { payload: 'y'.repeat(2 * 1024 * 1024) }));
      expect(answer(huge)).toMatchObject({ status: 413 });
      expect((await api.view(gid)).branches).toEqual([]);

      const route = newRoute('fits');
      const payload = { blob: 'z'.repeat(PAYLOAD_LIMIT - 200), unicode: 'é✓' };
      await registerOk(gid, branchBody('fits', route, { payload }));
      expect((await api.commit(gid, {})).body.status).toBe('COMMITTED');
      const [call] = participant.callsFor(gid, 'fits', 'confirm');
      expect(call.body?.payload).toEqual(payload);
    });

    it('answers 404 for an unknown gid', async () => {
      const res = await api.register(newGid('nobody'), branchBody('b1', newRoute('nobody')));
      expect(answer(res)).toMatchObject({ status: 404, body: { statusCode: 404 } });
    });

    it('answers 409 with the status on a transaction that is no longer TRYING, and adds nothing', async () => {
      const committed = await txWithBranches('reg-late-c', [newRoute('late-c')]);
      expect((await api.commit(committed, {})).body.status).toBe('COMMITTED');
      expectConflict(await api.register(committed, branchBody('b9', newRoute('late-c9'))), ['COMMITTED']);

      const rolledBack = await txWithBranches('reg-late-r', [newRoute('late-r')]);
      expect((await api.rollback(rolledBack, {})).body.status).toBe('ROLLED_BACK');
      expectConflict(await api.register(rolledBack, branchBody('b9', newRoute('late-r9'))), ['ROLLED_BACK']);

      expect((await api.view(committed)).branches.map((b) => b.branchId)).toEqual(['b1']);
      expect((await api.view(rolledBack)).branches.map((b) => b.branchId)).toEqual(['b1']);
      expect(participant.callsFor(committed, 'b9')).toHaveLength(0);
      expect(participant.callsFor(rolledBack, 'b9')).toHaveLength(0);
    });

    it('answers 409 to a registration after expiresAt, rolls the transaction back and cancels its branches', async () => {
      const route = newRoute('expired-reg');
      const gid = await txWithBranches('reg-expired', [route], { timeoutMs: 300 });
      await sleep(450);
      expectConflict(await api.register(gid, branchBody('b2', newRoute('expired-reg2'))), ['ROLLING_BACK', 'ROLLED_BACK']);
      const view = await api.waitForStatus(gid, ['ROLLED_BACK']);
      expect(view.branches.map((b) => [b.branchId, b.status])).toEqual([['b1', 'CANCELLED']]);
      expect(participant.callsFor(gid, 'b1', 'cancel').length).toBeGreaterThanOrEqual(1);
      expect(participant.callsFor(gid, undefined, 'confirm')).toHaveLength(0);
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('POST /v1/transactions/:gid/commit', () => {
    it('confirms every branch in parallel, sends the participant contract, and answers COMMITTED', async () => {
      const [r1, r2] = [newRoute('c1'), newRoute('c2')];
      participant.behave(`/${r1}/confirm`, { kind: 'ok', delayMs: 700 });
      participant.behave(`/${r2}/confirm`, { kind: 'ok', delayMs: 700 });
      const gid = await beginTx('commit');
      await registerOk(gid, branchBody('b1', r1, { payload: { amount: 42, nested: { list: [1, null, 'x'] } } }));
      await registerOk(gid, branchBody('b2', r2));

      const res = await api.commit(gid, { wait: true });
      expect(answer(res)).toEqual({ status: 200, body: { gid, status: 'COMMITTED' } });

      const view = await api.view(gid);
      expect(view.status).toBe('COMMITTED');
      for (const b of view.branches) expect(b).toMatchObject({ status: 'CONFIRMED', attempts: 1, lastError: null });
      expect(ms(view.updatedAt)).toBeGreaterThanOrEqual(ms(view.createdAt));

      const calls = participant.callsFor(gid);
      expect(calls.map((c) => `${c.branchId}:${c.phase}`).sort()).toEqual(['b1:confirm', 'b2:confirm']);
      const b1 = calls.find((c) => c.branchId === 'b1')!;
      const b2 = calls.find((c) => c.branchId === 'b2')!;
      expect(b1.method).toBe('POST');
      expect(b1.path).toBe(`/${r1}/confirm`);
      expect(JSON.parse(b1.rawBody)).toEqual({ gid, branchId: 'b1', phase: 'confirm', payload: { amount: 42, nested: { list: [1, null, 'x'] } } });
      expect(JSON.parse(b2.rawBody)).toEqual({ gid, branchId: 'b2', phase: 'confirm', payload: null });
      expect(b1.headers[TCC_HEADERS.gid]).toBe(gid);
      expect(b1.headers[TCC_HEADERS.branchId]).toBe('b1');
      expect(b1.headers[TCC_HEADERS.phase]).toBe('confirm');
      expect(String(b1.headers['content-type'])).toMatch(/^application\/json/);
      // Both confirms were in flight together: sequential calls would arrive >= 700 ms apart.
      expect(Math.abs(b1.at - b2.at)).toBeLessThan(500);
    });

    it('is idempotent: commit again answers COMMITTED and sends nothing more', async () => {
      const gid = await txWithBranches('commit-idem', [newRoute('ci')]);
      expect(answer(await api.commit(gid, {}))).toEqual({ status: 200, body: { gid, status: 'COMMITTED' } });
      const before = await api.view(gid);
      expect(answer(await api.commit(gid, {}))).toEqual({ status: 200, body: { gid, status: 'COMMITTED' } });
      expect(answer(await api.commit(gid, { wait: false }))).toEqual({ status: 200, body: { gid, status: 'COMMITTED' } });
      await sleep(500);
      expect(participant.callsFor(gid, 'b1', 'confirm')).toHaveLength(1);
      expect(participant.callsFor(gid, undefined, 'cancel')).toHaveLength(0);
      expect(await api.view(gid)).toEqual(before);
    });

    it('accepts a commit with no body at all, and commits a transaction with no branches', async () => {
      const gid = await beginTx('commit-nobody');
      const res = await api.send({ method: 'POST', path: `/v1/transactions/${gid}/commit` });
      expect(answer(res)).toEqual({ status: 200, body: { gid, status: 'COMMITTED' } });
      expect(await api.view(gid)).toMatchObject({ status: 'COMMITTED', branches: [] });
    });

    it('with wait:false answers at once and finishes in the background', async () => {
      const route = newRoute('nowait');
      participant.behave(`/${route}/confirm`, { kind: 'ok', delayMs: 1500 });
      const gid = await txWithBranches('commit-nowait', [route]);
      const started = Date.now();
      const res = await api.commit(gid, { wait: false });
      expect(Date.now() - started).toBeLessThan(1000);
      expect(answer(res)).toMatchObject({ status: 200, body: { gid } });
      expect(['COMMITTING', 'COMMITTED']).toContain(res.body.status);
      const view = await api.waitForStatus(gid, ['COMMITTED'], 10_000);
      expect(view.branches[0].status).toBe('CONFIRMED');
    });

    it('with wait answers COMMITTING after TCC_COMMIT_WAIT_MS when a confirm is slow, then finishes', async () => {
      const route = newRoute('slow');
      participant.behave(`/${route}/confirm`, { kind: 'hang', times: 1 });
      const gid = await txWithBranches('commit-bound', [route]);
      const started = Date.now();
      const res = await api.commit(gid, {});
      const elapsed = Date.now() - started;
      expect(answer(res)).toEqual({ status: 200, body: { gid, status: 'COMMITTING' } });
      expect(elapsed).toBeGreaterThanOrEqual(COMMIT_WAIT_MS - 100);
      expect(elapsed).toBeLessThan(COMMIT_WAIT_MS + 3_000);
      // Commit while COMMITTING is idempotent too.
      const again = await api.commit(gid, { wait: false });
      expect(answer(again)).toMatchObject({ status: 200, body: { gid } });
      expect(['COMMITTING', 'COMMITTED']).toContain(again.body.status);

      const view = await api.waitForStatus(gid, ['COMMITTED'], 15_000);
      expect(view.branches[0]).toMatchObject({ status: 'CONFIRMED' });
      expect(view.branches[0].attempts).toBeGreaterThanOrEqual(2);
      const confirms = participant.callsFor(gid, 'b1', 'confirm');
      expect(confirms.length).toBeGreaterThanOrEqual(2);
      // The hanging call was given up after the request timeout, not earlier.
      expect(confirms[1].at - confirms[0].at).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
      expect(participant.callsFor(gid, undefined, 'cancel')).toHaveLength(0);
      expect(answer(await api.commit(gid, {}))).toEqual({ status: 200, body: { gid, status: 'COMMITTED' } });
    });

    it('answers 409 with the status on a rolled-back or rolling-back transaction', async () => {
      const done = await txWithBranches('commit-rb', [newRoute('crb')]);
      expect((await api.rollback(done, {})).body.status).toBe('ROLLED_BACK');
      expectConflict(await api.commit(done, {}), ['ROLLED_BACK']);

      const route = newRoute('crb-hang');
      participant.behave(`/${route}/cancel`, { kind: 'hang', times: 1 });
      const rolling = await txWithBranches('commit-rbing', [route]);
      const rb = await api.rollback(rolling, { wait: false });
      expect(answer(rb)).toEqual({ status: 200, body: { gid: rolling, status: 'ROLLING_BACK' } });
      expectConflict(await api.commit(rolling, {}), ['ROLLING_BACK']);
      await api.waitForStatus(rolling, ['ROLLED_BACK'], 15_000);
      expectConflict(await api.commit(rolling, { wait: false }), ['ROLLED_BACK']);
      expect(participant.callsFor(done, undefined, 'confirm')).toHaveLength(0);
      expect(participant.callsFor(rolling, undefined, 'confirm')).toHaveLength(0);
    });

    it('answers 409 to a commit after expiresAt and rolls the transaction back', async () => {
      const route = newRoute('expired');
      const gid = await txWithBranches('commit-expired', [route], { timeoutMs: 300 });
      await sleep(450);
      expectConflict(await api.commit(gid, {}), ['ROLLING_BACK', 'ROLLED_BACK']);
      const view = await api.waitForStatus(gid, ['ROLLED_BACK']);
      expect(view.branches[0].status).toBe('CANCELLED');
      expect(participant.callsFor(gid, 'b1', 'cancel').length).toBeGreaterThanOrEqual(1);
      expect(participant.callsFor(gid, undefined, 'confirm')).toHaveLength(0);
    });

    it.each([
      ['wait as a string', { wait: 'yes' }, 'wait'],
      ['wait as a number', { wait: 1 }, 'wait'],
      ['an unknown property', { force: true }, 'force'],
    ] as Array<[string, Body, string]>)('answers 400 naming the field for %s, and changes nothing', async (_name, body, field) => {
      const gid = await txWithBranches('bad-commit', [newRoute('bad-commit')]);
      const before = await api.view(gid);
      expectBadRequest(await api.commit(gid, body), field);
      expect(await api.view(gid)).toEqual(before);
      expect(participant.callsFor(gid)).toHaveLength(0);
    });

    it('answers 404 for an unknown gid', async () => {
      expect(answer(await api.commit(newGid('nobody'), {}))).toMatchObject({ status: 404, body: { statusCode: 404 } });
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('POST /v1/transactions/:gid/rollback', () => {
    it('cancels every branch (none of which ran its try) and answers ROLLED_BACK', async () => {
      const [r1, r2] = [newRoute('rb1'), newRoute('rb2')];
      const gid = await txWithBranches('rollback', [r1, r2]);
      const res = await api.rollback(gid, { reason: 'try of b2 refused: insufficient funds' });
      expect(answer(res)).toEqual({ status: 200, body: { gid, status: 'ROLLED_BACK' } });
      const view = await api.view(gid);
      expect(view.status).toBe('ROLLED_BACK');
      for (const b of view.branches) expect(b).toMatchObject({ status: 'CANCELLED', attempts: 1, lastError: null });
      const calls = participant.callsFor(gid);
      expect(calls.map((c) => `${c.branchId}:${c.phase}`).sort()).toEqual(['b1:cancel', 'b2:cancel']);
      const b1 = calls.find((c) => c.branchId === 'b1')!;
      expect(b1.path).toBe(`/${r1}/cancel`);
      expect(JSON.parse(b1.rawBody)).toEqual({ gid, branchId: 'b1', phase: 'cancel', payload: { n: 1 } });
      expect(b1.headers[TCC_HEADERS.phase]).toBe('cancel');
    });

    it('keeps a reason and a participant error holding NUL characters (PostgreSQL text cannot hold them)', async () => {
      const route = newRoute('nul');
      participant.behave(`/${route}/cancel`, { kind: 'fail', status: 500, times: 1, body: 'broken\u0000body' });
      const gid = await txWithBranches('rollback-nul', [route]);
      expect(answer(await api.rollback(gid, { reason: 'bad\u0000reason' }))).toEqual({ status: 200, body: { gid, status: 'ROLLED_BACK' } });
      const [branch] = (await api.view(gid)).branches;
      expect(branch).toMatchObject({ status: 'CANCELLED', attempts: 2 });
      expect(participant.callsFor(gid, 'b1', 'cancel')).toHaveLength(2);
    });

    it('is idempotent: rollback again answers ROLLED_BACK and sends nothing more', async () => {
      const gid = await txWithBranches('rollback-idem', [newRoute('rbi')]);
      expect((await api.rollback(gid, {})).body.status).toBe('ROLLED_BACK');
      const before = await api.view(gid);
      expect(answer(await api.rollback(gid, {}))).toEqual({ status: 200, body: { gid, status: 'ROLLED_BACK' } });
      expect(answer(await api.rollback(gid, { wait: false, reason: 'again' }))).toEqual({ status: 200, body: { gid, status: 'ROLLED_BACK' } });
      await sleep(500);
      expect(participant.callsFor(gid, 'b1', 'cancel')).toHaveLength(1);
      expect(await api.view(gid)).toEqual(before);
    });

    it('accepts a rollback with no body, and with wait:false finishes in the background', async () => {
      const a = await beginTx('rollback-nobody');
      const res = await api.send({ method: 'POST', path: `/v1/transactions/${a}/rollback` });
      expect(answer(res)).toEqual({ status: 200, body: { gid: a, status: 'ROLLED_BACK' } });

      const route = newRoute('rb-nowait');
      participant.behave(`/${route}/cancel`, { kind: 'ok', delayMs: 1500 });
      const b = await txWithBranches('rollback-nowait', [route]);
      const started = Date.now();
      const nowait = await api.rollback(b, { wait: false });
      expect(Date.now() - started).toBeLessThan(1000);
      expect(['ROLLING_BACK', 'ROLLED_BACK']).toContain(nowait.body.status);
      expect((await api.waitForStatus(b, ['ROLLED_BACK'], 10_000)).branches[0].status).toBe('CANCELLED');
    });

    it('answers 409 with the status on a committed or committing transaction', async () => {
      const done = await txWithBranches('rollback-c', [newRoute('rbc')]);
      expect((await api.commit(done, {})).body.status).toBe('COMMITTED');
      expectConflict(await api.rollback(done, {}), ['COMMITTED']);

      const route = newRoute('rbc-hang');
      participant.behave(`/${route}/confirm`, { kind: 'hang', times: 1 });
      const committing = await txWithBranches('rollback-cing', [route]);
      const c = await api.commit(committing, { wait: false });
      expect(answer(c)).toEqual({ status: 200, body: { gid: committing, status: 'COMMITTING' } });
      expectConflict(await api.rollback(committing, {}), ['COMMITTING']);
      await api.waitForStatus(committing, ['COMMITTED'], 15_000);
      expectConflict(await api.rollback(committing, { wait: false }), ['COMMITTED']);
      expect(participant.callsFor(done, undefined, 'cancel')).toHaveLength(0);
      expect(participant.callsFor(committing, undefined, 'cancel')).toHaveLength(0);
    });

    it.each([
      ['wait as a string', { wait: 'no' }, 'wait'],
      ['a reason of 1025 characters', { reason: 'r'.repeat(1025) }, 'reason'],
      ['a numeric reason', { reason: 5 }, 'reason'],
      ['an unknown property', { cascade: true }, 'cascade'],
    ] as Array<[string, Body, string]>)('answers 400 naming the field for %s, and changes nothing', async (_name, body, field) => {
      const gid = await txWithBranches('bad-rollback', [newRoute('bad-rb')]);
      const before = await api.view(gid);
      expectBadRequest(await api.rollback(gid, body), field);
      expect(await api.view(gid)).toEqual(before);
      expect(participant.callsFor(gid)).toHaveLength(0);
    });

    it('answers 404 for an unknown gid', async () => {
      expect(answer(await api.rollback(newGid('nobody'), {}))).toMatchObject({ status: 404, body: { statusCode: 404 } });
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('GET /v1/transactions/:gid', () => {
    it('answers 404 for an unknown gid, and a 4xx (never a 5xx) for a gid that breaks the syntax', async () => {
      expect(answer(await api.get(newGid('nobody')))).toMatchObject({ status: 404, body: { statusCode: 404 } });
      for (const gid of ['has space', 'x'.repeat(GID_MAX_LENGTH + 1), 'a*b', 'é']) {
        const res = await api.get(gid);
        expect([400, 404]).toContain(res.status);
        expect(res.error.statusCode).toBe(res.status);
      }
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('scheduler', () => {
    it('rolls back a TRYING transaction past its deadline and cancels every branch, untouched by any client', async () => {
      const [r1, r2] = [newRoute('timeout1'), newRoute('timeout2')];
      const gid = await txWithBranches('timeout', [r1, r2], { timeoutMs: 300 });
      const view = await api.waitForStatus(gid, ['ROLLED_BACK'], 10_000);
      expect(view.branches.map((b) => b.status)).toEqual(['CANCELLED', 'CANCELLED']);
      expect(participant.callsFor(gid, 'b1', 'cancel')).toHaveLength(1);
      expect(participant.callsFor(gid, 'b2', 'cancel')).toHaveLength(1);
      expect(participant.callsFor(gid, undefined, 'confirm')).toHaveLength(0);
      // Not before the deadline.
      const cancelAt = Math.min(...participant.callsFor(gid).map((c) => c.at));
      expect(cancelAt).toBeGreaterThanOrEqual(ms(view.expiresAt) - 5);
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('concurrent repeats', () => {
    const times = <T>(n: number, f: () => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: n }, f));

    it('the same begin ten times at once: one 201, nine 200, one transaction', async () => {
      const gid = newGid('par-begin');
      const answers = await times(10, () => api.begin({ gid, timeoutMs: 60_000 }));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
      expect(new Set(answers.map((a) => a.body.createdAt)).size).toBe(1);
      expect(new Set(answers.map((a) => a.body.expiresAt)).size).toBe(1);
    });

    it('the same registration ten times at once: one 201, nine 200, one branch; a conflicting one: 409', async () => {
      const gid = await beginTx('par-reg');
      const body = branchBody('b1', newRoute('par-reg'), { payload: { v: 1 } });
      const answers = await times(10, () => api.register(gid, body));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);

      const urls = Array.from({ length: 6 }, () => participant.branch(newRoute('par-x')));
      const conflicting = await Promise.all(urls.map((u) => api.register(gid, { ...body, branchId: 'b2', ...u })));
      expect(conflicting.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
      const view = await api.view(gid);
      expect(view.branches.map((b) => b.branchId).sort()).toEqual(['b1', 'b2']);
    });

    it('ten commits at once: all answer COMMITTED, each branch is confirmed once', async () => {
      const gid = await txWithBranches('par-commit', [newRoute('pc1'), newRoute('pc2')]);
      const answers = await times(10, () => api.commit(gid, {}));
      for (const a of answers) expect(answer(a)).toEqual({ status: 200, body: { gid, status: 'COMMITTED' } });
      await sleep(300);
      expect(participant.callsFor(gid, 'b1', 'confirm')).toHaveLength(1);
      expect(participant.callsFor(gid, 'b2', 'confirm')).toHaveLength(1);
    });

    it('commit and rollback fired together on 20 transactions: exactly one wins each', async () => {
      const route = newRoute('duel');
      const gids = await Promise.all(Array.from({ length: 20 }, () => txWithBranches('duel', [route])));
      const results = await Promise.all(gids.map((gid) => Promise.all([api.commit(gid, {}), api.rollback(gid, {})])));
      for (const [k, [c, r]] of results.entries()) {
        const gid = gids[k];
        const view = await api.view(gid);
        const summary = { gid, commit: c.status, rollback: r.status, final: view.status };
        if (c.status === 200) {
          expect(summary).toEqual({ gid, commit: 200, rollback: 409, final: 'COMMITTED' });
          expect(participant.callsFor(gid, undefined, 'cancel')).toHaveLength(0);
        } else {
          expect(summary).toEqual({ gid, commit: 409, rollback: 200, final: 'ROLLED_BACK' });
          expect(participant.callsFor(gid, undefined, 'confirm')).toHaveLength(0);
        }
      }
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('bad input', () => {
    it('never changes a transaction, never reaches a participant, and never gets a 5xx', async () => {
      const route = newRoute('untouched');
      const gid = await txWithBranches('untouched', [route], { timeoutMs: 60_000, metadata: { k: 'v' } });
      const before = await api.view(gid);
      const path = `/v1/transactions/${gid}`;
      const b1 = branchBody('b1', route, { payload: { n: 1 } });
      const attempts: RawRequest[] = [
        { method: 'POST', path: '/v1/transactions', json: { gid, timeoutMs: -1 } },
        { method: 'POST', path: '/v1/transactions', json: { gid, metadata: 'x' } },
        { method: 'POST', path: '/v1/transactions', json: { gid, extra: 1 } },
        { method: 'POST', path: '/v1/transactions', raw: `{"gid":"${gid}"` },
        { method: 'POST', path: `${path}/branches`, json: { ...b1, branchId: 'b 2' } },
        { method: 'POST', path: `${path}/branches`, json: { ...b1, branchId: 'b2', confirm: 'http://10.9.9.9:1/x' } },
        { method: 'POST', path: `${path}/branches`, json: { ...b1, branchId: 'b2', protocol: 'smtp' } },
        { method: 'POST', path: `${path}/branches`, json: { ...b1, branchId: 'b2', payload: 'p'.repeat(PAYLOAD_LIMIT * 2) } },
        { method: 'POST', path: `${path}/branches`, json: { ...b1, payload: 'p'.repeat(PAYLOAD_LIMIT * 2) } },
        { method: 'POST', path: `${path}/branches`, json: { ...b1, unexpected: true } },
        { method: 'POST', path: `${path}/branches`, raw: '{"branchId":' },
        { method: 'POST', path: `${path}/branches`, raw: 'null' },
        { method: 'POST', path: `${path}/commit`, json: { wait: 'true' } },
        { method: 'POST', path: `${path}/commit`, json: { wait: true, now: 1 } },
        { method: 'POST', path: `${path}/commit`, raw: '{"wait":tru' },
        { method: 'POST', path: `${path}/commit`, raw: '[true]' },
        { method: 'POST', path: `${path}/rollback`, json: { wait: 0 } },
        { method: 'POST', path: `${path}/rollback`, json: { reason: ['a'] } },
        { method: 'POST', path: `${path}/rollback`, json: { reason: 'x'.repeat(5000) } },
        { method: 'POST', path: `${path}/rollback`, raw: '{"reason":"unterminated' },
        { method: 'POST', path: `${path}/rollback`, raw: '"rollback"' },
      ];
      for (const attempt of attempts) {
        const res = await api.send(attempt);
        const label = `${attempt.path} ${attempt.raw ?? JSON.stringify(attempt.json).slice(0, 80)} -> ${res.status} ${res.text.slice(0, 200)}`;
        expect({ label, fourXX: res.status >= 400 && res.status < 500 }).toEqual({ label, fourXX: true });
        expect({ label, jsonError: typeof res.error.statusCode }).toEqual({ label, jsonError: 'number' });
      }
      expect(await api.view(gid)).toEqual(before);
      expect(participant.callsFor(gid)).toHaveLength(0);
      // Still fully usable afterwards.
      expect(answer(await api.commit(gid, {}))).toEqual({ status: 200, body: { gid, status: 'COMMITTED' } });
      expect(participant.callsFor(gid).map((c) => c.phase)).toEqual(['confirm']);
    });
  });
});
