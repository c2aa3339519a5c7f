/**
 * The money test, shared by test/client/money.spec.ts (HTTP) and test/grpc/money.spec.ts (gRPC):
 * the stack behind a faulty proxy, the accounts, N concurrent orders, convergence and the books.
 * Each spec says only how its stack is wired and what it checks beyond the books.
 */
import { DataSource } from 'typeorm';
import { runRead, type TransactionView } from '@tcc/client';
import { localTransactionStats } from '@tcc/client/testing';
import { bearer } from '../../support/api-keys';
import { randomId, type Row } from './databases';
import { Http, type Answer } from './http';
import { startStack, type Stack, type StackOptions } from './stack';

/** A proxy in front of the account service that fails some first attempts of confirms and cancels. */
export interface FaultInjector {
  stats: { droppedBefore: number; droppedAfter: number };
  close(): Promise<void>;
}

/** The stack, its faulty proxy and an HTTP client, filled in before the describe's tests run. */
export interface MoneyStack<P extends FaultInjector> {
  stack: Stack;
  proxy: P;
  http: Http;
}

/**
 * Starts the stack before the describe's tests and stops it, then the proxy, then the client after
 * them, then runs `cleanUp`. `options(keep)` builds the stack's options; the hook that starts the
 * faulty proxy hands it to `keep`.
 */
export function useMoneyStack<P extends FaultInjector>(
  options: (keep: (proxy: P) => P) => StackOptions | Promise<StackOptions>,
  cleanUp?: () => void,
): MoneyStack<P> {
  const money = { http: new Http() } as MoneyStack<P>;
  let proxy: P | undefined;
  beforeAll(async () => {
    money.stack = await startStack(
      await options((started) => {
        proxy = money.proxy = started;
        return started;
      }),
    );
  });
  afterAll(async () => {
    await money.stack?.close();
    await proxy?.close();
    await money.http.close();
    cleanUp?.();
  });
  return money;
}

export interface MoneyRun {
  /** Names the run in its summary line: `money (mariadb)`, `money over gRPC`. */
  label: string;
  accounts: number;
  orders: number;
  /** Only this branch's attempts count as retries of a fault (every branch's when absent). */
  faultyBranch?: string;
  /** More checks of each finished transaction. */
  checkTransaction?: (view: TransactionView) => void;
}

interface Books {
  query(sql: string): Promise<Row[]>;
}

/** Reads under the service's own SQLite queue, so it never sees a transaction half done. */
function sqliteBooks(dataSource: DataSource): Books {
  return { query: (sql) => runRead(dataSource, (manager) => manager.query(sql) as Promise<Row[]>) };
}

async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Opens the accounts, places the orders concurrently (a few beyond any balance), waits for every
 * transaction to finish, and checks: each answer, order, freeze and transaction agree; then
 * refunds a third of the paid orders (one of them twice at once) through the refund saga, and
 * checks the books: every balance is its opening balance minus its PAID orders (REFUNDED ones
 * came back), to the cent, nothing frozen; every order ever paid (PAID or REFUNDED) has its
 * loyalty points awarded exactly once, no other order any, and each account's points are the sum;
 * `0 <= frozen <= balance` held throughout; no deadlock victim; both kinds of fault happened and
 * were retried to success.
 */
