/**
 * The order flow on a private three-node Galera cluster behind one load balancer (a TCP proxy that
 * sends everything to one writer node, README "Galera"), with nodes SIGKILLed mid-run: 8 buyers
 * place orders through two order services and two coordinator replicas; node 3 (not the writer) is
 * killed and rejoins by IST, then the writer, node 1, is killed, the proxy moves to node 2 once it
 * is Synced, and node 1 rejoins. Afterwards every answer is checked against where its order ended,
 * and the books are read on every node directly: exact, and the same on all three.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningAccountService } from '../../apps/account-service/src/bootstrap';
import type { RunningOrderService } from '../../apps/order-service/src/bootstrap';
import { Http } from '../client/support/http';
import { startAccountService, startOrderService } from '../client/support/services';
import { disposeAll, startReplicas, type Replica } from '../replicas/support/replica';
import { TcpProxy } from '../replicas/support/tcp-proxy';
import { TEST_API_KEY } from '../support/api-keys';
import { closeAll, eventually, randomSuffix, sleep } from '../support/wait';
import { GaleraCluster, type GaleraNode } from './support/galera-cluster';

jest.setTimeout(600_000);

const DATABASES = { coordinator: 'tcc', account: 'accounts', order: 'orders' } as const;
const BUYERS = 8;
const ACCOUNTS = 4;
const BALANCE = 1_000_000;
/** Answers before the first kill, and after each node is back, before the next step. */
const ANSWERS_PER_STEP = Number(process.env.TCC_GALERA_ORDERS_PER_STEP ?? 150);
/** A client's pause after an error answer, so a buyer does not spin while the writer is gone. */
const BACKOFF_MS = 100;

type OrderBody = { id?: string; gid?: string; status?: string; created?: unknown; reason?: string; message?: string };

interface Placed {
  at: number;
  via: number;
  accountId: string;
  amount: number;
  /** More than the account's whole balance: must be refused. */
  big: boolean;
  status: number;
  body: OrderBody;
}

/** Figures read on one node: the same on every node once the cluster is Synced. */
interface NodeBooks {
  accounts: Array<{ id: string; balance: number; frozen: number }>;
  orders: Record<string, { count: number; sum: number }>;
  paidPerAccount: Record<string, number>;
  transactions: Record<string, number>;
  branches: Record<string, number>;
  freezes: Record<string, number>;
  /** Order status against its transaction's status, `PAID/COMMITTED` and so on. */
  orderVsTransaction: Record<string, number>;
  messages: Record<string, number>;
  pointsAwards: number;
}

async function readBooks(node: GaleraNode): Promise<NodeBooks> {
  const { coordinator: tcc, account, order } = DATABASES;
  const accounts = await node.query(`SELECT id, balance, frozen FROM ${account}.accounts ORDER BY id`);
  const orders = await node.query(`SELECT status, COUNT(*) AS n, COALESCE(SUM(amount), 0) AS s FROM ${order}.orders GROUP BY status ORDER BY status`);
  const paid = await node.query(`SELECT account_id, SUM(amount) AS s FROM ${order}.orders WHERE status = 'PAID' GROUP BY account_id ORDER BY account_id`);
  const count = async (sql: string): Promise<Record<string, number>> =>
    Object.fromEntries((await node.query(sql)).map((r) => [String(r.k), Number(r.n)]));
  return {
    accounts: accounts.map((r) => ({ id: String(r.id), balance: Number(r.balance), frozen: Number(r.frozen) })),
    orders: Object.fromEntries(orders.map((r) => [String(r.status), { count: Number(r.n), sum: Number(r.s) }])),
    paidPerAccount: Object.fromEntries(paid.map((r) => [String(r.account_id), Number(r.s)])),
    // The orders' own TCC transactions; each paid order's loyalty-points message is a transaction of
    // mode 'message' of its own, counted apart.
    transactions: await count(`SELECT status AS k, COUNT(*) AS n FROM ${tcc}.tcc_transactions WHERE mode = 'tcc' GROUP BY status ORDER BY status`),
    messages: await count(`SELECT status AS k, COUNT(*) AS n FROM ${tcc}.tcc_transactions WHERE mode = 'message' GROUP BY status ORDER BY status`),
    pointsAwards: Number((await node.query(`SELECT COUNT(*) AS n FROM ${account}.points_awards`))[0].n),
    branches: await count(`SELECT status AS k, COUNT(*) AS n FROM ${tcc}.tcc_branches GROUP BY status ORDER BY status`),
    freezes: await count(`SELECT status AS k, COUNT(*) AS n FROM ${account}.account_freezes GROUP BY status ORDER BY status`),
    orderVsTransaction: await count(
      `SELECT CONCAT(o.status, '/', COALESCE(t.status, 'NONE')) AS k, COUNT(*) AS n
         FROM ${order}.orders o LEFT JOIN ${tcc}.tcc_transactions t ON t.gid = o.gid GROUP BY k ORDER BY k`,
    ),
  };
}

