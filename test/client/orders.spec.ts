/**
 * The example end to end on the embedded SQLite files (what `npm start` runs): one order paid, one
 * refused for funds, and the services' input validation.
 */
import type { TransactionView } from '@tcc/client';
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
    // The paid order's 25 loyalty points arrive as a reliable message, right after the payment.
    const afterPaying = await eventually(
      async () => {
        const body = (await http.get(`${stack.account.url}/accounts/${account}`)).body as { points?: number };
        return body.points === 25 ? body : undefined;
      },
      { timeoutMs: 20_000, what: 'the paid order’s loyalty points' },
    );
    expect(afterPaying).toEqual({ id: account, balance: 7_500, frozen: 0, available: 7_500, points: 25 });
    expect((await http.get<TransactionView>(`${stack.coordinatorUrl}/v1/transactions/${String(paid.body.gid)}`, bearer())).body.status).toBe('COMMITTED');

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
