/**
 * The example services' business views (docs/contract.md §13): the account service answers with its
 * freeze row (account-freeze), its credit row (refund-credit) and its points award (loyalty-points),
 * the order service with its order (order). Orders paid, refused and refunded reconcile clean; a
 * freeze row, an order and a points award edited or deleted behind the library's back are each
 * found as BUSINESS_MISMATCH with the business row in the participant's view; over HTTP and, with
 * the account branches over gRPC, through tcc.v1.participants.<Name>/Reconcile.
 */
import { OperateClient } from '../operate/support/admin.client';
import { Http } from '../client/support/http';
import { startStack, type Stack } from '../client/support/stack';
import { SERVER } from '../support/coordinator.in-process';
import { closeAll, eventually } from '../support/wait';

const ADMIN_TOKEN = 'reconcile-services-admin-token';

interface Run {
  id: string;
  state: string;
  checked: number;
  branches: number;
  mismatches: number;
  unreachable: number;
  skipped: number;
  findings: { gid: string; branchId: string; kind: string; coordinator: Record<string, unknown>; participant: { business?: { state: string; detail?: Record<string, unknown> } } }[];
}

describe.each(['http', 'grpc'])(`the example services reconcile (${SERVER}, account branches over %s)`, (protocol) => {
  let stack: Stack;
  let admin: OperateClient;
  const http = new Http();

  beforeAll(async () => {
    stack = await startStack({ store: SERVER, coordinatorEnv: { TCC_ADMIN_TOKEN: ADMIN_TOKEN, TCC_RECONCILE_RATE: '0' }, orderEnv: { ACCOUNT_BRANCH_PROTOCOL: protocol } });
    admin = new OperateClient(stack.coordinatorUrl, ADMIN_TOKEN);
  });

  afterAll(async () => {
    await closeAll(
      () => admin?.close(),
      () => stack?.close(),
      () => http.close(),
    );
  });

  const coordinatorDb = () => stack.databases.coordinator!;

  async function reconcile(from: number, to: number): Promise<Run> {
    const started = await admin.send<Run>('POST', '/admin/v1/reconciliations', { json: { from: new Date(from).toISOString(), to: new Date(to).toISOString() } });
    expect(started.status).toBe(202);
    return eventually(async () => {
      const got = await admin.send<Run>('GET', `/admin/v1/reconciliations/${started.body.id}`);
      return got.body.state === 'RUNNING' ? undefined : got.body;
    }, { timeoutMs: 60_000, what: 'the run to end' });
  }

  async function settled(): Promise<number> {
    await eventually(async () => {
      const rows = await coordinatorDb().query("SELECT COUNT(*) AS n FROM tcc_transactions WHERE status NOT IN ('COMMITTED', 'ROLLED_BACK')");
      return Number(rows[0].n) === 0;
    }, { timeoutMs: 30_000, what: 'every transaction (orders, points messages, refunds) to finish' });
    return Date.now() + 1;
  }

  it('finds an edited freeze, a reverted order and a deleted points award, and nothing in the untouched ones', async () => {
    const from = Date.now() - 1;
    expect((await http.post(`${stack.account.url}/accounts`, { id: 'rec-alice', balance: 100_000 })).status).toBe(201);
    const paid: { id: string; gid: string }[] = [];
    for (const amount of [1_000, 2_000, 3_000, 4_000]) {
      const answer = await http.post<{ id: string; gid: string; status: string }>(`${stack.order.url}/orders`, { accountId: 'rec-alice', amount });
      expect(answer.body.status).toBe('PAID');
      paid.push(answer.body);
    }
    const refused = await http.post<{ status: string }>(`${stack.order.url}/orders`, { accountId: 'rec-alice', amount: 1_000_000 });
    expect(refused.body.status).toBe('CANCELLED');
    const refund = await http.post<{ status: string }>(`${stack.order.url}/orders/${paid[3].id}/refund`, {});
    expect(refund.body.status).toBe('REFUNDED');
    // Every paid order's points message delivered.
    await eventually(async () => (await stack.databases.account!.query('SELECT COUNT(*) AS n FROM points_awards')).map((r) => Number(r.n))[0] === 4, { what: 'four points awards' });
    const to = await settled();

    const clean = await reconcile(from, to);
    // 5 orders (TCC), 4 points messages, 1 refund saga.
    expect(clean).toMatchObject({ state: 'DONE', checked: 10, mismatches: 0, unreachable: 0 });
    expect(clean.findings).toEqual([]);

    await stack.databases.account!.query("UPDATE account_freezes SET status = 'RELEASED' WHERE gid = ?", [paid[0].gid]);
    await stack.databases.order!.query("UPDATE orders SET status = 'PENDING' WHERE gid = ?", [paid[1].gid]);
    const award = await stack.databases.account!.query<{ gid: string }>('SELECT gid FROM points_awards WHERE order_id = ?', [paid[2].id]);
    await stack.databases.account!.query('DELETE FROM points_awards WHERE order_id = ?', [paid[2].id]);

    const found = await reconcile(from, to);
    expect(found).toMatchObject({ state: 'DONE', checked: 10, mismatches: 3, unreachable: 0 });
    const kinds = found.findings.map((f) => [f.gid, f.branchId, f.kind, f.participant.business?.state]).sort();
    expect(kinds).toEqual(
      [
        [paid[0].gid, 'account-freeze', 'BUSINESS_MISMATCH', 'cancelled'],
        [paid[1].gid, 'order', 'BUSINESS_MISMATCH', 'tried'],
        [String(award[0].gid), 'points', 'BUSINESS_MISMATCH', 'none'],
      ].sort(),
    );
    const freeze = found.findings.find((f) => f.branchId === 'account-freeze')!;
    expect(freeze.coordinator).toMatchObject({ mode: 'tcc', status: 'COMMITTED', branchStatus: 'CONFIRMED' });
    expect(freeze.participant.business?.detail).toMatchObject({ status: 'RELEASED', accountId: 'rec-alice', amount: 1_000 });
    // Asked where its confirm went: the account service's HTTP endpoint or its gRPC Reconcile method.
    expect(String(freeze.coordinator.target)).toMatch(protocol === 'grpc' ? /\/tcc\.v1\.participants\.AccountFreeze\/Reconcile$/ : /\/tcc\/account-freeze\/reconcile$/);
    const points = found.findings.find((f) => f.branchId === 'points')!;
    expect(points.coordinator).toMatchObject({ mode: 'message', status: 'COMMITTED', branchStatus: 'SUCCEEDED' });
  }, 120_000);
});
