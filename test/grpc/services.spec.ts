/**
 * The example services over gRPC: the account service's account-freeze branch served as
 * tcc.v1.participants.AccountFreeze (barrier semantics, refusals and malformed calls as gRPC
 * statuses), and the order service calling it over gRPC while it talks to the coordinator over
 * gRPC too. Settings are validated at start. Real coordinator, services and MariaDB.
 */
import { Client, credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { participantGrpcService, participantGrpcTarget, type TransactionView } from '@tcc/client';
import { participantMethods, type BranchReplyMsg, type BranchRequestMsg } from '@tcc/client/grpc/grpc.messages';
import { loadAccountConfig } from '../../apps/account-service/src/config/account.config';
import { loadOrderConfig } from '../../apps/order-service/src/config/order.config';
import { randomId } from '../client/support/databases';
import { Http } from '../client/support/http';
import { startStack, type Stack } from '../client/support/stack';
import { bearer } from '../support/api-keys';

interface BranchAnswer {
  code: GrpcStatus;
  details: string;
  trailers: Record<string, string>;
  result: unknown;
}

/** Calls one phase of the account-freeze branch directly, as the coordinator or an initiator would. */
async function callBranch(
  client: Client,
  address: string,
  phase: 'try' | 'confirm' | 'cancel',
  request: BranchRequestMsg,
  headers: Record<string, string> = { 'x-tcc-gid': request.gid, 'x-tcc-branch-id': request.branchId, 'x-tcc-phase': phase },
): Promise<BranchAnswer> {
  const method = participantMethods().Try;
  const path = participantGrpcTarget(address, 'account-freeze', phase).slice(address.length);
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, method.requestSerialize, method.responseDeserialize, request, metadata, { deadline: Date.now() + 10_000 }, (error: ServiceError | null, reply?: BranchReplyMsg) => {
      const trailers: Record<string, string> = {};
      for (const [key, value] of Object.entries(error?.metadata?.getMap() ?? {})) trailers[key] = String(value);
      resolve({
        code: error ? error.code : GrpcStatus.OK,
        details: error?.details ?? '',
        trailers,
        result: reply?.result ? JSON.parse(reply.result) : undefined,
      });
    });
  });
}

describe('settings', () => {
  it('takes ACCOUNT_GRPC_PORT, ACCOUNT_BRANCH_PROTOCOL and the gRPC addresses, with defaults, and names a bad value', () => {
    expect(loadAccountConfig({}).grpc).toEqual({ host: '0.0.0.0', port: 7081 });
    expect(loadAccountConfig({ ACCOUNT_GRPC_PORT: '0' }).grpc.port).toBe(0);
    expect(() => loadAccountConfig({ ACCOUNT_GRPC_PORT: '70000' })).toThrow(/ACCOUNT_GRPC_PORT="70000"/);
    const defaults = loadOrderConfig({});
    expect(defaults).toMatchObject({
      accountBranchProtocol: 'http',
      accountServiceGrpcAddress: '127.0.0.1:7081',
      coordinatorTransport: 'http',
      coordinatorGrpcAddress: '127.0.0.1:7071',
    });
    expect(() => loadOrderConfig({ ACCOUNT_BRANCH_PROTOCOL: 'ftp' })).toThrow(/ACCOUNT_BRANCH_PROTOCOL="ftp"/);
    expect(() => loadOrderConfig({ TCC_COORDINATOR_TRANSPORT: 'smoke' })).toThrow(/TCC_COORDINATOR_TRANSPORT="smoke"/);
    expect(() => loadOrderConfig({ ACCOUNT_SERVICE_GRPC_ADDRESS: 'http://accounts:7081' })).toThrow(/ACCOUNT_SERVICE_GRPC_ADDRESS/);
    expect(() => loadOrderConfig({ TCC_COORDINATOR_GRPC_ADDRESS: 'coordinator' })).toThrow(/TCC_COORDINATOR_GRPC_ADDRESS/);
    expect(participantGrpcService('account-freeze')).toBe('tcc.v1.participants.AccountFreeze');
  });
});

