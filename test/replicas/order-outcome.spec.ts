/**
 * The order service never guesses a commit's outcome. The coordinator runs as a process on a
 * private server of the engine the suites run on (TCC_TEST_DB: MariaDB or PostgreSQL), and the
 * order service keeps its orders on the same server (one outage takes both); a proxy between the
 * order service and the coordinator SIGKILLs that server (by pid) at the moment of a commit:
 *
 * - after the coordinator recorded the commit, its answer then lost: the order ends PAID;
 * - before the commit reached the coordinator: the deadline rolls it back, the order ends CANCELLED;
 * - and an order placed while the server is down, whose own database cannot say what it wrote.
 *
 * Every answer is checked against where the order ended once the server is back: UNKNOWN answers
 * carry the gid and the order id, CANCELLED and `created: false` are never said of a PAID order,
 * and the order's own GET, the coordinator and the account's balance agree.
 *
 * On the embedded store (run once, in the mariadb project) there is no server to kill: the
 * coordinator process itself is SIGKILLed at the same two moments and started again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import type { RunningAccountService } from '../../apps/account-service/src/bootstrap';
import type { RunningOrderService } from '../../apps/order-service/src/bootstrap';
import { startCuttingProxy, type CuttingProxy } from '../client/support/cutting-proxy';
import { Http, type Answer } from '../client/support/http';
import { startAccountService, startOrderService } from '../client/support/services';
import { bearer, TEST_API_KEY } from '../support/api-keys';
import { testEngine } from '../support/test.database';
import { closeAll, eventually, randomSuffix } from '../support/wait';
import { PrivateDatabase } from './support/private-database';
import { disposeAll, startReplicas, type Replica } from './support/replica';

const ENGINE = testEngine();
const ENGINE_NAME = ENGINE === 'postgres' ? 'PostgreSQL' : 'MariaDB';
const COORDINATOR_DB = 'tcc';
const ORDER_DB = 'orders';
const BALANCE = 10_000;
/** The deadline of each order's transaction: what rolls back a commit that never arrived. */
const TRANSACTION_TIMEOUT_MS = 4_000;

type OrderAnswer = Answer<{ id?: string; gid?: string; status?: string; created?: unknown; reason?: string }>;

