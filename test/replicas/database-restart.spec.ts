/**
 * The database restarted under running replicas: a private server of the engine the suites run
 * on (TCC_TEST_DB: MariaDB or PostgreSQL) is stopped cleanly (MariaDB SIGTERM, PostgreSQL's fast
 * shutdown; waited for) in the middle of a run and started again on the same port and data
 * directory. The replicas are not restarted: they report not ready while it is down, reconnect
 * by themselves, and finish every transaction as decided, each branch getting its confirm (or
 * cancel) and never both.
 */
import { request } from 'undici';
import { ParticipantServer } from '../support/participant.server';
import { eventually, randomSuffix, sleep, closeAll } from '../support/wait';
import { ResilientInitiator, type TransactionPlan } from './support/initiator';
import { checkLedger } from './support/ledger';
import { testEngine } from '../support/test.database';
import { PrivateDatabase } from './support/private-database';
import { disposeAll, startReplicas, type Replica } from './support/replica';
import { branches, transactions, waitForAllFinal, type Sql } from './support/store-view';

const COUNT = 200;
const DATABASE = 'tcc';
const DOWN_FOR_MS = 3_000;
const DELAYS_MS = [50, 100, 150, 200];
const ENGINE = testEngine();
const ENGINE_NAME = ENGINE === 'postgres' ? 'PostgreSQL' : 'MariaDB';
/** Short engine tag for gids and the log line: mdb / pg. */
const TAG = ENGINE === 'postgres' ? 'pg' : 'mdb';

