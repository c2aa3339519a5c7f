/**
 * Real money under faults, over gRPC: the money test of the client issue (test/client/money.spec.ts)
 * with the account branch called over gRPC (try by the order service, confirm and cancel by the
 * coordinator) and the order service talking to the coordinator over gRPC. 200 concurrent orders
 * over 10 accounts on MariaDB, random amounts (some beyond the balance), while a gRPC proxy in front
 * of the account service fails 10% of confirms and cancels on their first attempt, before or after
 * forwarding. Every gRPC hop runs over TLS with client certificates (certificates made by the test)
 * and every participant call is signed. After convergence the books must balance to the cent.
 */
import type { RowDataPacket } from 'mysql2';
import { participantGrpcService, type TransactionView } from '@tcc/client';
import { localTransactionStats } from '@tcc/client/testing';
import { randomId } from '../client/support/databases';
import { Answer, Http } from '../client/support/http';
import { startStack, type Stack } from '../client/support/stack';
import { startFaultyGrpcProxy, type FaultyGrpcProxy } from './support/faulty-grpc.proxy';
import { coordinatorTlsEnv, makePki, type Pki } from '../support/pki';
import { rmSync } from 'node:fs';
import { bearer } from '../support/api-keys';

const ACCOUNTS = 10;
const ORDERS = 200;

async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe(`money over gRPC: ${ORDERS} concurrent orders over ${ACCOUNTS} accounts with failing gRPC confirms and cancels (MariaDB)`, () => {
  let stack: Stack;
  let proxy: FaultyGrpcProxy | undefined;
  const http = new Http();

  let pki: Pki;

  beforeAll(async () => {
    // TLS with client certificates on every gRPC hop, and every participant call signed.
    pki = makePki();
    const key = { TCC_SIGNING_KEYS: 'grpc-money-key-0123456789' };
    stack = await startStack({
      store: 'mariadb',
      coordinatorEnv: {
        ...key,
        ...coordinatorTlsEnv(pki),
      },
      accountEnv: {
        ...key,
        ACCOUNT_GRPC_TLS_CERT: pki.path('server.crt'),
        ACCOUNT_GRPC_TLS_KEY: pki.path('server.key'),
        ACCOUNT_GRPC_TLS_CLIENT_CA: pki.path('ca.crt'),
      },
      orderEnv: {
        ...key,
        ACCOUNT_BRANCH_PROTOCOL: 'grpc',
        TCC_COORDINATOR_TRANSPORT: 'grpc',
        TCC_TLS_CA: pki.path('ca.crt'),
        TCC_TLS_CERT: pki.path('client.crt'),
        TCC_TLS_KEY: pki.path('client.key'),
      },
      accountGrpcAddressFor: async (account) => {
        proxy = await startFaultyGrpcProxy(account.grpcAddress, participantGrpcService('account-freeze'), 0.1, {
          server: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.ca },
          upstream: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
        });
        return proxy.address;
      },
    });
  });

  afterAll(async () => {
    await stack?.close();
    await proxy?.close();
    await http.close();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it('converges with every balance equal to its opening balance minus its PAID orders and nothing frozen', async () => {
    const accountDb = stack.databases.account!;
    const orderDb = stack.databases.order!;
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
        const [row] = await accountDb.query<RowDataPacket>('SELECT COUNT(*) AS bad FROM accounts WHERE frozen < 0 OR frozen > balance');
        violations += Number(row.bad);
        samples++;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

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
      expect(views[i].branches.find((b) => b.branchId === 'account-freeze')?.protocol).toBe('grpc');
    });

    const accounts = await accountDb.query('SELECT id, balance, frozen FROM accounts');
    for (const account of accounts) {
      const paid = orders
        .filter((o) => o.account_id === account.id && o.status === 'PAID')
        .reduce((sum, o) => sum + Number(o.amount), 0);
      expect({ id: account.id, balance: Number(account.balance), frozen: Number(account.frozen) }).toEqual({
        id: account.id,
        balance: opening.get(String(account.id))! - paid,
        frozen: 0,
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
    expect(samples).toBeGreaterThan(0);
    expect(localTransactionStats.deadlockRetries - deadlocksBefore).toBe(0);
    // The faults really happened, both kinds, on the gRPC branch, and were retried to success.
    expect(proxy!.stats.droppedBefore).toBeGreaterThan(0);
    expect(proxy!.stats.droppedAfter).toBeGreaterThan(0);
    const retried = views.filter((v) => v.branches.some((b) => b.branchId === 'account-freeze' && b.attempts > 1)).length;
    expect(retried).toBeGreaterThan(0);
    console.log(
      `money over gRPC: ${paidCount} paid, ${ORDERS - paidCount} refused in ${placedMs} ms; ` +
        `faults: ${proxy!.stats.droppedBefore} dropped before, ${proxy!.stats.droppedAfter} lost after; ${retried} transactions retried`,
    );
  });
});
