/**
 * The coordinator's gRPC API (docs/contract.md §4) end to end on MariaDB, the HTTP API suite repeated
 * over gRPC: every call's success, each error code with its trailers (INVALID_ARGUMENT naming the
 * field in `tcc-fields`, NOT_FOUND, FAILED_PRECONDITION with the current status in `tcc-status`,
 * RESOURCE_EXHAUSTED for an oversized payload), idempotent repeats, and bad input changing nothing.
 * Then the same through the library's GrpcCoordinatorClient: the typed errors of the HTTP client.
 * Participants are real HTTP and gRPC servers recording what the coordinator sends them.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  BRANCH_ID_MAX_LENGTH,
  CoordinatorError,
  CoordinatorUnavailableError,
  GID_MAX_LENGTH,
  ID_PATTERN,
} from '@tcc/client';
import { GrpcChannels } from '@tcc/client/grpc/grpc.channels';
import { GrpcCoordinatorClient } from '@tcc/client/client/grpc-coordinator.client';
import { resolveTccOptions } from '@tcc/client/tcc.options';
import type { RegisterBranchMsg } from '@tcc/client/grpc/grpc.messages';
import { createCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap';
import { CoordinatorApi } from '../support/coordinator.api';
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { randomSuffix, sleep } from '../support/wait';
import { GrpcCoordinatorApi, type GrpcResult } from './support/grpc-coordinator.api';
import { GrpcParticipantServer } from './support/grpc-participant.server';
import { TEST_API_KEY, TEST_API_KEYS } from '../support/api-keys';

const PAYLOAD_LIMIT = 4096;
const COMMIT_WAIT_MS = 1000;
const DEFAULT_TIMEOUT_MS = 20_000;
const MAX_TIMEOUT_MS = 3_600_000;
const LEDGER = 'tcc.test.Ledger';

const SETTINGS = {
  TCC_HOST: '127.0.0.1',
  TCC_HTTP_PORT: '0',
  TCC_GRPC_PORT: '0',
  TCC_MIGRATE_ON_START: 'true',
  TCC_LOG_LEVEL: 'error',
  TCC_API_KEYS: TEST_API_KEYS,
  TCC_SCAN_INTERVAL_MS: '200',
  TCC_RETRY_BASE_MS: '100',
  TCC_RETRY_MAX_MS: '500',
  TCC_REQUEST_TIMEOUT_MS: '2500',
  TCC_LEASE_MS: '6000',
  TCC_COMMIT_WAIT_MS: String(COMMIT_WAIT_MS),
  TCC_MAX_PAYLOAD_BYTES: String(PAYLOAD_LIMIT),
  TCC_DEFAULT_TIMEOUT_MS: String(DEFAULT_TIMEOUT_MS),
  TCC_MAX_TIMEOUT_MS: String(MAX_TIMEOUT_MS),
};

/** Code, details and trailers together, so a failed expectation shows what the coordinator answered. */
function outcome<T>(res: GrpcResult<T>): { code: string; reply?: T; fields?: string[]; status?: string } {
  return res.code === GrpcStatus.OK ? { code: 'OK', reply: res.reply } : { code: res.codeName, fields: res.fields, status: res.status };
}

function expectInvalid<T>(res: GrpcResult<T>, field: string): void {
  expect({ code: res.codeName, fields: res.fields, details: res.details }).toMatchObject({
    code: 'INVALID_ARGUMENT',
    fields: expect.arrayContaining([field]),
    details: expect.stringContaining(field),
  });
}

function expectPrecondition<T>(res: GrpcResult<T>, statuses: string[]): void {
  expect(outcome(res)).toMatchObject({ code: 'FAILED_PRECONDITION' });
  expect(statuses).toContain(res.status);
  expect(res.details).toContain(String(res.status));
}

function ms(iso: string): number {
  const t = Date.parse(iso);
  expect(Number.isFinite(t)).toBe(true);
  return t;
}