describe(`the order service when ${ENGINE_NAME} dies at the moment of a commit`, () => {
  let database: PrivateDatabase | undefined;
  let replicas: Replica[] = [];
  let proxy: CuttingProxy | undefined;
  let account: RunningAccountService | undefined;
  let order: RunningOrderService | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'tcc-order-outcome-'));
  const http = new Http();

  beforeAll(async () => {
    database = await PrivateDatabase.start(ENGINE);
    await database.createDatabase(COORDINATOR_DB);
    await database.createDatabase(ORDER_DB);
    replicas = await startReplicas(1, {
      TCC_DB_URL: database.url(COORDINATOR_DB),
      TCC_LOG_LEVEL: 'warn',
      // Answer a commit once it is recorded: phase two is still to come when the server dies.
      TCC_COMMIT_WAIT_MS: '0',
      TCC_REQUEST_TIMEOUT_MS: '2000',
      TCC_RETRY_BASE_MS: '100',
      TCC_RETRY_MAX_MS: '500',
      TCC_SCAN_INTERVAL_MS: '200',
      TCC_LEASE_MS: '4000',
    });
    proxy = await startCuttingProxy(replicas[0].url);
    account = await startAccountService({ ACCOUNT_SQLITE_PATH: join(dir, 'account.sqlite') });
    order = await startOrderService({
      ORDER_DB_URL: database.url(ORDER_DB),
      ORDER_MIGRATE_ON_START: 'true',
      ORDER_DB_POOL_SIZE: '4',
      TCC_COORDINATOR_URL: proxy.url,
      TCC_API_KEY: TEST_API_KEY,
      ACCOUNT_SERVICE_URL: account.url,
      ORDER_TRANSACTION_TIMEOUT_MS: String(TRANSACTION_TIMEOUT_MS),
      ORDER_REQUEST_TIMEOUT_MS: '2000',
      ORDER_DECISION_TIMEOUT_MS: '2000',
    });
  });

  afterAll(async () => {
    await closeAll(
      () => order?.close(),
      () => account?.close(),
      () => proxy?.close(),
      () => disposeAll(replicas),
      () => database?.dispose(),
      () => http.close(),
      () => rmSync(dir, { recursive: true, force: true }),
    );
  });

  const place = (accountId: string, amount: number): Promise<OrderAnswer> => http.post(`${order!.url}/orders`, { accountId, amount });
  const isCommit = (method: string, path: string): boolean => method === 'POST' && path.endsWith('/commit');
  /** SIGKILLs the private server by its pid, once. */
  const crash = async (): Promise<void> => {
    if (database!.running) await database!.stop('SIGKILL');
  };
  const restart = async (): Promise<void> => {
    await database!.startAgain();
    await eventually(
      async () => {
        const res = await request(`${replicas[0].url}/health/ready`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
        await res.body.dump();
        return res.statusCode === 200;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'the coordinator ready again' },
    );
  };
  /** The order once phase two (or the deadline) settled it, read through the order service. */
  const settled = (id: string): Promise<string> =>
    eventually(
      async () => {
        const answer = await http.get<{ status?: string }>(`${order!.url}/orders/${id}`);
        return answer.status === 200 && answer.body.status !== 'PENDING' ? String(answer.body.status) : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 200, what: `order ${id} to settle` },
    );
  const coordinatorStatus = async (gid: string): Promise<string> =>
    String((await http.get<{ status?: string }>(`${replicas[0].url}/v1/transactions/${gid}`, bearer())).body.status);

  it('answers UNKNOWN (with gid and order id) for what it cannot know, and never CANCELLED or created:false for an order that ends PAID', async () => {
    const accountId = `buyer-${randomSuffix(6)}`;
    expect((await http.post(`${account!.url}/accounts`, { id: accountId, balance: BALANCE })).status).toBe(201);
    const answers: Array<{ what: string; answer: OrderAnswer }> = [];

    // A normal order first: everything up.
    const normal = await place(accountId, 100);
    expect(normal.status).toBe(201);
    expect(normal.body).toMatchObject({ status: 'PAID' });
    answers.push({ what: 'normal', answer: normal });

    // 1. The commit is recorded, then the server dies and the answer is lost with it; the
    //    retried commits and the settling rollback meet a coordinator without its database.
    proxy!.rule = (method, path) => (isCommit(method, path) && database!.running ? 'after' : 'pass');
    proxy!.onAnswerLost = crash;
    const recorded = await place(accountId, 1_000);
    proxy!.rule = () => 'pass';
    proxy!.onAnswerLost = undefined;
    answers.push({ what: 'commit recorded, then the server died', answer: recorded });
    expect(database!.running).toBe(false);
    expect(recorded.status).toBe(202);
    expect(recorded.body).toEqual({ id: expect.any(String), gid: expect.any(String), status: 'UNKNOWN', reason: 'OUTCOME_UNKNOWN', message: expect.any(String) });

    // 2. An order placed while the server is down: its begin gets no answer (nothing to pay), and
    //    its own database cannot say whether it wrote the order.
    const whileDown = await place(accountId, 1_000);
    answers.push({ what: 'placed while the server was down', answer: whileDown });
    expect(whileDown.status).toBe(503);
    expect(whileDown.body).toMatchObject({ id: expect.any(String), status: 'CANCELLED', created: 'UNKNOWN', reason: 'COORDINATOR_UNAVAILABLE' });

    await restart();
    expect(await settled(recorded.body.id!)).toBe('PAID');

    // 3. The server dies just before the commit reaches the coordinator: never recorded, so the
    //    deadline rolls it back once the server is back; the order service cannot know which.
    proxy!.beforeForward = async (call) => {
      if (isCommit(call.method, call.path)) await crash();
    };
    const neverArrived = await place(accountId, 2_000);
    proxy!.beforeForward = undefined;
    answers.push({ what: 'server died before the commit arrived', answer: neverArrived });
    expect(neverArrived.status).toBe(202);
    expect(neverArrived.body).toMatchObject({ id: expect.any(String), gid: expect.any(String), status: 'UNKNOWN' });

    await restart();
    expect(await settled(neverArrived.body.id!)).toBe('CANCELLED');

    // Where every order ended, through the order service and the coordinator.
    const ended = new Map<string, string>();
    for (const { answer } of answers) {
      const id = answer.body.id;
      if (!id) continue;
      const got = await http.get<{ status?: string; gid?: string }>(`${order!.url}/orders/${id}`);
      ended.set(id, got.status === 404 ? 'NONE' : String(got.body.status));
      if (got.status === 200 && answer.body.gid) expect(got.body.gid).toBe(answer.body.gid);
    }
    console.log(
      `order outcome (${ENGINE}): ${JSON.stringify(answers.map(({ what, answer }) => ({ what, status: answer.status, said: answer.body.status ?? `created:${String(answer.body.created)}`, ended: ended.get(answer.body.id ?? '') })))}`,
    );
    expect(ended.get(recorded.body.id!)).toBe('PAID');
    expect(await coordinatorStatus(recorded.body.gid!)).toBe('COMMITTED');
    expect(ended.get(neverArrived.body.id!)).toBe('CANCELLED');
    expect(await coordinatorStatus(neverArrived.body.gid!)).toBe('ROLLED_BACK');
    // The order placed while down was never written: its CANCELLED is true of its money.
    expect(ended.get(whileDown.body.id!)).toBe('NONE');

    // No answer guessed: CANCELLED or created:false only of orders that did not end PAID, and
    // every UNKNOWN names the order and its transaction.
    const guesses = answers.filter(({ answer }) => {
      const said = answer.body.status === 'CANCELLED' || answer.body.created === false;
      return said && answer.body.id !== undefined && ended.get(answer.body.id) === 'PAID';
    });
    expect(guesses).toEqual([]);
    // `created: false` names no order, so it holds only if no order exists beyond the ones named.
    const rows = await database!.query<{ id: string }>('SELECT id FROM orders', [], ORDER_DB);
    expect(rows.map((row) => row.id).sort()).toEqual([...ended].filter(([, status]) => status !== 'NONE').map(([id]) => id).sort());
    for (const { answer } of answers.filter(({ answer }) => answer.body.status === 'UNKNOWN')) {
      expect(answer.body.id).toEqual(expect.any(String));
      expect(answer.body.gid).toEqual(expect.any(String));
    }

    // The books: only the normal and the recorded orders were paid; nothing left frozen.
    await eventually(
      async () => {
        const books = await http.get<{ balance: number; frozen: number }>(`${account!.url}/accounts/${accountId}`);
        return books.body.balance === BALANCE - 100 - 1_000 && books.body.frozen === 0 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the account to show the paid orders only' },
    );
  });
});

