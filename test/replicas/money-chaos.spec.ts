/**
 * The money test under chaos, every process real and separate: two coordinator replicas (their
 * store on the test server of the engine the suite runs on) behind a TCP load balancer, the
 * account service and the order service as built processes (dist/apps/*\/main.js) whose databases
 * live on a private server of that engine. A load client places a few hundred orders and, while
 * they run, refunds a third of the paid ones (some asked twice, at once or one after the other)
 * and asks to refund a few cancelled ones; it behaves as a real client: an order whose answer it
 * cannot read (a connection cut after the request went out, a 500) is never placed again but
 * looked up later (by account and amount, each order's amount being its own: the order service
 * lists no orders, so the test reads its table), an order answered 202 UNKNOWN is looked up by
 * its id, one refused the connection (nothing sent) or answered not paid (CANCELLED,
 * `created: false`) is placed again, and a refund is simply asked again (a repeated refund is
 * refused). Meanwhile, each at a moment when work is in flight (phase-two leases held, amounts
 * frozen, orders pending, requests open), a replica, the account service, the order service, the
 * services' database server, the account service and the other replica together, and the order
 * service again are SIGKILLed (by pid) and started again: 7 kills.
 *
 * Once everything converged (every transaction, saga and message final, no order PENDING,
 * nothing frozen): every answer agrees with where its order ended; each account's balance is its
 * opening balance minus its PAID orders, to the cent, nothing frozen; every order ever paid (PAID
 * or REFUNDED) has exactly one points award of floor(amount/100) and one delivered points message,
 * each account's points are their sum, no CANCELLED order has any; each REFUNDED order has
 * exactly one committed refund saga and one CREDITED credit, no other order any.
 */
import { bearer, TEST_API_KEY } from '../support/api-keys';
import { ServiceProcess } from '../support/service.process';
import { createTestDatabase, testEngine, type TestDatabase } from '../support/test.database';
import { closeAll, eventually, randomSuffix, sleep } from '../support/wait';
import { Http } from '../client/support/http';
import { Balancer } from './support/balancer';
import { freePort } from './support/ports';
import { PrivateDatabase } from './support/private-database';
import { disposeAll, startReplicas, type Replica } from './support/replica';
import { heldLeases } from './support/store-view';

jest.setTimeout(300_000);

const ENGINE = testEngine();
const ENGINE_NAME = ENGINE === 'postgres' ? 'PostgreSQL' : 'MariaDB';
const ACCOUNT_DB = 'accounts';
const ORDER_DB = 'orders';
const ACCOUNTS = 10;
/** Clients placing orders at once, and refunding. */
const BUYERS = 8;
const REFUNDERS = 3;
/** Orders placed (purchases, each perhaps asked more than once) at least, chaos or not. */
const PURCHASES = Number(process.env.TCC_CHAOS_PURCHASES ?? 300);
/** A client's pause before asking again after a refusal of the connection or a failure. */
const BACKOFF_MS = 100;
/** How often a client asks again what says nothing was done (a connection refused, a 503 CANCELLED). */
const MAX_ATTEMPTS = 30;
/** The deadline of each order's transaction and refund saga: what settles a decision lost with a process. */
const TRANSACTION_TIMEOUT_MS = 4_000;

type OrderBody = { id?: string; gid?: string; status?: string; created?: unknown; reason?: string; message?: string };

interface Purchase {
  n: number;
  accountId: string;
  amount: number;
  /** More than the account's whole opening balance: must be refused. */
  big: boolean;
  attempts: Attempt[];
}

interface Attempt {
  at: number;
  /** The HTTP status; undefined when no answer came (see error). */
  status?: number;
  body: OrderBody;
  error?: string;
  /** The request went out and its answer says nothing of what happened: looked up later, never placed again. */
  lost: boolean;
}

type RefundKind = 'once' | 'twice at once' | 'twice in a row' | 'cancelled';

interface RefundAsk {
  orderId: string;
  kind: RefundKind;
  at: number;
  status?: number;
  body: OrderBody;
  error?: string;
}

/** The part of undici's errors that says whether the request went out at all. */
function errorCode(error: unknown): string {
  const e = error as { code?: string; cause?: { code?: string } };
  return String(e?.code ?? e?.cause?.code ?? (error as Error)?.message);
}