async function readyStatus(replica: Replica): Promise<number> {
  try {
    const res = await request(`${replica.url}/health/ready`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
    await res.body.dump();
    return res.statusCode;
  } catch {
    return 0;
  }
}

describe(`${ENGINE_NAME} stopped and started again under running replicas`, () => {
  let database: PrivateDatabase | undefined;
  let participant: ParticipantServer | undefined;
  let replicas: Replica[] = [];

  beforeAll(async () => {
    database = await PrivateDatabase.start(ENGINE);
    await database.createDatabase(DATABASE);
    participant = await ParticipantServer.start();
    for (const ms of DELAYS_MS) {
      participant.behave(`/d${ms}/confirm`, { kind: 'ok', delayMs: ms });
      participant.behave(`/d${ms}/cancel`, { kind: 'ok', delayMs: ms });
    }
    replicas = await startReplicas(2, {
      TCC_DB_URL: database.url(DATABASE),
      TCC_REDIS_URL: 'redis://127.0.0.1:6379',
      TCC_REDIS_PREFIX: `tcc-test-${ENGINE}-restart-${randomSuffix(8)}:`,
      TCC_LEASE_MS: '2000',
      TCC_REQUEST_TIMEOUT_MS: '800',
      TCC_RETRY_BASE_MS: '200',
      TCC_RETRY_MAX_MS: '1000',
      TCC_SCAN_INTERVAL_MS: '250',
      TCC_LEADER_LEASE_MS: '1500',
    });
  });

  afterAll(async () => {
    await closeAll(
      () => disposeAll(replicas),
      () => participant?.close(),
      () => database?.dispose(),
    );
  });

  it('the replicas reconnect by themselves and finish everything', async () => {
    const sql: Sql = (statement, params) => database!.query(statement, params, DATABASE);
    const pidsBefore = replicas.map((r) => r.pid);
    const run = randomSuffix(6);
    const plans: TransactionPlan[] = Array.from({ length: COUNT }, (_, i) => ({
      gid: `${TAG}-${run}-${i}`,
      timeoutMs: 120_000,
      decision: i % 4 === 3 ? 'rollback' : 'commit',
      replica: i % replicas.length,
      branches: [
        { branchId: 'a', ...participant!.branch(`d${DELAYS_MS[i % 4]}`) },
        { branchId: 'b', ...participant!.branch(`d${DELAYS_MS[(i + 2) % 4]}`) },
      ],
    }));
    let done = 0;
    const initiator = new ResilientInitiator({ apis: () => replicas.map((r) => r.api), callDeadlineMs: 90_000, requestTimeoutMs: 20_000 });
    const running = initiator.runAll(plans, 10, 15, (n) => (done = n));
    let runError: unknown;
    running.catch((error) => (runError = error));

    await eventually(
      () => {
        if (runError) throw runError;
        return done >= 60;
      },
      { timeoutMs: 60_000, intervalMs: 20, what: '60 transactions submitted' },
    );
    const inPhaseTwo = Number((await sql("SELECT COUNT(*) AS n FROM tcc_transactions WHERE status IN ('COMMITTING', 'ROLLING_BACK')"))[0].n);
    const stoppedAtDone = done;
    const stopFrom = Date.now();
    const stopped = await database!.stop('SIGTERM');
    const stopMs = Date.now() - stopFrom;
    expect(stopped.code).toBe(0);

    // While it is down the replicas stay up but say they are not ready.
    await sleep(DOWN_FOR_MS / 2);
    const readyWhileDown = await Promise.all(replicas.map(readyStatus));
    await sleep(DOWN_FOR_MS / 2);

    const startFrom = Date.now();
    await database!.startAgain();
    const startMs = Date.now() - startFrom;
    const backAt = Date.now();
    await eventually(async () => (await Promise.all(replicas.map(readyStatus))).every((s) => s === 200), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'every replica ready again',
    });
    const readyAgainMs = Date.now() - backAt;

    const outcomes = await running;
    const convergedMs = await waitForAllFinal(sql, COUNT, 60_000);

    console.log(
      `${ENGINE} restart: ${JSON.stringify({ engine: ENGINE, transactions: COUNT, stoppedAtDone, inPhaseTwoAtStop: inPhaseTwo, stopMs, downForMs: DOWN_FOR_MS, startMs, readyWhileDown, readyAgainMs, convergedAfterSubmitMs: convergedMs, failovers: initiator.failovers })}`,
    );

    // No replica was restarted: same processes throughout.
    expect(replicas.map((r) => r.running)).toEqual([true, true]);
    expect(replicas.map((r) => r.pid)).toEqual(pidsBefore);
    expect(readyWhileDown.every((s) => s === 503)).toBe(true);

    expect(initiator.problems).toEqual([]);
    expect(outcomes.filter((o) => o.problem)).toEqual([]);
    const expectedStatus = (p: TransactionPlan): string => (p.decision === 'commit' ? 'COMMITTED' : 'ROLLED_BACK');
    const rows = new Map((await transactions(sql)).map((r) => [r.gid, r]));
    expect(plans.filter((p) => rows.get(p.gid)?.status !== expectedStatus(p)).map((p) => `${p.gid}: ${rows.get(p.gid)?.status}`)).toEqual([]);
    expect([...rows.values()].filter((r) => r.owner !== null || r.nextAttemptAt !== null).map((r) => r.gid)).toEqual([]);
    const wantBranch = new Map(plans.map((p) => [p.gid, p.decision === 'commit' ? 'CONFIRMED' : 'CANCELLED']));
    const branchRows = await branches(sql);
    expect(branchRows).toHaveLength(COUNT * 2);
    expect(branchRows.filter((b) => b.status !== wantBranch.get(b.gid)).map((b) => `${b.gid}/${b.branchId}: ${b.status}`)).toEqual([]);
    const ledger = checkLedger(plans, participant!.calls, (p) => (p.decision === 'commit' ? 'confirm' : 'cancel'));
    expect(ledger.problems).toEqual([]);

    // And they keep working afterwards, each on its own.
    for (const replica of replicas) {
      const gid = `${TAG}-${run}-after-${replica.name}`;
      expect((await replica.api.begin({ gid })).status).toBe(201);
      expect((await replica.api.register(gid, { branchId: 'a', protocol: 'http', ...participant!.branch('d50') })).status).toBe(201);
      expect((await replica.api.commit(gid, { wait: true })).body.status).toBe('COMMITTED');
    }
  });
});
