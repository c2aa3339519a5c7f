/**
 * Only the initiator decides (docs/contract.md §3.1): every v1 call is authenticated by a named API key
 * (HTTP `Authorization: Bearer`, gRPC metadata `authorization`), every transaction belongs to the
 * client that began it, and a refused call changes nothing. Over HTTP and gRPC, on the server
 * database and the embedded file; plus the bound on branches per transaction and the settings.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { loadCoordinatorConfig } from '../../apps/coordinator/src/config/coordinator.config';
import { CoordinatorApi } from '../support/coordinator.api';
import { createStore, startCoordinator, STORE_KINDS, type RunningCoordinator, type TestStore } from '../support/coordinator.in-process';
import { ParticipantServer } from '../support/participant.server';
import { OTHER_API_KEY, OTHER_CLIENT, TEST_API_KEY, TEST_CLIENT } from '../support/api-keys';
import { GrpcCoordinatorApi } from '../grpc/support/grpc-coordinator.api';
import { randomSuffix } from '../support/wait';

const ADMIN_TOKEN = 'auth-spec-admin-token-0123456789';
const ROTATED_KEY = 'tests-rotated-key-9876543210fedcba';
const MAX_BRANCHES = 3;

describe.each(STORE_KINDS)('v1 API authentication and ownership on %s', (kind) => {
  let store: TestStore | undefined;
  let coordinator: RunningCoordinator | undefined;
  let participant: ParticipantServer;
  let owner: CoordinatorApi;
  let other: CoordinatorApi;
  let keyless: CoordinatorApi;
  let wrongKey: CoordinatorApi;
  let rotated: CoordinatorApi;
  let grpcOwner: GrpcCoordinatorApi;
  let grpcOther: GrpcCoordinatorApi;
  let grpcKeyless: GrpcCoordinatorApi;

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    store = await createStore(kind);
    coordinator = await startCoordinator(store, {
      // The test client has two secrets (a rotation under way), the intruder one.
      TCC_API_KEYS: `${TEST_CLIENT}=${TEST_API_KEY},${OTHER_CLIENT}=${OTHER_API_KEY},${TEST_CLIENT}=${ROTATED_KEY}`,
      TCC_ADMIN_TOKEN: ADMIN_TOKEN,
      TCC_MAX_BRANCHES: String(MAX_BRANCHES),
      TCC_RETRY_BASE_MS: '50',
      TCC_RETRY_MAX_MS: '200',
    });
    owner = coordinator.api;
    other = new CoordinatorApi(coordinator.url, OTHER_API_KEY);
    keyless = new CoordinatorApi(coordinator.url, null);
    wrongKey = new CoordinatorApi(coordinator.url, 'not-a-configured-key-0123456789');
    rotated = new CoordinatorApi(coordinator.url, ROTATED_KEY);
    grpcOwner = new GrpcCoordinatorApi(coordinator.grpcAddress);
    grpcOther = new GrpcCoordinatorApi(coordinator.grpcAddress, OTHER_API_KEY);
    grpcKeyless = new GrpcCoordinatorApi(coordinator.grpcAddress, null);
  });

  afterAll(async () => {
    for (const api of [other, keyless, wrongKey, rotated]) await api?.close();
    for (const api of [grpcOwner, grpcOther, grpcKeyless]) api?.close();
    await coordinator?.close();
    await store?.dispose();
    await participant?.close();
  });

  const branch = (branchId: string): Record<string, unknown> => ({
    branchId,
    protocol: 'http',
    ...participant.branch(`auth-${branchId}`),
    payload: { amount: 1 },
  });

  async function begun(api: CoordinatorApi = owner): Promise<string> {
    const gid = `auth-${randomSuffix()}`;
    const res = await api.begin({ gid });
    expect(res.status).toBe(201);
    return gid;
  }

  async function adminView(gid: string): Promise<Record<string, unknown>> {
    const res = await owner.send<Record<string, unknown>>({ method: 'GET', path: `/admin/v1/transactions/${gid}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    return res.body;
  }

  describe('HTTP', () => {
    it.each([
      ['no key', () => keyless],
      ['a wrong key', () => wrongKey],
    ])('with %s every call answers 401 UNAUTHENTICATED and writes nothing', async (_, api) => {
      const gid = `auth-${randomSuffix()}`;
      const refusedBegin = await api().begin({ gid });
      expect(refusedBegin.status).toBe(401);
      expect(refusedBegin.body).toMatchObject({ statusCode: 401, error: 'UNAUTHENTICATED' });
      expect((await owner.get(gid)).status).toBe(404);

      const mine = await begun();
      for (const res of [
        await api().register(mine, branch('b1')),
        await api().commit(mine),
        await api().rollback(mine),
        await api().get(mine),
      ]) {
        expect({ status: res.status, error: res.error.error }).toEqual({ status: 401, error: 'UNAUTHENTICATED' });
        // The key is never echoed back.
        expect(res.text).not.toContain('not-a-configured-key');
      }
      const view = await owner.view(mine);
      expect(view.status).toBe('TRYING');
      expect(view.branches).toEqual([]);
    });

    it("another client's valid key: register, commit, rollback and read answer 403 PERMISSION_DENIED and change nothing", async () => {
      const gid = await begun();
      expect((await owner.register(gid, branch('mine'))).status).toBe(201);
      for (const res of [await other.register(gid, branch('theirs')), await other.commit(gid), await other.rollback(gid), await other.get(gid)]) {
        expect({ status: res.status, error: res.error.error }).toEqual({ status: 403, error: 'PERMISSION_DENIED' });
        expect(res.error.status).toBeUndefined();
      }
      const view = await owner.view(gid);
      expect(view.status).toBe('TRYING');
      expect(view.branches.map((b) => b.branchId)).toEqual(['mine']);
      expect(participant.calls.filter((c) => c.gid === gid)).toEqual([]);
      // The owner still decides.
      expect((await owner.commit(gid)).body).toMatchObject({ status: 'COMMITTED' });
      // And after the decision the intruder still learns nothing and changes nothing.
      expect((await other.rollback(gid)).status).toBe(403);
      expect((await owner.view(gid)).status).toBe('COMMITTED');
    });

    it("a begin naming another client's gid is refused as taken, saying nothing of its state", async () => {
      const gid = await begun();
      const res = await other.begin({ gid });
      expect(res.status).toBe(409);
      expect(res.error.message).toBe(`gid ${gid} is taken`);
      expect(res.error.status).toBeUndefined();
      expect(res.text).not.toContain('TRYING');
      // The owner's repeat of its own begin is still idempotent.
      expect((await owner.begin({ gid })).status).toBe(200);
    });

    it("records the owner, shown in the admin detail and list", async () => {
      const gid = await begun(other);
      expect(await adminView(gid)).toMatchObject({ gid, client: OTHER_CLIENT });
      const list = await owner.send<{ items: { gid: string; client: string }[] }>({
        method: 'GET',
        path: `/admin/v1/transactions?client=${OTHER_CLIENT}&limit=500`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(list.status).toBe(200);
      expect(list.body.items.map((t) => t.gid)).toContain(gid);
      expect(list.body.items.every((t) => t.client === OTHER_CLIENT)).toBe(true);
    });

    it('rotation: both secrets of one client are accepted, and they are the same client', async () => {
      const gid = await begun(owner);
      expect((await rotated.register(gid, branch('r1'))).status).toBe(201);
      expect((await rotated.get(gid)).status).toBe(200);
      expect((await rotated.commit(gid)).body).toMatchObject({ status: 'COMMITTED' });
      expect((await adminView(gid)).client).toBe(TEST_CLIENT);
    });

    it(`a transaction takes at most TCC_MAX_BRANCHES (${MAX_BRANCHES}) branches; one more is 409 naming the limit`, async () => {
      const gid = await begun();
      for (let i = 0; i < MAX_BRANCHES; i++) expect((await owner.register(gid, branch(`m${i}`))).status).toBe(201);
      const res = await owner.register(gid, branch('one-too-many'));
      expect(res.status).toBe(409);
      expect(res.error.status).toBe('TRYING');
      expect(res.error.message).toContain('TCC_MAX_BRANCHES');
      // A repeat of an existing registration still answers 200.
      expect((await owner.register(gid, branch('m0'))).status).toBe(200);
      expect((await owner.view(gid)).branches).toHaveLength(MAX_BRANCHES);
    });
  });

  describe('gRPC', () => {
    it('without a key: UNAUTHENTICATED, nothing written', async () => {
      const gid = `auth-${randomSuffix()}`;
      const res = await grpcKeyless.begin({ gid });
      expect(res.code).toBe(GrpcStatus.UNAUTHENTICATED);
      expect((await owner.get(gid)).status).toBe(404);
    });

    it("another client's key: PERMISSION_DENIED for register, commit, rollback and read; the owner commits", async () => {
      const began = await grpcOwner.begin({});
      expect(began.code).toBe(GrpcStatus.OK);
      const gid = began.reply.gid;
      const routes = participant.branch('auth-grpc');
      for (const res of [
        await grpcOther.register({ gid, branchId: 'g1', protocol: 'http', confirm: routes.confirm, cancel: routes.cancel }),
        await grpcOther.commit({ gid }),
        await grpcOther.rollback({ gid }),
        await grpcOther.get(gid),
      ]) {
        expect(res.code).toBe(GrpcStatus.PERMISSION_DENIED);
      }
      expect((await grpcOwner.view(gid)).status).toBe('TRYING');
      // One client over both transports is the same client.
      expect((await owner.commit(gid)).body).toMatchObject({ status: 'COMMITTED' });
    });
  });
});

describe('API key settings', () => {
  const load = (TCC_API_KEYS: string, extra: Record<string, string> = {}): ReturnType<typeof loadCoordinatorConfig> =>
    loadCoordinatorConfig({ TCC_API_KEYS, ...extra });

  it('reads names with several secrets, and keeps only digests', () => {
    const config = load('orders=orders-secret-0123456789,billing=billing-secret-0123456789,orders=orders-next-0123456789');
    expect(config.auth.keys.map((k) => k.name)).toEqual(['orders', 'billing', 'orders']);
    expect(JSON.stringify(config)).not.toContain('orders-secret');
    expect(config.auth.off).toBe(false);
  });

  it.each([
    ['a secret under 16 characters', 'orders=short', /secret of "orders"/],
    ['an entry without a name', '=orders-secret-0123456789', /entry 1 must be name=secret/],
    ['a name with a space', 'my orders=orders-secret-0123456789', /entry 1 must be name=secret/],
    ['one secret for two names', 'a=same-secret-0123456789,b=same-secret-0123456789', /already given/],
  ])('refuses %s, naming TCC_API_KEYS but never the secret', (_, value, message) => {
    let error: Error | undefined;
    try {
      load(value);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(/TCC_API_KEYS/);
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toMatch(/0123456789/);
  });

  it('refuses a headers timeout longer than the request timeout', () => {
    expect(() => loadCoordinatorConfig({ TCC_HTTP_HEADERS_TIMEOUT_MS: '40000', TCC_HTTP_REQUEST_TIMEOUT_MS: '30000' })).toThrow(/TCC_HTTP_HEADERS_TIMEOUT_MS must be <= TCC_HTTP_REQUEST_TIMEOUT_MS/);
  });

  it('TCC_API_AUTH takes on or off only', () => {
    expect(loadCoordinatorConfig({ TCC_API_AUTH: 'off' }).auth.off).toBe(true);
    expect(() => loadCoordinatorConfig({ TCC_API_AUTH: 'maybe' })).toThrow(/TCC_API_AUTH must be on or off/);
  });
});