describe(`money under chaos: replicas, services and the services' ${ENGINE_NAME} SIGKILLed while orders and refunds run`, () => {
  let coordinatorDb: TestDatabase | undefined;
  let database: PrivateDatabase | undefined;
  let replicas: Replica[] = [];
  let balancer: Balancer | undefined;
  let account: ServiceProcess | undefined;
  let order: ServiceProcess | undefined;
  const http = new Http();

  beforeAll(async () => {
    coordinatorDb = await createTestDatabase();
    database = await PrivateDatabase.start(ENGINE);
    await database.createDatabase(ACCOUNT_DB);
    await database.createDatabase(ORDER_DB);
    replicas = await startReplicas(2, {
      TCC_DB_URL: coordinatorDb.url,
      TCC_LOG_LEVEL: 'warn',
      // Answers within 2 s (an order's commit, a refund saga), else the current status: 202 UNKNOWN.
      TCC_COMMIT_WAIT_MS: '2000',
      TCC_REQUEST_TIMEOUT_MS: '2000',
      TCC_RETRY_BASE_MS: '100',
      TCC_RETRY_MAX_MS: '1000',
      TCC_SCAN_INTERVAL_MS: '200',
      // A killed replica's leases expire soon, so the other takes its work over.
      TCC_LEASE_MS: '4000',
    });
    balancer = await Balancer.start(replicas.map((replica) => replica.port));
    // Fixed ports: a restarted service answers where the coordinator calls it back.
    const [accountPort, orderPort] = [await freePort(), await freePort()];
    account = new ServiceProcess('account-service', {
      ACCOUNT_DB_URL: database.url(ACCOUNT_DB),
      ACCOUNT_MIGRATE_ON_START: 'true',
      ACCOUNT_DB_POOL_SIZE: '10',
      ACCOUNT_HOST: '127.0.0.1',
      ACCOUNT_HTTP_PORT: String(accountPort),
      ACCOUNT_GRPC_PORT: '0',
      ACCOUNT_LOG_LEVEL: 'warn',
    });
    await account.start();
    order = new ServiceProcess('order-service', {
      ORDER_DB_URL: database.url(ORDER_DB),
      ORDER_MIGRATE_ON_START: 'true',
      ORDER_DB_POOL_SIZE: '10',
      ORDER_HOST: '127.0.0.1',
      ORDER_HTTP_PORT: String(orderPort),
      ORDER_LOG_LEVEL: 'warn',
      TCC_COORDINATOR_URL: balancer.url,
      TCC_API_KEY: TEST_API_KEY,
      ACCOUNT_SERVICE_URL: account.url,
      ORDER_TRANSACTION_TIMEOUT_MS: String(TRANSACTION_TIMEOUT_MS),
      ORDER_REQUEST_TIMEOUT_MS: '2000',
      ORDER_DECISION_TIMEOUT_MS: '4000',
      // A points message whose submit was lost with the process is asked about soon.
      ORDER_POINTS_MESSAGE_TIMEOUT_MS: '1000',
    });
    await order.start();
  });

  afterAll(async () => {
    await closeAll(
      () => order?.stop(),
      () => account?.stop(),
      () => balancer?.close(),
      () => disposeAll(replicas),
      () => database?.dispose(),
      () => coordinatorDb?.drop(),
      () => http.close(),
    );
  });

  it('answers nothing wrong and keeps the books, the points and the refunds exact', async () => {
    const coordinatorSql = coordinatorDb!.query;
    const accounts = (sql: string, params: unknown[] = []) => database!.query(sql, params, ACCOUNT_DB);
    const orders = (sql: string, params: unknown[] = []) => database!.query(sql, params, ORDER_DB);
    const orderUrl = order!.url;

    // The accounts, each with an opening balance far above what its orders take.
    const suffix = randomSuffix(6);
    const opening = new Map<string, number>();
    for (let i = 0; i < ACCOUNTS; i++) {
      const id = `chaos-${i}-${suffix}`;
      const balance = 500_000 + Math.floor(Math.random() * 100_000);
      expect((await http.post(`${account!.url}/accounts`, { id, balance })).status).toBe(201);
      opening.set(id, balance);
    }
    const accountIds = [...opening.keys()];

    const started = Date.now();
    const now = (): number => Date.now() - started;
    const purchases: Purchase[] = [];
    const refunds: RefundAsk[] = [];
    /** Orders the client knows it paid (201), to refund a third of; cancelled ones (409 with an id) to try refunding. */
    const toRefund: Array<{ orderId: string; kind: RefundKind }> = [];
    let attemptsDone = 0;
    let ordersInFlight = 0;
    let refundsInFlight = 0;
    let stop = false;
    /** Set when the chaos itself failed: the clients give up at once. */
    let aborted = false;
    let seq = 0;

    // One order, as a client places it: asked again only while the answer says nothing was paid.
    const purchase = async (p: Purchase): Promise<void> => {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS && !aborted; attempt++) {
        const at = now();
        let record: Attempt;
        ordersInFlight++;
        try {
          const answer = await http.post<OrderBody>(`${orderUrl}/orders`, { accountId: p.accountId, amount: p.amount });
          const body = answer.body && typeof answer.body === 'object' ? answer.body : {};
          // A 500 says nothing of what happened: as good as no answer.
          record = { at, status: answer.status, body, lost: answer.status === 500 };
        } catch (error) {
          // Refused: the request never went out, safe to ask again. Anything else: it went out.
          record = { at, body: {}, error: errorCode(error), lost: errorCode(error) !== 'ECONNREFUSED' };
        } finally {
          ordersInFlight--;
        }
        p.attempts.push(record);
        attemptsDone++;
        if (record.lost) return;
        const { status, body } = record;
        if (status === 201) {
          if (p.n % 3 === 0) toRefund.push({ orderId: String(body.id), kind: (['once', 'twice at once', 'once', 'twice in a row'] as const)[(p.n / 3) % 4] });
          return;
        }
        if (status === 202) return;
        if (status === 409 && body.reason === 'INSUFFICIENT_FUNDS') {
          if (body.id && p.n % 3 === 1) toRefund.push({ orderId: body.id, kind: 'cancelled' });
          return;
        }
        // Not paid (CANCELLED, or created:false), or the connection refused: place it again.
        const notPaid = status === undefined || body.status === 'CANCELLED' || body.created === false;
        if (!notPaid) return;
        await sleep(BACKOFF_MS);
      }
    };

    const buyers = Promise.all(
      Array.from({ length: BUYERS }, async () => {
        while (!aborted && (!stop || seq < PURCHASES)) {
          const n = seq++;
          const accountId = accountIds[n % ACCOUNTS];
          // One order in ten asks for more than the whole balance: always refused. Amounts differ
          // from order to order, so an order whose answer was lost is found by account and amount.
          const big = n % 10 === 9;
          const amount = big ? opening.get(accountId)! + 1 + n : 100 + 100 * (n % 50) + n;
          const p: Purchase = { n, accountId, amount, big, attempts: [] };
          purchases.push(p);
          await purchase(p);
        }
      }),
    );

    // A refund, as a client asks it: again after no answer or a failure (a repeated refund is refused).
    const refund = async (orderId: string, kind: RefundKind): Promise<void> => {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS && !aborted; attempt++) {
        const ask: RefundAsk = { orderId, kind, at: now(), body: {} };
        refundsInFlight++;
        try {
          const answer = await http.post<OrderBody>(`${orderUrl}/orders/${orderId}/refund`, {});
          ask.status = answer.status;
          ask.body = answer.body && typeof answer.body === 'object' ? answer.body : {};
        } catch (error) {
          ask.error = errorCode(error);
        } finally {
          refundsInFlight--;
        }
        refunds.push(ask);
        if (ask.status === 200 || ask.status === 202 || ask.status === 404 || ask.status === 409) return;
        await sleep(BACKOFF_MS);
      }
    };
    let buyersDone = false;
    const refunders = Promise.all(
      Array.from({ length: REFUNDERS }, async () => {
        while (!aborted && (!buyersDone || toRefund.length > 0)) {
          const next = toRefund.shift();
          if (!next) {
            await sleep(20);
            continue;
          }
          if (next.kind === 'twice at once') await Promise.all([refund(next.orderId, next.kind), refund(next.orderId, next.kind)]);
          else if (next.kind === 'twice in a row') {
            await refund(next.orderId, next.kind);
            await refund(next.orderId, next.kind);
          } else await refund(next.orderId, next.kind);
        }
      }),
    );

    // The chaos: each kill at a moment when work is in flight, each restart once answers came meanwhile.
    const kills: string[] = [];
    /** Orders and refunds in flight at the client at each kill. */
    const inFlightAtKills: string[] = [];
    const afterMore = (count: number, what: string): Promise<true> => {
      const target = attemptsDone + count;
      return eventually(() => attemptsDone >= target, { timeoutMs: 60_000, intervalMs: 20, what });
    };
    /** Waits for `busy` (work in flight where the kill lands); past 10 s for orders in flight at least. */
    const whenBusy = async (what: string, busy: () => Promise<boolean> | boolean): Promise<string> => {
      const held = await eventually(async () => ordersInFlight >= 2 && (await busy()), { timeoutMs: 10_000, intervalMs: 10, what })
        .then(() => true)
        .catch(() => false);
      if (!held) await eventually(() => ordersInFlight >= 2, { timeoutMs: 30_000, intervalMs: 10, what: `orders in flight (${what})` });
      return held ? what : `orders in flight (${what} not seen)`;
    };
    const count = async (sql: string, query: (sql: string) => Promise<Array<Record<string, unknown>>>): Promise<number> => Number((await query(sql))[0].n);
    const frozenNow = () => count('SELECT COUNT(*) AS n FROM accounts WHERE frozen > 0', accounts);
    const pendingNow = () => count("SELECT COUNT(*) AS n FROM orders WHERE status = 'PENDING'", orders);

    const ready = async (url: string): Promise<boolean> => (await http.get(`${url}/health/ready`)).status === 200;
    /** Kills, and answers when (ms into the run) with how much was in flight. */
    const kill = async (how: () => Promise<unknown>): Promise<number> => {
      const at = now();
      inFlightAtKills.push(`${ordersInFlight}/${refundsInFlight}`);
      await how();
      return at;
    };
    const killReplica = async (replica: Replica): Promise<void> => {
      const moment = await whenBusy(`replica ${replica.name} holding phase-two leases`, async () => (await heldLeases(coordinatorSql, replica.ownerPattern)).length > 0);
      const killedAt = await kill(() => replica.kill('SIGKILL'));
      await afterMore(15, `orders answered while replica ${replica.name} is down`);
      await replica.start();
      kills.push(`replica ${replica.name} at ${killedAt} ms, down ${now() - killedAt} ms (${moment})`);
      await afterMore(20, `orders answered after replica ${replica.name} is back`);
    };

    try {
      await afterMore(40, 'the first orders');

      await killReplica(replicas[0]);

      // The account service, while tries are frozen and their confirms on the way.
      let moment = await whenBusy('amounts frozen (confirms due)', async () => (await frozenNow()) > 0);
      let killedAt = await kill(() => account!.kill('SIGKILL'));
      await afterMore(10, 'orders answered while the account service is down');
      await account!.start();
      kills.push(`account service at ${killedAt} ms, down ${now() - killedAt} ms (${moment})`);
      await afterMore(20, 'orders answered after the account service is back');

      // The order service, with orders and refunds in flight: their answers are lost.
      moment = await whenBusy('orders and refunds in flight', () => ordersInFlight >= 4 && refundsInFlight >= 1);
      killedAt = await kill(() => order!.kill('SIGKILL'));
      await order!.start();
      kills.push(`order service at ${killedAt} ms, down ${now() - killedAt} ms (${moment})`);
      await afterMore(20, 'orders answered after the order service is back');

      // The services' database server, with orders pending and amounts frozen.
      moment = await whenBusy('orders pending and amounts frozen', async () => (await pendingNow()) > 0 && (await frozenNow()) > 0);
      killedAt = await kill(() => database!.stop('SIGKILL'));
      // Down until both services noticed (their readiness fails) and orders were answered meanwhile.
      await eventually(async () => !(await ready(account!.url)) && !(await ready(orderUrl)), { timeoutMs: 30_000, intervalMs: 50, what: `both services unready without their ${ENGINE}` });
      await afterMore(10, `orders answered while the ${ENGINE} server is down`);
      await database!.startAgain();
      kills.push(`${ENGINE} server at ${killedAt} ms, down ${now() - killedAt} ms (${moment})`);
      await afterMore(25, `orders answered after the ${ENGINE} server is back`);

      // The account service again, and while phase two retries its confirms, the other replica
      // (holding their leases, and commits waiting on them): the first replica takes the leases
      // over once they expire, and the commits are asked of it again.
      moment = await whenBusy('amounts frozen (confirms due)', async () => (await frozenNow()) > 0);
      killedAt = await kill(() => account!.kill('SIGKILL'));
      const replicaMoment = await whenBusy(`replica ${replicas[1].name} holding phase-two leases, the account service down`, async () => (await heldLeases(coordinatorSql, replicas[1].ownerPattern)).length > 0);
      const replicaKilledAt = await kill(() => replicas[1].kill('SIGKILL'));
      await afterMore(10, 'orders answered while the account service and a replica are down');
      await account!.start();
      kills.push(`account service at ${killedAt} ms, down ${now() - killedAt} ms (${moment})`);
      await afterMore(10, `orders answered while replica ${replicas[1].name} is down`);
      await replicas[1].start();
      kills.push(`replica ${replicas[1].name} at ${replicaKilledAt} ms, down ${now() - replicaKilledAt} ms (${replicaMoment})`);
      await afterMore(20, `orders answered after replica ${replicas[1].name} is back`);

      // The order service again, in the middle of refunds.
      moment = await whenBusy('refunds in flight', () => refundsInFlight >= 2);
      killedAt = await kill(() => order!.kill('SIGKILL'));
      await order!.start();
      kills.push(`order service at ${killedAt} ms, down ${now() - killedAt} ms (${moment})`);
      await afterMore(20, 'orders answered after the order service is back again');
    } catch (error) {
      aborted = true;
      throw error;
    } finally {
      stop = true;
      await buyers;
      buyersDone = true;
      await refunders;
    }
    const loadMs = now();

    // Convergence: every transaction, saga and message final, no order pending, nothing frozen.
    await eventually(
      async () => {
        const open = await count("SELECT COUNT(*) AS n FROM tcc_transactions WHERE status NOT IN ('COMMITTED', 'ROLLED_BACK')", coordinatorSql);
        return open === 0 && (await pendingNow()) === 0 && (await count('SELECT COALESCE(SUM(frozen), 0) AS n FROM accounts', accounts)) === 0;
      },
      { timeoutMs: 90_000, intervalMs: 250, what: 'every transaction, saga and message final, no order PENDING, nothing frozen' },
    );
    const convergedMs = now();

    // The client's look-ups: each order answered UNKNOWN, each refund answered UNKNOWN, by id.
    const lookedUp = new Map<string, string>();
    const lookUp = async (id: string): Promise<void> => {
      if (lookedUp.has(id)) return;
      const got = await eventually(
        async () => {
          const answer = await http.get<{ status?: string }>(`${orderUrl}/orders/${id}`);
          return answer.status === 200 || answer.status === 404 ? answer : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: `GET /orders/${id}` },
      );
      lookedUp.set(id, got.status === 404 ? 'NONE' : String(got.body.status));
    };
    for (const p of purchases) for (const a of p.attempts) if (a.status === 202 && a.body.id) await lookUp(a.body.id);
    for (const r of refunds) if (r.status === 202) await lookUp(r.orderId);

    // What everything ended as.
    const orderRows = (await orders('SELECT id, account_id, amount, status, gid FROM orders')).map((r) => ({
      id: String(r.id),
      accountId: String(r.account_id),
      amount: Number(r.amount),
      status: String(r.status),
      gid: String(r.gid),
    }));
    const orderById = new Map(orderRows.map((o) => [o.id, o]));
    const transactions = (await coordinatorSql('SELECT gid, status, mode, metadata FROM tcc_transactions')).map((r) => ({
      gid: String(r.gid),
      status: String(r.status),
      mode: String(r.mode),
      orderId: r.metadata ? (JSON.parse(String(r.metadata)) as { orderId?: string }).orderId : undefined,
    }));
    const transactionStatus = new Map(transactions.map((t) => [t.gid, t.status]));
    const committedPer = (mode: string): Map<string, number> => {
      const out = new Map<string, number>();
      for (const t of transactions) if (t.mode === mode && t.status === 'COMMITTED' && t.orderId) out.set(t.orderId, (out.get(t.orderId) ?? 0) + 1);
      return out;
    };
    const refundSagas = committedPer('saga');
    const pointsMessages = committedPer('message');
    const everPaid = (status: string): boolean => status === 'PAID' || status === 'REFUNDED';

    const wrong: string[] = [];
    const said = (a: { status?: number; body: OrderBody; error?: string }): string => (a.error ? `no answer (${a.error})` : `${a.status} ${JSON.stringify(a.body)}`);

    // Every order answer against where its order ended.
    const named = new Set<string>();
    for (const p of purchases) {
      for (const a of p.attempts) {
        const id = a.body.id;
        if (id) named.add(id);
        const row = id ? orderById.get(id) : undefined;
        const tx = a.body.gid ? transactionStatus.get(a.body.gid) : undefined;
        const what = `order ${p.n} (${p.amount} from ${p.accountId}) answered ${said(a)}`;
        if (a.lost) continue;
        if (a.status === 201) {
          if (!row || !everPaid(row.status)) wrong.push(`${what}: the order is ${row?.status ?? 'absent'}`);
          if (tx !== 'COMMITTED') wrong.push(`${what}: its transaction is ${tx ?? 'absent'}`);
          if (p.big) wrong.push(`${what}: more than the balance, paid`);
        } else if (a.status === 202) {
          if (a.body.status !== 'UNKNOWN' || !id || !a.body.gid) wrong.push(`${what}: an UNKNOWN without id and gid`);
          if (!row || lookedUp.get(id!) !== row.status) wrong.push(`${what}: looked up ${lookedUp.get(id!)}, the database says ${row?.status ?? 'absent'}`);
          if (row && everPaid(row.status) !== (transactionStatus.get(row.gid) === 'COMMITTED')) wrong.push(`${what}: ended ${row.status}, transaction ${transactionStatus.get(row.gid)}`);
        } else if (a.status === 409 || a.status === 502 || a.status === 503) {
          // Known not to be paid: the order named is (or ends) CANCELLED, or was never written.
          if (a.body.status !== undefined && a.body.status !== 'CANCELLED') wrong.push(`${what}: a failure that is not CANCELLED`);
          if (row && row.status !== 'CANCELLED') wrong.push(`${what}: the order is ${row.status}`);
          if (tx === 'COMMITTED') wrong.push(`${what}: its transaction COMMITTED`);
          if (id && !row && a.body.created !== 'UNKNOWN') wrong.push(`${what}: names an order that was never written`);
          if (a.body.created === false && id) wrong.push(`${what}: created:false naming an order`);
        } else if (a.status !== undefined) {
          wrong.push(`${what}: not an answer of POST /orders`);
        }
      }
    }
    // Orders no answer named: each from a request whose answer was lost, at most one per such request.
    const lostOf = new Map(purchases.map((p) => [`${p.accountId}/${p.amount}`, p.attempts.filter((a) => a.lost).length]));
    const unnamed = new Map<string, typeof orderRows>();
    for (const row of orderRows.filter((o) => !named.has(o.id))) {
      const key = `${row.accountId}/${row.amount}`;
      unnamed.set(key, [...(unnamed.get(key) ?? []), row]);
    }
    for (const [key, rows] of unnamed) {
      if (rows.length > (lostOf.get(key) ?? 0)) wrong.push(`${rows.length} unnamed orders of ${key}, for ${lostOf.get(key) ?? 0} requests whose answer was lost: ${rows.map((r) => r.status).join(', ')}`);
    }
    // Every order settled as its transaction: paid exactly when it committed.
    for (const row of orderRows) {
      const tx = transactionStatus.get(row.gid);
      if (!['PAID', 'REFUNDED', 'CANCELLED'].includes(row.status)) wrong.push(`order ${row.id} ended ${row.status}`);
      if (everPaid(row.status) !== (tx === 'COMMITTED')) wrong.push(`order ${row.id} is ${row.status}, its transaction ${tx ?? 'absent'}`);
    }

    // Every refund answer against where its order and its saga ended.
    for (const r of refunds) {
      const row = orderById.get(r.orderId);
      const saga = r.body.gid ? transactionStatus.get(r.body.gid) : undefined;
      const what = `refund (${r.kind}) of ${r.orderId} answered ${said(r)}`;
      if (r.status === 200) {
        if (r.body.status !== 'REFUNDED' || row?.status !== 'REFUNDED') wrong.push(`${what}: the order is ${row?.status ?? 'absent'}`);
        if (saga !== 'COMMITTED') wrong.push(`${what}: its saga is ${saga ?? 'absent'}`);
      } else if (r.status === 409) {
        if (r.body.reason !== 'ORDER_NOT_REFUNDABLE') wrong.push(`${what}: not ORDER_NOT_REFUNDABLE`);
        if (saga !== 'ROLLED_BACK') wrong.push(`${what}: its saga is ${saga ?? 'absent'}`);
      } else if (r.status === 202) {
        if (r.body.status !== 'UNKNOWN' || !r.body.gid) wrong.push(`${what}: an UNKNOWN without gid`);
        if (lookedUp.get(r.orderId) !== row?.status) wrong.push(`${what}: looked up ${lookedUp.get(r.orderId)}, the database says ${row?.status}`);
        if (saga === 'COMMITTED' && row?.status !== 'REFUNDED') wrong.push(`${what}: its saga COMMITTED, the order is ${row?.status}`);
      } else if (r.status !== undefined && r.status !== 500) {
        wrong.push(`${what}: not an answer of a refund`);
      }
      if (r.kind === 'cancelled' && row?.status !== 'CANCELLED') wrong.push(`${what}: a cancelled order ended ${row?.status}`);
    }

    // Refunds, credits, points: exactly once each, where they belong.
    const credits = (await accounts('SELECT order_id, amount, status FROM account_credits')).map((c) => ({ orderId: String(c.order_id), amount: Number(c.amount), status: String(c.status) }));
    const awards = (await accounts('SELECT order_id, account_id, points FROM points_awards')).map((a) => ({ orderId: String(a.order_id), accountId: String(a.account_id), points: Number(a.points) }));
    const awardsOf = new Map<string, typeof awards>();
    for (const a of awards) awardsOf.set(a.orderId, [...(awardsOf.get(a.orderId) ?? []), a]);
    for (const row of orderRows) {
      const credited = credits.filter((c) => c.orderId === row.id && c.status === 'CREDITED');
      const sagas = refundSagas.get(row.id) ?? 0;
      if (row.status === 'REFUNDED') {
        if (sagas !== 1) wrong.push(`order ${row.id} REFUNDED by ${sagas} committed refund sagas`);
        if (credited.length !== 1 || credited[0].amount !== row.amount) wrong.push(`order ${row.id} REFUNDED with credits ${JSON.stringify(credited)}`);
      } else {
        if (sagas !== 0) wrong.push(`order ${row.id} ${row.status} with ${sagas} committed refund sagas`);
        if (credited.length !== 0) wrong.push(`order ${row.id} ${row.status} with credits ${JSON.stringify(credited)}`);
      }
      const mine = awardsOf.get(row.id) ?? [];
      const messages = pointsMessages.get(row.id) ?? 0;
      if (everPaid(row.status)) {
        if (mine.length !== 1 || mine[0].points !== Math.floor(row.amount / 100) || mine[0].accountId !== row.accountId) wrong.push(`order ${row.id} ${row.status} (${row.amount}) awarded ${JSON.stringify(mine)}`);
        if (messages !== 1) wrong.push(`order ${row.id} ${row.status} with ${messages} delivered points messages`);
      } else {
        if (mine.length !== 0) wrong.push(`order ${row.id} ${row.status} awarded ${JSON.stringify(mine)}`);
        if (messages !== 0) wrong.push(`order ${row.id} ${row.status} with ${messages} delivered points messages`);
      }
    }
    for (const a of awards) if (!orderById.has(a.orderId)) wrong.push(`points awarded to no order: ${JSON.stringify(a)}`);
    for (const c of credits) if (!orderById.has(c.orderId)) wrong.push(`a credit of no order: ${JSON.stringify(c)}`);

    // Freezes: confirmed for every order ever paid, released (or never made) for the others.
    const freezes = new Map((await accounts('SELECT gid, status FROM account_freezes')).map((f) => [String(f.gid), String(f.status)]));
    for (const row of orderRows) {
      const freeze = freezes.get(row.gid);
      if (everPaid(row.status) ? freeze !== 'CONFIRMED' : freeze !== undefined && freeze !== 'RELEASED') wrong.push(`order ${row.id} ${row.status} with freeze ${freeze ?? 'none'}`);
    }

    const tally = (values: string[]): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const v of values) out[v] = (out[v] ?? 0) + 1;
      return out;
    };
    const attempts = purchases.flatMap((p) => p.attempts);
    const byStatus = tally(orderRows.map((o) => o.status));
    console.log(
      `money chaos (${ENGINE}): ${orderRows.length} orders (${purchases.length} purchases, ${attempts.length} requests), ` +
        `${(byStatus.PAID ?? 0) + (byStatus.REFUNDED ?? 0)} paid, ${byStatus.REFUNDED ?? 0} refunded, ${byStatus.CANCELLED ?? 0} cancelled; ` +
        `${refunds.length} refund requests; ${kills.length} kills (orders/refunds in flight ${inFlightAtKills.join(', ')}): ${kills.join('; ')}; ` +
        `order answers ${JSON.stringify(tally(attempts.map((a) => a.error ?? `${a.status}${a.body.reason ? ` ${a.body.reason}` : ''}`)))}, ` +
        `refund answers ${JSON.stringify(tally(refunds.map((r) => r.error ?? `${r.status}${r.body.reason ? ` ${r.body.reason} ${r.body.status}` : ''}`)))}; ` +
        `${wrong.length} wrong; load ${loadMs} ms, converged ${convergedMs - loadMs} ms later`,
    );

    expect(wrong.slice(0, 20)).toEqual([]);
    expect(kills).toHaveLength(7);
    // The run meant something: orders paid, refused and refunded; refunds refused.
    expect(byStatus.PAID ?? 0).toBeGreaterThan(0);
    expect(byStatus.REFUNDED ?? 0).toBeGreaterThan(0);
    expect(byStatus.CANCELLED ?? 0).toBeGreaterThan(0);
    expect(refunds.some((r) => r.status === 409)).toBe(true);
    expect(transactions.filter((t) => t.status !== 'COMMITTED' && t.status !== 'ROLLED_BACK')).toEqual([]);

    // The books, to the cent: opening minus PAID orders (refunded ones came back), nothing
    // frozen, and the points of every order ever paid.
    const books = await accounts('SELECT id, balance, frozen, points FROM accounts');
    expect(books.map((b) => String(b.id)).sort()).toEqual([...accountIds].sort());
    for (const b of books) {
      const mine = orderRows.filter((o) => o.accountId === b.id);
      const paid = mine.filter((o) => o.status === 'PAID').reduce((sum, o) => sum + o.amount, 0);
      const points = mine.filter((o) => everPaid(o.status)).reduce((sum, o) => sum + Math.floor(o.amount / 100), 0);
      expect({ id: b.id, balance: Number(b.balance), frozen: Number(b.frozen), points: Number(b.points) }).toEqual({
        id: b.id,
        balance: opening.get(String(b.id))! - paid,
        frozen: 0,
        points,
      });
      // And as the account service answers it.
      const answered = await http.get<{ balance: number; frozen: number; points: number }>(`${account!.url}/accounts/${String(b.id)}`);
      expect(answered.body).toMatchObject({ balance: opening.get(String(b.id))! - paid, frozen: 0, points });
    }
    // Every refund the client was told happened is one the coordinator agrees happened.
    for (const r of refunds.filter((r) => r.status === 200)) {
      expect((await http.get<{ status?: string }>(`${replicas[0].url}/v1/transactions/${String(r.body.gid)}`, bearer())).body.status).toBe('COMMITTED');
    }
  });
});
