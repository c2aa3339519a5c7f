/**
 * The example end to end on the embedded SQLite files (what `npm start` runs): one order paid, one
 * refused for funds, its loyalty points, refunds (paid, twice, cancelled, unknown), and the
 * services' input validation.
 */
import { DataSource } from 'typeorm';
import { runRead, type TransactionView } from '@tcc/client';
import { randomId } from './support/databases';
import { Http } from './support/http';
import { startStack, type Stack } from './support/stack';
import { bearer } from '../support/api-keys';
import { eventually } from '../support/wait';

describe('orders paid from accounts (coordinator, account and order services on SQLite)', () => {
  let stack: Stack;
  const http = new Http();

  beforeAll(async () => {
    stack = await startStack({ store: 'sqlite' });
  });

  afterAll(async () => {
    await stack?.close();
    await http.close();
  });

  it('pays an order within the balance and refuses one beyond it, with the coordinator agreeing', async () => {
    const account = `alice-${randomId(6)}`;
    expect((await http.post(`${stack.account.url}/accounts`, { id: account, balance: 10_000 })).status).toBe(201);

    const paid = await http.post(`${stack.order.url}/orders`, { accountId: account, amount: 2_500 });
    expect(paid.status).toBe(201);
    expect(paid.body).toEqual({ id: expect.any(String), status: 'PAID', gid: expect.any(String) });
    const paidOrder = await http.get(`${stack.order.url}/orders/${String(paid.body.id)}`);
    expect(paidOrder.body).toEqual({ id: paid.body.id, accountId: account, amount: 2_500, status: 'PAID', gid: paid.body.gid });
    // The points (one per 100) arrive as a message after the payment: the balance at once.
    expect((await http.get(`${stack.account.url}/accounts/${account}`)).body).toMatchObject({ id: account, balance: 7_500, frozen: 0, available: 7_500 });
    expect((await http.get<TransactionView>(`${stack.coordinatorUrl}/v1/transactions/${String(paid.body.gid)}`, bearer())).body.status).toBe('COMMITTED');
    await pointsOf(account, 25);

    const refused = await http.post(`${stack.order.url}/orders`, { accountId: account, amount: 9_000 });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ id: expect.any(String), status: 'CANCELLED', reason: 'INSUFFICIENT_FUNDS' });
    const refusedOrder = await http.get(`${stack.order.url}/orders/${String(refused.body.id)}`);
    expect(refusedOrder.body).toMatchObject({ status: 'CANCELLED', amount: 9_000 });
    expect((await http.get<TransactionView>(`${stack.coordinatorUrl}/v1/transactions/${String(refused.body.gid)}`, bearer())).body.status).toBe('ROLLED_BACK');
    expect((await http.get(`${stack.account.url}/accounts/${account}`)).body).toEqual({ id: account, balance: 7_500, frozen: 0, available: 7_500, points: 25 });

    const nobody = await http.post(`${stack.order.url}/orders`, { accountId: 'no-such-account', amount: 1 });
    expect(nobody.status).toBe(409);
    expect(nobody.body).toMatchObject({ status: 'CANCELLED', reason: 'ACCOUNT_NOT_FOUND' });
  });

  /** Waits until the account shows `points`; answers the account. */
  const pointsOf = (account: string, points: number) =>
    eventually(
      async () => {
        const answer = await http.get<{ points?: number }>(`${stack.account.url}/accounts/${account}`);
        return answer.body.points === points ? answer.body : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50, what: `${points} points on ${account}` },
    );
  /** Rows of the account service's own SQLite database, read under its queue. */
  const accountRows = (sql: string, params: unknown[] = []) =>
    runRead(stack.account.app.get(DataSource), (manager) => manager.query(sql, params) as Promise<Array<Record<string, unknown>>>);

  it('refunds a paid order once (balance back, order REFUNDED, one credit), refuses a second refund and a cancelled order, 404 for an unknown one', async () => {
    const account = `dora-${randomId(6)}`;
    expect((await http.post(`${stack.account.url}/accounts`, { id: account, balance: 10_000 })).status).toBe(201);
    const paid = await http.post(`${stack.order.url}/orders`, { accountId: account, amount: 2_550 });
    expect(paid.status).toBe(201);
    const id = String(paid.body.id);
    expect((await http.get(`${stack.account.url}/accounts/${account}`)).body).toMatchObject({ balance: 7_450, frozen: 0 });

    // The refund: the saga committed, the amount back on the account, the order REFUNDED.
    const refunded = await http.post(`${stack.order.url}/orders/${id}/refund`, {});
    expect(refunded.status).toBe(200);
    expect(refunded.body).toEqual({ id, status: 'REFUNDED', gid: expect.any(String) });
    const saga = (await http.get<TransactionView>(`${stack.coordinatorUrl}/v1/transactions/${String(refunded.body.gid)}`, bearer())).body;
    expect(saga).toMatchObject({ mode: 'saga', status: 'COMMITTED', metadata: { orderId: id, kind: 'refund' } });
    expect(saga.branches.map((b) => [b.branchId, b.status])).toEqual([
      ['order', 'SUCCEEDED'],
      ['credit', 'SUCCEEDED'],
    ]);
    expect((await http.get(`${stack.order.url}/orders/${id}`)).body).toMatchObject({ id, status: 'REFUNDED', amount: 2_550 });
    expect((await http.get(`${stack.account.url}/accounts/${account}`)).body).toMatchObject({ balance: 10_000, frozen: 0, available: 10_000 });
    const credits = () => accountRows('SELECT account_id, amount, status FROM account_credits WHERE order_id = ?', [id]);
    expect(await credits()).toEqual([{ account_id: account, amount: 2_550, status: 'CREDITED' }]);

    // Asked again: refused, nothing moves (its saga rolled back, the order step's refusal compensated as nothing).
    const again = await http.post(`${stack.order.url}/orders/${id}/refund`, {});
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ id, status: 'REFUNDED', reason: 'ORDER_NOT_REFUNDABLE', gid: expect.any(String) });
    expect(again.body.gid).not.toBe(refunded.body.gid);
    expect((await http.get<TransactionView>(`${stack.coordinatorUrl}/v1/transactions/${String(again.body.gid)}`, bearer())).body).toMatchObject({ mode: 'saga', status: 'ROLLED_BACK' });
    expect((await http.get(`${stack.account.url}/accounts/${account}`)).body).toMatchObject({ balance: 10_000, frozen: 0 });
    expect((await http.get(`${stack.order.url}/orders/${id}`)).body).toMatchObject({ status: 'REFUNDED' });
    expect(await credits()).toEqual([{ account_id: account, amount: 2_550, status: 'CREDITED' }]);

    // A cancelled order (refused for funds) is not refundable either: nothing credited.
    const cancelled = await http.post(`${stack.order.url}/orders`, { accountId: account, amount: 20_000 });
    expect(cancelled.status).toBe(409);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED', reason: 'INSUFFICIENT_FUNDS' });
    const cancelledId = String(cancelled.body.id);
    const refuseCancelled = await http.post(`${stack.order.url}/orders/${cancelledId}/refund`, {});
    expect(refuseCancelled.status).toBe(409);
    expect(refuseCancelled.body).toMatchObject({ id: cancelledId, status: 'CANCELLED', reason: 'ORDER_NOT_REFUNDABLE', gid: expect.any(String) });
    expect((await http.get(`${stack.order.url}/orders/${cancelledId}`)).body).toMatchObject({ status: 'CANCELLED' });
    expect((await http.get(`${stack.account.url}/accounts/${account}`)).body).toMatchObject({ balance: 10_000, frozen: 0 });
    expect(await accountRows('SELECT order_id FROM account_credits WHERE order_id = ?', [cancelledId])).toEqual([]);

    // An order nobody placed.
    const unknown = await http.post(`${stack.order.url}/orders/no-such-order/refund`, {});
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: 'ORDER_NOT_FOUND' });
  });

  it('awards a paid order its points once: on GET /accounts/:id after paying, kept through a refund, not again for a repeated delivery', async () => {
    const account = `erin-${randomId(6)}`;
    expect((await http.post(`${stack.account.url}/accounts`, { id: account, balance: 10_000 })).status).toBe(201);
    expect((await http.get(`${stack.account.url}/accounts/${account}`)).body).toEqual({ id: account, balance: 10_000, frozen: 0, available: 10_000, points: 0 });
    const paid = await http.post(`${stack.order.url}/orders`, { accountId: account, amount: 1_999 });
    expect(paid.status).toBe(201);
    const id = String(paid.body.id);
    expect(await pointsOf(account, 19)).toMatchObject({ balance: 8_001, frozen: 0, points: 19 });
    const awards = await accountRows('SELECT order_id, account_id, points, gid FROM points_awards WHERE order_id = ?', [id]);
    expect(awards).toEqual([{ order_id: id, account_id: account, points: 19, gid: expect.any(String) }]);
    // The points message: delivered (COMMITTED) once, its gid the award's.
    const message = (await http.get<TransactionView>(`${stack.coordinatorUrl}/v1/transactions/${String(awards[0].gid)}`, bearer())).body;
    expect(message).toMatchObject({ mode: 'message', status: 'COMMITTED', metadata: { orderId: id } });

    // The same delivery again (a redelivery), and another message for the same order: nothing more.
    const payload = { orderId: id, accountId: account, points: 19 };
    const redelivered = await http.post(`${stack.account.url}/tcc/loyalty-points/message`, { gid: awards[0].gid, branchId: 'points', phase: 'message', payload });
    expect(redelivered.status).toBe(200);
    const secondMessage = await http.post(`${stack.account.url}/tcc/loyalty-points/message`, { gid: `points-again-${randomId(6)}`, branchId: 'points', phase: 'message', payload });
    expect(secondMessage.status).toBe(200);
    // Each delivery is answered once handled: the points stand as they were.
    expect((await http.get(`${stack.account.url}/accounts/${account}`)).body).toMatchObject({ points: 19 });
    expect(await accountRows('SELECT COUNT(*) AS n FROM points_awards WHERE order_id = ?', [id])).toEqual([{ n: 1 }]);
    // A refund gives the money back and keeps the points; a refused order gets none.
    expect((await http.post(`${stack.order.url}/orders/${id}/refund`, {})).status).toBe(200);
    expect((await http.get(`${stack.account.url}/accounts/${account}`)).body).toMatchObject({ balance: 10_000, points: 19 });
    const refused = await http.post(`${stack.order.url}/orders`, { accountId: account, amount: 50_000 });
    expect(refused.status).toBe(409);
    // One more paid order: its points arrive, and only its.
    expect((await http.post(`${stack.order.url}/orders`, { accountId: account, amount: 300 })).status).toBe(201);
    expect(await pointsOf(account, 22)).toMatchObject({ balance: 9_700, frozen: 0, points: 22 });
    expect(await accountRows('SELECT order_id, points FROM points_awards WHERE account_id = ? ORDER BY points', [account])).toEqual([
      { order_id: expect.any(String), points: 3 },
      { order_id: id, points: 19 },
    ]);
    expect(await accountRows('SELECT order_id FROM points_awards WHERE order_id = ?', [String(refused.body.id)])).toEqual([]);
  });

  it('answers 400 for amounts that are not positive integers up to 10^12, and 404 for unknown ids', async () => {
    const account = `bob-${randomId(6)}`;
    for (const balance of [0, -1, 1.5, '100', 1_000_000_000_001, null, true]) {
      const answer = await http.post(`${stack.account.url}/accounts`, { id: account, balance });
      expect(answer.status).toBe(400);
      expect(answer.body.fields).toEqual(['balance']);
    }
    expect((await http.post(`${stack.account.url}/accounts`, { id: 'bad id', balance: 5 })).status).toBe(400);
    expect((await http.post(`${stack.account.url}/accounts`, { id: account, balance: 1_000_000_000_000 })).status).toBe(201);
    expect((await http.post(`${stack.account.url}/accounts`, { id: account, balance: 5 })).status).toBe(409);
    // Ids are compared byte for byte.
    expect((await http.get(`${stack.account.url}/accounts/${account.toUpperCase()}`)).status).toBe(404);
    for (const amount of [0, -1, 2.5, '7', 1_000_000_000_001, undefined]) {
      const answer = await http.post(`${stack.order.url}/orders`, { accountId: account, amount });
      expect(answer.status).toBe(400);
      expect(answer.body.fields).toEqual(['amount']);
    }
    expect((await http.post(`${stack.order.url}/orders`, '{"accountId":')).status).toBe(400);
    expect((await http.get(`${stack.order.url}/orders/nope`)).status).toBe(404);
  });

  it('names an order in a failure only when it was written: never for one that could not even begin', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { startOrderService } = await import('./support/services');
    const dir = mkdtempSync(join(tmpdir(), 'tcc-orders-'));
    // No coordinator listens there: the begin fails before any order is written.
    const lonely = await startOrderService({ ORDER_SQLITE_PATH: join(dir, 'order.sqlite'), TCC_COORDINATOR_URL: 'http://127.0.0.1:1', ORDER_REQUEST_TIMEOUT_MS: '1000' });
    try {
      const answer = await http.post(`${lonely.url}/orders`, { accountId: 'anyone', amount: 5 });
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ created: false, reason: 'COORDINATOR_UNAVAILABLE' });
      expect(answer.body).not.toHaveProperty('id');
      expect(answer.body).not.toHaveProperty('status');
    } finally {
      await lonely.close();
      rmSync(dir, { recursive: true, force: true });
    }
    // A refusal after the order's own try names the order, which exists (cancelled).
    const account = `acct-${randomId(6)}`;
    expect((await http.post(`${stack.account.url}/accounts`, { id: account, balance: 10 })).status).toBe(201);
    const refused = await http.post(`${stack.order.url}/orders`, { accountId: account, amount: 50 });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ status: 'CANCELLED', reason: 'INSUFFICIENT_FUNDS' });
    expect((await http.get(`${stack.order.url}/orders/${String(refused.body.id)}`)).status).toBe(200);
  });
});