export async function placeOrdersAndCheckBooks({ stack, proxy, http }: MoneyStack<FaultInjector>, run: MoneyRun): Promise<void> {
  const { accounts: ACCOUNTS, orders: ORDERS } = run;
  const accountDb = stack.databases.account ?? sqliteBooks(stack.account.app.get(DataSource));
  const orderDb = stack.databases.order ?? sqliteBooks(stack.order.app.get(DataSource));
  const opening = new Map<string, number>();
  for (let i = 0; i < ACCOUNTS; i++) {
    const id = `money-${i}-${randomId(4)}`;
    const balance = (ORDERS / ACCOUNTS) * (1_000 + Math.floor(Math.random() * 1_500));
    expect((await http.post(`${stack.account.url}/accounts`, { id, balance })).status).toBe(201);
    opening.set(id, balance);
  }
  const ids = [...opening.keys()];

  // Watch `0 <= frozen <= balance` in the database while the orders run.
  let watching = true;
  let violations = 0;
  let samples = 0;
  const watcher = (async () => {
    while (watching) {
      const [row] = await accountDb.query('SELECT COUNT(*) AS bad FROM accounts WHERE frozen < 0 OR frozen > balance');
      violations += Number(row.bad);
      samples++;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();

  // Random amounts, a few of them beyond any balance, so both outcomes surely happen.
  const placed = Array.from({ length: ORDERS }, (_, i) => {
    const accountId = ids[Math.floor(Math.random() * ids.length)];
    const amount = i % 20 === 7 ? opening.get(accountId)! + 1 : 100 + Math.floor(Math.random() * 3_900);
    return { accountId, amount };
  });
  const deadlocksBefore = localTransactionStats.deadlockRetries;
  const started = Date.now();
  const answers: Answer[] = await Promise.all(placed.map((order) => http.post(`${stack.order.url}/orders`, order)));
  const placedMs = Date.now() - started;

  for (const answer of answers) {
    if (answer.status === 201) {
      expect(answer.body).toMatchObject({ status: 'PAID' });
    } else {
      expect({ status: answer.status, body: answer.body }).toMatchObject({ status: 409, body: { status: 'CANCELLED', reason: 'INSUFFICIENT_FUNDS' } });
    }
  }
  const paidCount = answers.filter((a) => a.status === 201).length;
  expect(paidCount).toBeGreaterThan(0);
  expect(paidCount).toBeLessThan(ORDERS);

  // Convergence: every transaction finished, no order pending, nothing frozen.
  const views = await eventually(async () => {
    const all = await Promise.all(
      answers.map((a) => http.get<TransactionView>(`${stack.coordinatorUrl}/v1/transactions/${String(a.body.gid)}`, bearer())),
    );
    return all.every((v) => v.body.status === 'COMMITTED' || v.body.status === 'ROLLED_BACK') ? all.map((v) => v.body) : undefined;
  }, 'every transaction to finish');
  await eventually(async () => {
    const [pending] = await orderDb.query("SELECT COUNT(*) AS n FROM orders WHERE status = 'PENDING'");
    const [frozen] = await accountDb.query('SELECT COALESCE(SUM(frozen), 0) AS n FROM accounts');
    return Number(pending.n) === 0 && Number(frozen.n) === 0 ? true : undefined;
  }, 'no pending order and nothing frozen');
  watching = false;
  await watcher;

  // Every order is PAID or CANCELLED, agrees with its answer and with its transaction's outcome.
  const orders = await orderDb.query('SELECT id, account_id, amount, status, gid FROM orders');
  expect(orders).toHaveLength(ORDERS);
  const byId = new Map(orders.map((o) => [String(o.id), o]));
  answers.forEach((answer, i) => {
    const order = byId.get(String(answer.body.id));
    expect(order).toBeDefined();
    expect(order!.gid).toBe(answer.body.gid);
    expect(order!.account_id).toBe(placed[i].accountId);
    expect(Number(order!.amount)).toBe(placed[i].amount);
    expect(order!.status).toBe(answer.status === 201 ? 'PAID' : 'CANCELLED');
    expect(views[i].status).toBe(order!.status === 'PAID' ? 'COMMITTED' : 'ROLLED_BACK');
    for (const branch of views[i].branches) expect(branch.status).toBe(order!.status === 'PAID' ? 'CONFIRMED' : 'CANCELLED');
    run.checkTransaction?.(views[i]);
  });

  // Refunds: a third of the paid orders, concurrently, one of them asked twice at once.
  const paidOrders = orders.filter((o) => o.status === 'PAID');
  const toRefund = paidOrders.filter((_, i) => i % 3 === 0).map((o) => String(o.id));
  const twice = toRefund[0];
  const asked = [...toRefund, twice];
  const refundAnswers = await Promise.all(asked.map((id) => http.post(`${stack.order.url}/orders/${id}/refund`, {})));
  // 200 REFUNDED, or 202 UNKNOWN when the saga outlived the wait bound (its retries under the
  // faults); 409 only for the order asked twice, whose second refund finds it REFUNDED.
  for (const [i, answer] of refundAnswers.entries()) {
    if (answer.status === 409) expect({ id: asked[i], body: answer.body }).toMatchObject({ id: twice, body: { reason: 'ORDER_NOT_REFUNDABLE' } });
    else if (answer.status === 202) expect(answer.body).toMatchObject({ status: 'UNKNOWN' });
    else expect({ status: answer.status, body: answer.body }).toMatchObject({ status: 200, body: { status: 'REFUNDED' } });
  }
  const refundSagas = await eventually(async () => {
    const all = await Promise.all(refundAnswers.map((a) => http.get<TransactionView>(`${stack.coordinatorUrl}/v1/transactions/${String(a.body.gid)}`, bearer())));
    return all.every((v) => v.body.status === 'COMMITTED' || v.body.status === 'ROLLED_BACK') ? all.map((v) => v.body) : undefined;
  }, 'every refund saga to finish');
  // Every saga is one; the order asked twice was refunded by exactly one of its two.
  expect(refundSagas.every((s) => s.mode === 'saga')).toBe(true);
  expect(refundSagas.map((s, i) => [asked[i], s.status]).filter(([id]) => id !== twice).every(([, status]) => status === 'COMMITTED')).toBe(true);
  expect(refundSagas.filter((_, i) => asked[i] === twice).map((s) => s.status).sort()).toEqual(['COMMITTED', 'ROLLED_BACK']);
  const refundedIds = new Set(toRefund);
  const settled = await orderDb.query('SELECT id, account_id, amount, status FROM orders');
  for (const order of settled) {
    const was = byId.get(String(order.id))!.status;
    expect({ id: order.id, status: order.status }).toEqual({ id: order.id, status: refundedIds.has(String(order.id)) ? 'REFUNDED' : was });
  }
  const credits = await accountDb.query('SELECT order_id, amount, status FROM account_credits');
  expect(credits.map((c) => [String(c.order_id), String(c.status)]).sort()).toEqual([...refundedIds].map((id) => [id, 'CREDITED']).sort());

  // Loyalty points: delivered as reliable messages, each paid order's exactly once.
  const everPaid = settled.filter((o) => o.status === 'PAID' || o.status === 'REFUNDED');
  const awards = await eventually(async () => {
    const rows = await accountDb.query('SELECT order_id, account_id, points FROM points_awards');
    return rows.length >= everPaid.length ? rows : undefined;
  }, 'every paid order to get its points');
  expect(awards.map((a) => String(a.order_id)).sort()).toEqual(everPaid.map((o) => String(o.id)).sort());
  for (const award of awards) {
    const order = everPaid.find((o) => o.id === award.order_id)!;
    expect({ order: award.order_id, points: Number(award.points) }).toEqual({ order: award.order_id, points: Math.floor(Number(order.amount) / 100) });
  }

  // The books: opening balance minus PAID orders (refunded ones came back), to the cent, nothing
  // frozen, and the points of every order ever paid.
  const accounts = await accountDb.query('SELECT id, balance, frozen, points FROM accounts');
  for (const account of accounts) {
    const mine = settled.filter((o) => o.account_id === account.id);
    const paid = mine.filter((o) => o.status === 'PAID').reduce((sum, o) => sum + Number(o.amount), 0);
    const points = mine.filter((o) => o.status === 'PAID' || o.status === 'REFUNDED').reduce((sum, o) => sum + Math.floor(Number(o.amount) / 100), 0);
    expect({ id: account.id, balance: Number(account.balance), frozen: Number(account.frozen), points: Number(account.points) }).toEqual({
      id: account.id,
      balance: opening.get(String(account.id))! - paid,
      frozen: 0,
      points,
    });
  }
  const freezes = await accountDb.query('SELECT gid, status FROM account_freezes');
  const freezeByGid = new Map(freezes.map((f) => [String(f.gid), String(f.status)]));
  for (const order of orders) {
    const freeze = freezeByGid.get(String(order.gid));
    if (order.status === 'PAID') expect(freeze).toBe('CONFIRMED');
    else expect(freeze === undefined || freeze === 'RELEASED').toBe(true);
  }

  expect(violations).toBe(0);
  // No local transaction of either service was a deadlock victim.
  expect(localTransactionStats.deadlockRetries - deadlocksBefore).toBe(0);
  expect(samples).toBeGreaterThan(0);
  // The faults really happened, both kinds, and were retried to success.
  expect(proxy.stats.droppedBefore).toBeGreaterThan(0);
  expect(proxy.stats.droppedAfter).toBeGreaterThan(0);
  const retried = views.filter((v) => v.branches.some((b) => (run.faultyBranch === undefined || b.branchId === run.faultyBranch) && b.attempts > 1)).length;
  expect(retried).toBeGreaterThan(0);
  console.log(
    `${run.label}: ${paidCount} paid, ${ORDERS - paidCount} refused in ${placedMs} ms; ${toRefund.length} refunded, ${awards.length} points awards; ` +
      `faults: ${proxy.stats.droppedBefore} dropped before, ${proxy.stats.droppedAfter} lost after; ${retried} transactions retried`,
  );
}