/** The coordinator on its embedded SQLite file: the process killed instead of a server. */
(ENGINE === 'mariadb' ? describe : describe.skip)('the order service when the coordinator on SQLite is SIGKILLed at the moment of a commit', () => {
  let replicas: Replica[] = [];
  let proxy: CuttingProxy | undefined;
  let account: RunningAccountService | undefined;
  let order: RunningOrderService | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'tcc-order-outcome-sqlite-'));
  const http = new Http();

  beforeAll(async () => {
    replicas = await startReplicas(1, {
      TCC_SQLITE_PATH: join(dir, 'coordinator.sqlite'),
      TCC_LOG_LEVEL: 'warn',
      TCC_COMMIT_WAIT_MS: '0',
      // The killed process held a lease on the transaction it was confirming: short, so the next takes over soon.
      TCC_REQUEST_TIMEOUT_MS: '2000',
      TCC_LEASE_MS: '4000',
      TCC_RETRY_BASE_MS: '100',
      TCC_RETRY_MAX_MS: '500',
      TCC_SCAN_INTERVAL_MS: '200',
    });
    proxy = await startCuttingProxy(replicas[0].url);
    account = await startAccountService({ ACCOUNT_SQLITE_PATH: join(dir, 'account.sqlite') });
    order = await startOrderService({
      ORDER_SQLITE_PATH: join(dir, 'order.sqlite'),
      TCC_COORDINATOR_URL: proxy.url,
      TCC_API_KEY: TEST_API_KEY,
      ACCOUNT_SERVICE_URL: account.url,
      ORDER_TRANSACTION_TIMEOUT_MS: String(TRANSACTION_TIMEOUT_MS),
      ORDER_REQUEST_TIMEOUT_MS: '2000',
      ORDER_DECISION_TIMEOUT_MS: '2000',
    });
  });

  afterAll(async () => {
    await closeAll(
      () => order?.close(),
      () => account?.close(),
      () => proxy?.close(),
      () => disposeAll(replicas),
      () => http.close(),
      () => rmSync(dir, { recursive: true, force: true }),
    );
  });

  const place = (accountId: string, amount: number): Promise<OrderAnswer> => http.post(`${order!.url}/orders`, { accountId, amount });
  const isCommit = (method: string, path: string): boolean => method === 'POST' && path.endsWith('/commit');
  const kill = async (): Promise<void> => {
    if (replicas[0].running) await replicas[0].kill('SIGKILL');
  };
  const settled = (id: string): Promise<string> =>
    eventually(
      async () => {
        const answer = await http.get<{ status?: string }>(`${order!.url}/orders/${id}`);
        return answer.status === 200 && answer.body.status !== 'PENDING' ? String(answer.body.status) : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 200, what: `order ${id} to settle` },
    );

  it('answers UNKNOWN for both, created:false only for the order it knows it never wrote, and the orders end as the books say', async () => {
    const accountId = `buyer-${randomSuffix(6)}`;
    expect((await http.post(`${account!.url}/accounts`, { id: accountId, balance: BALANCE })).status).toBe(201);

    proxy!.rule = (method, path) => (isCommit(method, path) && replicas[0].running ? 'after' : 'pass');
    proxy!.onAnswerLost = kill;
    const recorded = await place(accountId, 1_000);
    proxy!.rule = () => 'pass';
    proxy!.onAnswerLost = undefined;
    expect(recorded.status).toBe(202);
    expect(recorded.body).toMatchObject({ id: expect.any(String), gid: expect.any(String), status: 'UNKNOWN' });

    // Placed while the coordinator is down: its begin is unanswered, and the order's own
    // database (up) says nothing was written.
    const whileDown = await place(accountId, 1_000);
    expect(whileDown.status).toBe(503);
    expect(whileDown.body).toMatchObject({ created: false, reason: 'COORDINATOR_UNAVAILABLE' });
    expect(whileDown.body).not.toHaveProperty('id');

    await replicas[0].start();
    expect(await settled(recorded.body.id!)).toBe('PAID');

    proxy!.beforeForward = async (call) => {
      if (isCommit(call.method, call.path)) await kill();
    };
    const neverArrived = await place(accountId, 2_000);
    proxy!.beforeForward = undefined;
    expect(neverArrived.status).toBe(202);
    expect(neverArrived.body).toMatchObject({ id: expect.any(String), gid: expect.any(String), status: 'UNKNOWN' });

    await replicas[0].start();
    expect(await settled(neverArrived.body.id!)).toBe('CANCELLED');

    const view = async (gid: string): Promise<string> =>
      String((await http.get<{ status?: string }>(`${replicas[0].url}/v1/transactions/${gid}`, bearer())).body.status);
    expect(await view(recorded.body.gid!)).toBe('COMMITTED');
    expect(await view(neverArrived.body.gid!)).toBe('ROLLED_BACK');
    await eventually(
      async () => {
        const books = await http.get<{ balance: number; frozen: number }>(`${account!.url}/accounts/${accountId}`);
        return books.body.balance === BALANCE - 1_000 && books.body.frozen === 0 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the account to show the recorded order paid, nothing frozen' },
    );
  });
});