describe('the order flow on a three-node Galera cluster with one writer behind a load balancer', () => {
  let cluster: GaleraCluster | undefined;
  let proxy: TcpProxy | undefined;
  let replicas: Replica[] = [];
  let account: RunningAccountService | undefined;
  const orderServices: RunningOrderService[] = [];
  const http = new Http();

  beforeAll(async () => {
    cluster = await GaleraCluster.start(3);
    const writer = cluster.node(1);
    for (const name of Object.values(DATABASES)) await writer.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    // The load balancer: every process reaches the cluster through it, and it sends all to node 1.
    proxy = await TcpProxy.start(writer.port);
    const url = (database: string): string => `mysql://root@127.0.0.1:${proxy!.port}/${database}`;
    replicas = await startReplicas(2, {
      TCC_DB_URL: url(DATABASES.coordinator),
      TCC_LOG_LEVEL: 'warn',
      TCC_SCAN_INTERVAL_MS: '250',
      TCC_RETRY_BASE_MS: '100',
      TCC_RETRY_MAX_MS: '1000',
      TCC_REQUEST_TIMEOUT_MS: '3000',
      TCC_LEASE_MS: '6000',
    });
    account = await startAccountService({ ACCOUNT_DB_URL: url(DATABASES.account), ACCOUNT_MIGRATE_ON_START: 'true', ACCOUNT_DB_POOL_SIZE: '10' });
    // One order service per replica (two instances of one service); one after the other, so the
    // second finds the migrations applied.
    for (const replica of replicas) {
      orderServices.push(
        await startOrderService({
          ORDER_DB_URL: url(DATABASES.order),
          ORDER_MIGRATE_ON_START: 'true',
          ORDER_DB_POOL_SIZE: '10',
          TCC_COORDINATOR_URL: replica.url,
          TCC_API_KEY: TEST_API_KEY,
          ACCOUNT_SERVICE_URL: account.url,
          // A transaction whose decision never arrived is rolled back by its deadline soon.
          ORDER_TRANSACTION_TIMEOUT_MS: '8000',
          ORDER_REQUEST_TIMEOUT_MS: '5000',
          ORDER_DECISION_TIMEOUT_MS: '10000',
        }),
      );
    }
  });

  afterAll(async () => {
    // For a failure's post-mortem: each replica's and each node's own output.
    const dump = process.env.TCC_GALERA_DUMP_DIR;
    if (dump) {
      for (const r of replicas) writeFileSync(join(dump, `replica-${r.name}.log`), r.process.logs);
      for (const n of cluster?.nodes ?? []) writeFileSync(join(dump, `node-${n.index}.log`), n.logs);
    }
    await closeAll(
      ...orderServices.map((o) => () => o.close()),
      () => account?.close(),
      () => disposeAll(replicas),
      () => proxy?.close(),
      () => http.close(),
      () => cluster?.dispose(),
    );
  });

  it('answers nothing wrong and keeps the books exact on every node while node 3, then the writer node 1, is SIGKILLed and rejoins', async () => {
    const c = cluster!;
    const [n1, n2, n3] = [c.node(1), c.node(2), c.node(3)];
    const suffix = randomSuffix(6);
    const accountIds = Array.from({ length: ACCOUNTS }, (_, i) => `buyer-${i}-${suffix}`);
    for (const id of accountIds) expect((await http.post(`${account!.url}/accounts`, { id, balance: BALANCE })).status).toBe(201);

    const placed: Placed[] = [];
    const errors: string[] = [];
    const started = Date.now();
    const now = (): number => Date.now() - started;
    let stop = false;
    let seq = 0;
    const load = Promise.all(
      Array.from({ length: BUYERS }, async (_, buyer) => {
        while (!stop) {
          const n = seq++;
          const accountId = accountIds[n % ACCOUNTS];
          // One order in ten asks for more than the whole balance: always refused.
          const big = n % 10 === 9;
          const amount = big ? BALANCE + 1 : 1 + (n % 97);
          const via = n % orderServices.length;
          try {
            const answer = await http.post<OrderBody>(`${orderServices[via].url}/orders`, { accountId, amount });
            placed.push({ at: now(), via, accountId, amount, big, status: answer.status, body: answer.body ?? {} });
            if (answer.status >= 500) await sleep(BACKOFF_MS);
          } catch (error) {
            errors.push(`buyer ${buyer}: ${(error as Error).message}`);
            await sleep(BACKOFF_MS);
          }
        }
      }),
    );

    const marks: Record<string, number> = {};
    const mark = (name: string): void => void (marks[name] = now());
    const answersSoFar = (): number => placed.length;
    const afterMore = (count: number, what: string): Promise<true> => {
      const target = answersSoFar() + count;
      return eventually(() => answersSoFar() >= target, { timeoutMs: 120_000, intervalMs: 50, what });
    };
    const rejoin: Record<string, { ms: number; ist: boolean; position: string }> = {};
    try {
      await afterMore(ANSWERS_PER_STEP, 'the first orders');

      // 1. Node 3 (not the writer) SIGKILLed and brought back: the writer keeps serving.
      mark('kill3');
      await n3.stop('SIGKILL');
      const position3 = await n3.recoverAndStart(3);
      mark('node3Synced');
      rejoin.node3 = { ms: marks.node3Synced - marks.kill3, ist: /IST received|Receiving IST/.test(n3.logs), position: position3 };
      await afterMore(ANSWERS_PER_STEP, 'orders after node 3 rejoined');

      // 2. The writer SIGKILLed: the load balancer moves to node 2 once it is Synced without node 1.
      mark('kill1');
      await n1.stop('SIGKILL');
      await n2.waitSynced(2, 60_000);
      proxy!.retarget(n2.port);
      mark('movedTo2');
      const position1 = await n1.recoverAndStart(3);
      mark('node1Synced');
      rejoin.node1 = { ms: marks.node1Synced - marks.kill1, ist: /IST received|Receiving IST/.test(n1.logs), position: position1 };
      await afterMore(ANSWERS_PER_STEP, 'orders after node 1 rejoined');
    } finally {
      stop = true;
      await load;
    }
    mark('end');

    // Every transaction finishes (phase two, or the deadline's rollback), read on the writer.
    await eventually(
      async () => {
        const [open] = await n2.query(`SELECT COUNT(*) AS n FROM ${DATABASES.coordinator}.tcc_transactions WHERE status NOT IN ('COMMITTED', 'ROLLED_BACK')`);
        const [pending] = await n2.query(`SELECT COUNT(*) AS n FROM ${DATABASES.order}.orders WHERE status = 'PENDING'`);
        const [frozen] = await n2.query(`SELECT COALESCE(SUM(frozen), 0) AS n FROM ${DATABASES.account}.accounts`);
        return Number(open.n) === 0 && Number(pending.n) === 0 && Number(frozen.n) === 0;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'every transaction finished, no order PENDING, nothing frozen' },
    );
    await c.waitSynced();
    // The same books on every node (a node may apply the last writes a moment later).
    let books: NodeBooks[] = [];
    await eventually(
      async () => {
        books = await Promise.all(c.nodes.map((node) => readBooks(node)));
        return books.every((b) => JSON.stringify(b) === JSON.stringify(books[0]));
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the same books on all three nodes' },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${books.map((b, i) => `node ${i + 1}: ${JSON.stringify(b)}`).join('\n')}`);
    });

    // Where each answered order ended, on node 1 (the old writer, rejoined: it holds the same rows).
    const rows = await n1.query(`SELECT id, gid, status, account_id, amount FROM ${DATABASES.order}.orders`);
    const orderById = new Map(rows.map((r) => [String(r.id), { gid: String(r.gid), status: String(r.status), accountId: String(r.account_id), amount: Number(r.amount) }]));
    const orderByGid = new Map([...orderById.values()].map((o) => [o.gid, o]));
    const transactionStatus = new Map(
      (await n1.query(`SELECT gid, status FROM ${DATABASES.coordinator}.tcc_transactions`)).map((r) => [String(r.gid), String(r.status)]),
    );

    const wrong: string[] = [];
    const said = (p: Placed): string => `${p.status} ${JSON.stringify(p.body)} (order of ${p.amount} via ${p.via} at ${p.at} ms)`;
    const unknownEnded = new Map<string, number>();
    for (const p of placed) {
      const id = p.body.id;
      const row = id ? orderById.get(id) : p.body.gid ? orderByGid.get(p.body.gid) : undefined;
      const txStatus = p.body.gid ? transactionStatus.get(p.body.gid) : undefined;
      if (p.status === 201) {
        if (row?.status !== 'PAID') wrong.push(`${said(p)}: order is ${row?.status ?? 'absent'}`);
        if (txStatus !== 'COMMITTED') wrong.push(`${said(p)}: transaction is ${txStatus ?? 'absent'}`);
        if (p.big) wrong.push(`${said(p)}: more than the balance, paid`);
      } else if (p.status === 202) {
        if (p.body.status !== 'UNKNOWN' || !id || !p.body.gid) wrong.push(`${said(p)}: an UNKNOWN without id and gid`);
        const got = await http.get<{ status?: string }>(`${orderServices[p.via].url}/orders/${id}`);
        const ended = String(got.body?.status);
        unknownEnded.set(ended, (unknownEnded.get(ended) ?? 0) + 1);
        if (got.status !== 200 || (ended !== 'PAID' && ended !== 'CANCELLED') || ended !== row?.status) {
          wrong.push(`${said(p)}: GET answers ${got.status} ${ended}, the database says ${row?.status ?? 'absent'}`);
        }
        if ((ended === 'PAID') !== (txStatus === 'COMMITTED')) wrong.push(`${said(p)}: ended ${ended}, transaction ${txStatus ?? 'absent'}`);
      } else if (p.status === 409 || p.status === 502 || p.status === 503) {
        // Known not to commit: the order named is (or ends) CANCELLED, or was never written.
        if (p.body.status !== undefined && p.body.status !== 'CANCELLED') wrong.push(`${said(p)}: a failure that is not CANCELLED`);
        if (p.body.created === false && row) wrong.push(`${said(p)}: created:false, but the order exists (${row.status})`);
        if (row && row.status !== 'CANCELLED') wrong.push(`${said(p)}: order is ${row.status}`);
        if (txStatus === 'COMMITTED') wrong.push(`${said(p)}: transaction COMMITTED`);
        if (id && !row && p.body.created !== 'UNKNOWN') wrong.push(`${said(p)}: CANCELLED (written) of an order never written`);
      } else {
        wrong.push(`${said(p)}: not an answer of POST /orders`);
      }
    }
    // No order paid that was answered anything but 201 or 202 (ids of refused orders are named,
    // or the order service's database said none was written).
    const answeredPaidOrUnknown = new Set(placed.filter((p) => p.status === 201 || p.status === 202).map((p) => p.body.id));
    const paidUnanswered = [...orderById].filter(([id, o]) => o.status === 'PAID' && !answeredPaidOrUnknown.has(id)).map(([id]) => id);

    const count = (values: Array<string | number>): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const v of values) out[String(v)] = (out[String(v)] ?? 0) + 1;
      return out;
    };
    const rate = (from: number, to: number, status?: number): number => {
      const n = placed.filter((p) => p.at >= from && p.at < to && (status === undefined || p.status === status)).length;
      return Math.round((n / Math.max(1, to - from)) * 10_000) / 10;
    };
    const windows: Array<[string, number, number]> = [
      ['beforeKill3', 0, marks.kill3],
      ['node3Down', marks.kill3, marks.node3Synced],
      ['beforeKill1', marks.node3Synced, marks.kill1],
      ['writerDown', marks.kill1, marks.movedTo2],
      ['node1Rejoining', marks.movedTo2, marks.node1Synced],
      ['afterRejoin', marks.node1Synced, marks.end],
    ];
    const figures = {
      buyers: BUYERS,
      orders: placed.length,
      seconds: Math.round(marks.end / 100) / 10,
      answers: count(placed.map((p) => p.status)),
      reasons: count(placed.filter((p) => p.status !== 201).map((p) => `${p.status} ${p.body.status ?? ''} ${p.body.reason ?? ''}${p.body.created !== undefined ? ` created:${String(p.body.created)}` : ''}`)),
      unknownEnded: Object.fromEntries(unknownEnded),
      ordersByStatus: books[0].orders,
      transactions: books[0].transactions,
      branches: books[0].branches,
      freezes: books[0].freezes,
      orderVsTransaction: books[0].orderVsTransaction,
      rejoin,
      marksMs: marks,
      answersPerSecond: Object.fromEntries(windows.map(([name, from, to]) => [name, { all: rate(from, to), paid: rate(from, to, 201), ms: to - from }])),
      wrong: wrong.length,
      paidUnanswered: paidUnanswered.length,
      clientErrors: errors.length,
    };
    console.log(`galera order flow: ${JSON.stringify(figures)}`);

    expect(errors.slice(0, 5)).toEqual([]);
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(paidUnanswered).toEqual([]);
    expect(placed.filter((p) => p.status >= 500 && p.status !== 502 && p.status !== 503).map(said)).toEqual([]);
    // The run meant something: orders paid and refused in every phase.
    expect(figures.answers['201']).toBeGreaterThan(0);
    expect(figures.answers['409']).toBeGreaterThan(0);

    // The books, exact on every node (all three are equal, so node 1's are each node's).
    for (const [i, b] of books.entries()) {
      for (const a of b.accounts) {
        expect({ node: i + 1, ...a }).toEqual({ node: i + 1, id: a.id, balance: BALANCE - (b.paidPerAccount[a.id] ?? 0), frozen: 0 });
      }
      expect(b.accounts.map((a) => a.id).sort()).toEqual([...accountIds].sort());
      expect(Object.keys(b.transactions).filter((s) => s !== 'COMMITTED' && s !== 'ROLLED_BACK')).toEqual([]);
      expect(b.branches.REGISTERED ?? 0).toBe(0);
      expect(b.freezes.FROZEN ?? 0).toBe(0);
      expect(Object.keys(b.orders).filter((s) => s !== 'PAID' && s !== 'CANCELLED')).toEqual([]);
      // An order is PAID exactly when its transaction COMMITTED.
      expect(Object.keys(b.orderVsTransaction).filter((k) => k !== 'PAID/COMMITTED' && k !== 'CANCELLED/ROLLED_BACK')).toEqual([]);
      expect(b.transactions.COMMITTED ?? 0).toBe(b.orders.PAID?.count ?? 0);
      // Every paid order sent its points message, delivered once: one award per paid order.
      expect(b.messages).toEqual(b.orders.PAID ? { COMMITTED: b.orders.PAID.count } : {});
      expect(b.pointsAwards).toBe(b.orders.PAID?.count ?? 0);
    }
    // What the buyers were told matches the books: every 201 is among the PAID orders.
    expect(figures.answers['201'] ?? 0).toBeLessThanOrEqual(books[0].orders.PAID?.count ?? 0);
  });
});