describe('coordinator gRPC API (tcc.v1.Coordinator) on MariaDB', () => {
  let database: TestDatabase | undefined;
  let coordinator: RunningCoordinator | undefined;
  let http: ParticipantServer;
  let grpcParticipant: GrpcParticipantServer;
  let rpc: GrpcCoordinatorApi;
  let api: CoordinatorApi;

  beforeAll(async () => {
    http = await ParticipantServer.start();
    grpcParticipant = await GrpcParticipantServer.start([LEDGER]);
    database = await createTestDatabase();
    coordinator = await createCoordinator({ ...SETTINGS, TCC_DB_URL: database.url });
    rpc = new GrpcCoordinatorApi(coordinator.grpcAddress);
    api = new CoordinatorApi(coordinator.url);
  });

  afterAll(async () => {
    rpc?.close();
    await api?.close();
    await coordinator?.close();
    await http?.close();
    await grpcParticipant?.close();
    await database?.drop();
  });

  const newGid = (label: string): string => `${label}-${randomSuffix()}`;
  let routeSeq = 0;
  const newRoute = (label: string): string => `${label}-${++routeSeq}`;

  function httpBranch(branchId: string, route: string, extra: Partial<RegisterBranchMsg> = {}): Partial<RegisterBranchMsg> {
    return { branchId, participant: `svc-${branchId}`, protocol: 'http', ...http.branch(route), ...extra };
  }

  async function beginTx(label: string, extra: { timeoutMs?: number } = {}): Promise<string> {
    const gid = newGid(label);
    const res = await rpc.begin({ gid, ...extra });
    expect(outcome(res)).toMatchObject({ code: 'OK', reply: { gid, status: 'TRYING', created: true } });
    return gid;
  }

  async function registerOk(gid: string, body: Partial<RegisterBranchMsg>): Promise<void> {
    const res = await rpc.register({ gid, ...body });
    expect(outcome(res)).toMatchObject({ code: 'OK', reply: { gid, branchId: body.branchId, status: 'REGISTERED', created: true } });
  }

  describe('Begin', () => {
    it('creates a TRYING transaction with a generated, time-sortable gid and the default timeout', async () => {
      const gids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await rpc.begin({});
        expect(outcome(res)).toMatchObject({ code: 'OK', reply: { status: 'TRYING', created: true } });
        expect(res.reply.gid).toMatch(ID_PATTERN);
        expect(res.reply.gid.length).toBeLessThanOrEqual(GID_MAX_LENGTH);
        expect(Math.abs(ms(res.reply.expiresAt) - ms(res.reply.createdAt) - DEFAULT_TIMEOUT_MS)).toBeLessThanOrEqual(2);
        gids.push(res.reply.gid);
        await sleep(3);
      }
      expect([...gids].sort()).toEqual(gids);
      expect(await rpc.view(gids[0])).toMatchObject({ gid: gids[0], status: 'TRYING' });
    });

    it("honours the client's gid, timeoutMs and metadata (JSON text), visible over gRPC and HTTP", async () => {
      const gid = `Ab0_.:-${randomSuffix()}`.padEnd(GID_MAX_LENGTH, 'x');
      const metadata = { order: 'o-1', n: 3, nested: { list: [1, 'x', null, true] } };
      const res = await rpc.begin({ gid, timeoutMs: 45_000, metadata: JSON.stringify(metadata) });
      expect(outcome(res)).toMatchObject({ code: 'OK', reply: { gid, status: 'TRYING', created: true } });
      expect(ms(res.reply.expiresAt) - ms(res.reply.createdAt)).toBe(45_000);
      const view = await rpc.view(gid);
      expect(JSON.parse(view.metadata ?? '')).toEqual(metadata);
      expect(view).toMatchObject({ createdAt: res.reply.createdAt, expiresAt: res.reply.expiresAt });
      expect(view.branches ?? []).toEqual([]);
      expect((await api.view(gid)).metadata).toEqual(metadata);
    });

    it('repeats idempotently for a TRYING gid (created false, same transaction) and refuses a finished one with its status', async () => {
      const gid = await beginTx('again', { timeoutMs: 60_000 });
      const first = await rpc.view(gid);
      const again = await rpc.begin({ gid, timeoutMs: 60_000 });
      expect(outcome(again)).toMatchObject({ code: 'OK', reply: { gid, status: 'TRYING', created: false, createdAt: first.createdAt, expiresAt: first.expiresAt } });

      expect((await rpc.commit({ gid })).reply.status).toBe('COMMITTED');
      expectPrecondition(await rpc.begin({ gid }), ['COMMITTED']);
      const rolledBack = await beginTx('fin-r');
      expect((await rpc.rollback({ gid: rolledBack })).reply.status).toBe('ROLLED_BACK');
      expectPrecondition(await rpc.begin({ gid: rolledBack }), ['ROLLED_BACK']);
    });

    const badBegins: Array<[string, () => Record<string, unknown>, string]> = [
      ['a gid with a space', () => ({ gid: 'has space' }), 'gid'],
      ['a gid with a slash', () => ({ gid: 'a/b' }), 'gid'],
      ['a gid of 129 characters', () => ({ gid: 'g'.repeat(GID_MAX_LENGTH + 1) }), 'gid'],
      ['a negative timeoutMs', () => ({ timeoutMs: -5 }), 'timeoutMs'],
      ['a timeoutMs above TCC_MAX_TIMEOUT_MS', () => ({ timeoutMs: MAX_TIMEOUT_MS + 1 }), 'timeoutMs'],
      ['metadata that is not JSON', () => ({ metadata: '{"a":' }), 'metadata'],
      ['metadata that is a JSON array', () => ({ metadata: '[1,2]' }), 'metadata'],
      ['metadata that is a JSON string', () => ({ metadata: '"text"' }), 'metadata'],
    ];
    it.each(badBegins)('answers INVALID_ARGUMENT naming the field for %s, and creates nothing', async (_name, make, field) => {
      const gid = newGid('bad-begin');
      const body = { gid, ...make() };
      expectInvalid(await rpc.begin(body), field);
      expect((await rpc.get(gid)).codeName).toBe('NOT_FOUND');
    });

    it('answers RESOURCE_EXHAUSTED for metadata far above the size limit, and creates nothing', async () => {
      const gid = newGid('huge-begin');
      const res = await rpc.begin({ gid, metadata: JSON.stringify({ blob: 'x'.repeat(2 * 1024 * 1024) }) });
      expect(res.codeName).toBe('RESOURCE_EXHAUSTED');
      expect((await rpc.get(gid)).codeName).toBe('NOT_FOUND');
    });
  });

  describe('RegisterBranch', () => {
    it('registers http and grpc branches, repeats idempotently, and refuses the same branchId with other fields', async () => {
      const gid = await beginTx('reg', { timeoutMs: 3_600_000 });
      const route = newRoute('reg');
      const body = httpBranch('pay-1', route, { payload: JSON.stringify({ amount: 42, tags: ['a'] }) });
      await registerOk(gid, body);
      const again = await rpc.register({ gid, ...body });
      expect(outcome(again)).toMatchObject({ code: 'OK', reply: { gid, branchId: 'pay-1', status: 'REGISTERED', created: false } });
      expectPrecondition(await rpc.register({ gid, ...body, confirm: http.url('/elsewhere/confirm') }), ['TRYING']);
      expectPrecondition(await rpc.register({ gid, ...body, payload: JSON.stringify({ amount: 43, tags: ['a'] }) }), ['TRYING']);

      const longId = 'b'.repeat(BRANCH_ID_MAX_LENGTH);
      await registerOk(gid, { branchId: longId, protocol: 'grpc', ...grpcParticipant.branch(LEDGER) });
      const view = await rpc.view(gid);
      // Proto fields: no participant and no error travel as empty text.
      expect(view.branches).toMatchObject([
        { branchId: 'pay-1', participant: 'svc-pay-1', protocol: 'http', status: 'REGISTERED' },
        { branchId: longId, protocol: 'grpc', status: 'REGISTERED' },
      ]);
      expect(view.branches?.[1].participant ?? '').toBe('');
      // An hour-long TRYING transaction: roll it back so phase two has nothing left to chase.
      expect((await rpc.rollback({ gid })).reply.status).toBe('ROLLED_BACK');
    });

    const badRegisters: Array<[string, (b: Partial<RegisterBranchMsg>) => Partial<RegisterBranchMsg>, string]> = [
      ['a missing branchId', ({ branchId: _omit, ...b }) => b, 'branchId'],
      ['a branchId with a space', (b) => ({ ...b, branchId: 'b 1' }), 'branchId'],
      ['a branchId of 65 characters', (b) => ({ ...b, branchId: 'b'.repeat(BRANCH_ID_MAX_LENGTH + 1) }), 'branchId'],
      ['a missing protocol', ({ protocol: _omit, ...b }) => b, 'protocol'],
      ['protocol ftp', (b) => ({ ...b, protocol: 'ftp' }), 'protocol'],
      ['a relative confirm URL', (b) => ({ ...b, confirm: '/confirm' }), 'confirm'],
      ['a missing cancel', ({ cancel: _omit, ...b }) => b, 'cancel'],
      ['a confirm target outside TCC_ALLOWED_TARGETS', (b) => ({ ...b, confirm: 'http://10.0.0.1:8080/confirm' }), 'confirm'],
      ['a grpc branch with an http URL', (b) => ({ ...b, protocol: 'grpc', confirm: 'http://127.0.0.1:50051/x' }), 'confirm'],
      ['a grpc target without a method', (b) => ({ ...b, protocol: 'grpc', confirm: '127.0.0.1:50051', cancel: '127.0.0.1:50051/tcc.v1.A/Cancel' }), 'confirm'],
      ['a participant of 129 characters', (b) => ({ ...b, participant: 'p'.repeat(129) }), 'participant'],
      ['a payload that is not JSON', (b) => ({ ...b, payload: '{"amount":' }), 'payload'],
    ];
    it.each(badRegisters)('answers INVALID_ARGUMENT naming the field for %s, and registers nothing', async (_name, mutate, field) => {
      const gid = await beginTx('bad-reg');
      expectInvalid(await rpc.register({ gid, ...mutate(httpBranch('b1', newRoute('bad-reg'))) }), field);
      expect((await rpc.view(gid)).branches ?? []).toEqual([]);
    });

    it('answers INVALID_ARGUMENT for a malformed gid, NOT_FOUND for an unknown one', async () => {
      expectInvalid(await rpc.register({ gid: 'no such/gid', ...httpBranch('b1', newRoute('x')) }), 'gid');
      expect(outcome(await rpc.register({ gid: newGid('nobody'), ...httpBranch('b1', newRoute('nobody')) }))).toMatchObject({ code: 'NOT_FOUND' });
    });

    it('answers RESOURCE_EXHAUSTED for a payload above TCC_MAX_PAYLOAD_BYTES and carries one below it to the confirm', async () => {
      const gid = await beginTx('payload');
      const big = await rpc.register({ gid, ...httpBranch('big', newRoute('big'), { payload: JSON.stringify({ blob: 'x'.repeat(PAYLOAD_LIMIT + 100) }) }) });
      expect(big.codeName).toBe('RESOURCE_EXHAUSTED');
      expect((await rpc.view(gid)).branches ?? []).toEqual([]);
      const payload = { blob: 'z'.repeat(PAYLOAD_LIMIT - 200), unicode: 'é✓' };
      await registerOk(gid, httpBranch('fits', newRoute('fits'), { payload: JSON.stringify(payload) }));
      expect((await rpc.commit({ gid })).reply.status).toBe('COMMITTED');
      expect(http.callsFor(gid, 'fits', 'confirm')[0].body?.payload).toEqual(payload);
    });

    it('answers FAILED_PRECONDITION with the status on a transaction that is no longer TRYING, and adds nothing', async () => {
      const committed = await beginTx('late-c');
      expect((await rpc.commit({ gid: committed })).reply.status).toBe('COMMITTED');
      expectPrecondition(await rpc.register({ gid: committed, ...httpBranch('b9', newRoute('late')) }), ['COMMITTED']);
      const rolledBack = await beginTx('late-r');
      expect((await rpc.rollback({ gid: rolledBack })).reply.status).toBe('ROLLED_BACK');
      expectPrecondition(await rpc.register({ gid: rolledBack, ...httpBranch('b9', newRoute('late')) }), ['ROLLED_BACK']);
      expect((await rpc.view(committed)).branches ?? []).toEqual([]);
    });
  });

  describe('Commit, Rollback and GetTransaction', () => {
    it('commits an HTTP and a gRPC branch, passes the trace context on, and repeats idempotently', async () => {
      const gid = await beginTx('commit');
      const route = newRoute('commit');
      await registerOk(gid, httpBranch('b1', route, { payload: JSON.stringify({ amount: 1 }) }));
      await registerOk(gid, { branchId: 'b2', participant: 'ledger', protocol: 'grpc', ...grpcParticipant.branch(LEDGER), payload: JSON.stringify({ amount: 2 }) });
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const res = await rpc.commit({ gid, wait: true }, { traceparent });
      expect(outcome(res)).toEqual({ code: 'OK', reply: { gid, status: 'COMMITTED' } });

      const view = await rpc.view(gid);
      expect(view.status).toBe('COMMITTED');
      expect(view.branches).toMatchObject([
        { branchId: 'b1', participant: 'svc-b1', protocol: 'http', status: 'CONFIRMED', attempts: 1 },
        { branchId: 'b2', participant: 'ledger', protocol: 'grpc', status: 'CONFIRMED', attempts: 1 },
      ]);
      for (const branch of view.branches ?? []) expect(branch.lastError ?? '').toBe('');
      const [httpCall] = http.callsFor(gid, 'b1', 'confirm');
      expect(httpCall.headers.traceparent).toBe(traceparent);
      const [grpcCall] = grpcParticipant.callsFor(gid, 'b2', 'confirm');
      expect(grpcCall.path).toBe(`/${LEDGER}/Confirm`);
      expect(grpcCall.metadata).toMatchObject({ 'x-tcc-gid': gid, 'x-tcc-branch-id': 'b2', 'x-tcc-phase': 'confirm', traceparent });

      for (const wait of [true, false, undefined]) {
        expect(outcome(await rpc.commit({ gid, wait }))).toEqual({ code: 'OK', reply: { gid, status: 'COMMITTED' } });
      }
      await sleep(300);
      expect(http.callsFor(gid)).toHaveLength(1);
      expect(grpcParticipant.callsFor(gid)).toHaveLength(1);
    });

    it('with wait false answers at once; with wait answers COMMITTING after TCC_COMMIT_WAIT_MS when a confirm is slow', async () => {
      const route = newRoute('slow');
      http.behave(`/${route}/confirm`, { kind: 'ok', delayMs: COMMIT_WAIT_MS + 500 });
      const gid = await beginTx('slow');
      await registerOk(gid, httpBranch('b1', route));
      const started = Date.now();
      const res = await rpc.commit({ gid });
      expect(outcome(res)).toEqual({ code: 'OK', reply: { gid, status: 'COMMITTING' } });
      expect(Date.now() - started).toBeGreaterThanOrEqual(COMMIT_WAIT_MS - 50);
      await api.waitForStatus(gid, ['COMMITTED']);

      const quick = await beginTx('nowait');
      await registerOk(quick, httpBranch('b1', newRoute('nowait')));
      expect(['COMMITTING', 'COMMITTED']).toContain((await rpc.commit({ gid: quick, wait: false })).reply.status);
      await api.waitForStatus(quick, ['COMMITTED']);
    });

    it('rolls back, cancelling every branch over both protocols, with a reason; repeats idempotently', async () => {
      const gid = await beginTx('rollback');
      const route = newRoute('rollback');
      await registerOk(gid, httpBranch('b1', route));
      await registerOk(gid, { branchId: 'b2', protocol: 'grpc', ...grpcParticipant.branch(LEDGER) });
      expect(outcome(await rpc.rollback({ gid, reason: 'changed my mind' }))).toEqual({ code: 'OK', reply: { gid, status: 'ROLLED_BACK' } });
      expect(outcome(await rpc.rollback({ gid, wait: false }))).toEqual({ code: 'OK', reply: { gid, status: 'ROLLED_BACK' } });
      expect(http.callsFor(gid).map((c) => c.phase)).toEqual(['cancel']);
      expect(grpcParticipant.callsFor(gid).map((c) => c.path)).toEqual([`/${LEDGER}/Cancel`]);
      expect((await rpc.view(gid)).branches?.map((b) => b.status)).toEqual(['CANCELLED', 'CANCELLED']);
    });

    it('answers FAILED_PRECONDITION with the current status to a commit after rollback and a rollback after commit', async () => {
      const rolledBack = await beginTx('dec-r');
      await rpc.rollback({ gid: rolledBack });
      expectPrecondition(await rpc.commit({ gid: rolledBack }), ['ROLLED_BACK']);
      const committed = await beginTx('dec-c');
      await rpc.commit({ gid: committed });
      expectPrecondition(await rpc.rollback({ gid: committed }), ['COMMITTED']);

      const expired = await beginTx('expired', { timeoutMs: 300 });
      await registerOk(expired, httpBranch('b1', newRoute('expired')));
      await sleep(450);
      expectPrecondition(await rpc.commit({ gid: expired }), ['ROLLING_BACK', 'ROLLED_BACK']);
      await api.waitForStatus(expired, ['ROLLED_BACK']);
    });

    it('answers NOT_FOUND for unknown gids, INVALID_ARGUMENT for malformed ones and for a reason too long', async () => {
      for (const call of [
        (gid: string) => rpc.commit({ gid }),
        (gid: string) => rpc.rollback({ gid }),
        (gid: string) => rpc.get(gid),
      ]) {
        expect((await call(newGid('nobody'))).codeName).toBe('NOT_FOUND');
        expectInvalid(await call('not a gid'), 'gid');
        expectInvalid(await call(''), 'gid');
      }
      const gid = await beginTx('reason');
      expectInvalid(await rpc.rollback({ gid, reason: 'r'.repeat(1025) }), 'reason');
      expect((await rpc.view(gid)).status).toBe('TRYING');
    });

    it('ten identical commits at once all answer COMMITTED and each branch is confirmed once', async () => {
      const gid = await beginTx('ten');
      await registerOk(gid, httpBranch('b1', newRoute('ten')));
      await registerOk(gid, { branchId: 'b2', protocol: 'grpc', ...grpcParticipant.branch(LEDGER) });
      const answers = await Promise.all(Array.from({ length: 10 }, () => rpc.commit({ gid })));
      for (const res of answers) expect(outcome(res)).toEqual({ code: 'OK', reply: { gid, status: 'COMMITTED' } });
      expect(http.callsFor(gid, 'b1', 'confirm')).toHaveLength(1);
      expect(grpcParticipant.callsFor(gid, 'b2', 'confirm')).toHaveLength(1);
    });
  });

  describe("the library's GrpcCoordinatorClient", () => {
    let channels: GrpcChannels;
    let client: GrpcCoordinatorClient;

    beforeAll(() => {
      channels = new GrpcChannels();
      client = new GrpcCoordinatorClient(resolveTccOptions({ transport: 'grpc', coordinatorGrpcAddress: coordinator!.grpcAddress, apiKey: TEST_API_KEY, requestTimeoutMs: 3_000 }), channels);
    });

    afterAll(() => channels.close());

    it('runs a transaction and reads it back in the shapes of the HTTP API', async () => {
      const begun = await client.begin({ timeoutMs: 5_000, metadata: { note: 'grpc client' } });
      expect(begun).toEqual({ gid: begun.gid, status: 'TRYING', createdAt: expect.any(String), expiresAt: expect.any(String) });
      const route = newRoute('client');
      const registered = await client.registerBranch(begun.gid, { branchId: 'b1', protocol: 'http', ...http.branch(route), payload: { n: 1 } });
      expect(registered).toEqual({ gid: begun.gid, branchId: 'b1', status: 'REGISTERED' });
      expect(await client.commit(begun.gid)).toEqual({ gid: begun.gid, status: 'COMMITTED' });
      // Field for field what the HTTP API answers for the same transaction.
      expect(await client.get(begun.gid)).toEqual(await api.view(begun.gid));
      const empty = await client.begin();
      expect(await client.get(empty.gid)).toEqual(await api.view(empty.gid));
    });

    it('throws the typed errors of the HTTP client, with the status and fields from the trailers', async () => {
      const begun = await client.begin();
      await client.rollback(begun.gid, { wait: true, reason: 'test' });
      const conflict = await client.commit(begun.gid).catch((e: unknown) => e);
      expect(conflict).toBeInstanceOf(CoordinatorError);
      expect(conflict).toMatchObject({ statusCode: 409, grpcCode: GrpcStatus.FAILED_PRECONDITION, transactionStatus: 'ROLLED_BACK' });
      expect(await client.get(newGid('nobody')).catch((e: unknown) => e)).toMatchObject({ statusCode: 404, grpcCode: GrpcStatus.NOT_FOUND });
      const invalid = await client.begin({ gid: 'not a gid!' }).catch((e: unknown) => e);
      expect(invalid).toBeInstanceOf(CoordinatorError);
      expect(invalid).toMatchObject({ statusCode: 400, fields: ['gid'], body: { statusCode: 400, error: 'INVALID_ARGUMENT', fields: ['gid'] } });
      const open = await client.begin();
      const big = await client
        .registerBranch(open.gid, { branchId: 'big', protocol: 'http', ...http.branch('big'), payload: 'x'.repeat(PAYLOAD_LIMIT + 1) })
        .catch((e: unknown) => e);
      expect(big).toMatchObject({ statusCode: 413, grpcCode: GrpcStatus.RESOURCE_EXHAUSTED });

      const nowhereChannels = new GrpcChannels();
      const nowhere = new GrpcCoordinatorClient(resolveTccOptions({ coordinatorGrpcAddress: '127.0.0.1:1', requestTimeoutMs: 500 }), nowhereChannels);
      try {
        await expect(nowhere.get('x')).rejects.toBeInstanceOf(CoordinatorUnavailableError);
      } finally {
        nowhereChannels.close();
      }
    });
  });
});