describe('account and order services over gRPC (MariaDB)', () => {
  let stack: Stack;
  let client: Client;
  const http = new Http();

  beforeAll(async () => {
    stack = await startStack({
      store: 'mariadb',
      orderEnv: { ACCOUNT_BRANCH_PROTOCOL: 'grpc', TCC_COORDINATOR_TRANSPORT: 'grpc', ORDER_REQUEST_TIMEOUT_MS: '5000' },
    });
    client = new Client(stack.account.grpcAddress, credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await stack?.close();
    await http.close();
  });

  const account = async (balance: number): Promise<string> => {
    const id = `acc-${randomId(6)}`;
    expect((await http.post(`${stack.account.url}/accounts`, { id, balance })).status).toBe(201);
    return id;
  };
  const balanceOf = async (id: string): Promise<Record<string, unknown>> => (await http.get(`${stack.account.url}/accounts/${id}`)).body;

  it('places orders with the account branch over gRPC: paid, refused for funds, refused for a missing account', async () => {
    const id = await account(1_000);
    const paid = await http.post(`${stack.order.url}/orders`, { accountId: id, amount: 300 });
    expect(paid).toMatchObject({ status: 201, body: { status: 'PAID' } });
    const view = (await http.get<TransactionView>(`${stack.coordinatorUrl}/v1/transactions/${String(paid.body.gid)}`, bearer())).body;
    expect(view.status).toBe('COMMITTED');
    const branches = Object.fromEntries(view.branches.map((b) => [b.branchId, b]));
    expect(branches['account-freeze']).toMatchObject({ protocol: 'grpc', status: 'CONFIRMED', attempts: 1 });
    expect(branches.order).toMatchObject({ protocol: 'http', status: 'CONFIRMED' });
    expect(await balanceOf(id)).toMatchObject({ balance: 700, frozen: 0 });

    const poor = await http.post(`${stack.order.url}/orders`, { accountId: id, amount: 701 });
    expect(poor).toMatchObject({ status: 409, body: { status: 'CANCELLED', reason: 'INSUFFICIENT_FUNDS' } });
    const nobody = await http.post(`${stack.order.url}/orders`, { accountId: `none-${randomId(4)}`, amount: 5 });
    expect(nobody).toMatchObject({ status: 409, body: { status: 'CANCELLED', reason: 'ACCOUNT_NOT_FOUND' } });
    for (const refused of [poor, nobody]) {
      const rolledBack = (await http.get<TransactionView>(`${stack.coordinatorUrl}/v1/transactions/${String(refused.body.gid)}`, bearer())).body;
      expect(rolledBack.status).toBe('ROLLED_BACK');
      for (const branch of rolledBack.branches) expect(branch.status).toBe('CANCELLED');
    }
    expect(await balanceOf(id)).toMatchObject({ balance: 700, frozen: 0 });
  });

  it('serves the barrier over gRPC: repeated try and confirm, empty rollback, a try after its cancel', async () => {
    const id = await account(500);
    const address = stack.account.grpcAddress;
    const gid = `g-${randomId(8)}`;
    const request = (phase: string, payload: unknown = { accountId: id, amount: 120 }): BranchRequestMsg => ({
      gid,
      branchId: 'b1',
      phase,
      payload: JSON.stringify(payload),
    });
    const first = await callBranch(client, address, 'try', request('try'));
    expect(first).toMatchObject({ code: GrpcStatus.OK, result: { gid, branchId: 'b1', phase: 'try', outcome: 'applied', result: { accountId: id, amount: 120 } } });
    expect(await callBranch(client, address, 'try', request('try'))).toMatchObject({ code: GrpcStatus.OK, result: { outcome: 'duplicate' } });
    expect(await balanceOf(id)).toMatchObject({ balance: 500, frozen: 120 });
    expect(await callBranch(client, address, 'confirm', request('confirm'))).toMatchObject({ code: GrpcStatus.OK, result: { outcome: 'applied' } });
    expect(await callBranch(client, address, 'confirm', request('confirm'))).toMatchObject({ code: GrpcStatus.OK, result: { outcome: 'duplicate' } });
    expect(await balanceOf(id)).toMatchObject({ balance: 380, frozen: 0 });

    // Cancel first: recorded as an empty rollback; the late try is refused and freezes nothing.
    const late = { ...request('cancel'), gid: `late-${randomId(6)}` };
    const cancel = await callBranch(client, address, 'cancel', late);
    expect(cancel).toMatchObject({ code: GrpcStatus.OK, result: { outcome: 'empty-rollback' } });
    const hanging = await callBranch(client, address, 'try', { ...late, phase: 'try' });
    expect(hanging).toMatchObject({
      code: GrpcStatus.FAILED_PRECONDITION,
      trailers: { 'tcc-error-code': 'BRANCH_CANCELLED', 'tcc-http-status': '409' },
    });
    expect(await balanceOf(id)).toMatchObject({ balance: 380, frozen: 0 });
  });

  it('answers refusals and malformed calls with gRPC codes and the tcc trailers', async () => {
    const id = await account(50);
    const address = stack.account.grpcAddress;
    const base = (payload: unknown): BranchRequestMsg => ({ gid: `r-${randomId(8)}`, branchId: 'b1', phase: 'try', payload: JSON.stringify(payload) });

    expect(await callBranch(client, address, 'try', base({ accountId: id, amount: 51 }))).toMatchObject({
      code: GrpcStatus.FAILED_PRECONDITION,
      trailers: { 'tcc-error-code': 'INSUFFICIENT_FUNDS', 'tcc-http-status': '409' },
    });
    expect(await callBranch(client, address, 'try', base({ accountId: 'nobody-here', amount: 5 }))).toMatchObject({
      code: GrpcStatus.NOT_FOUND,
      trailers: { 'tcc-error-code': 'ACCOUNT_NOT_FOUND', 'tcc-http-status': '404' },
    });
    expect(await callBranch(client, address, 'try', base({ accountId: id, amount: -1 }))).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      trailers: { 'tcc-error-code': 'INVALID_PAYLOAD', 'tcc-http-status': '400' },
    });
    const bad = base({ accountId: id, amount: 1 });
    expect(await callBranch(client, address, 'try', { ...bad, gid: 'has space' })).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      trailers: { 'tcc-fields': expect.stringContaining('gid') },
    });
    expect(await callBranch(client, address, 'try', { ...bad, payload: '{not json' })).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      trailers: { 'tcc-fields': 'payload' },
    });
    expect(await callBranch(client, address, 'confirm', { ...bad, phase: 'try' })).toMatchObject({
      code: GrpcStatus.INVALID_ARGUMENT,
      trailers: { 'tcc-fields': 'phase' },
    });
    const mismatch = await callBranch(client, address, 'try', bad, { 'x-tcc-gid': 'another-gid', 'x-tcc-branch-id': 'b1', 'x-tcc-phase': 'try' });
    expect(mismatch).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT, trailers: { 'tcc-fields': 'x-tcc-gid' } });
    expect(await balanceOf(id)).toMatchObject({ balance: 50, frozen: 0 });
  });
});
