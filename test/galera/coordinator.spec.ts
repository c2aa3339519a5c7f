/**
 * Coordinator replicas on a private three-node Galera cluster, each writing to its own node, as
 * issue 19's operator ran them: a branch registered through one node while the transaction is
 * committed through another must never be left REGISTERED under a finished transaction (the two
 * writes conflict on the transaction row under certification); a node that is not ready (cut off
 * from the cluster, then SIGKILLed and rejoining by IST) makes its replica answer 503 and report
 * itself unready, never 500, and ready again once the node is Synced.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { CoordinatorApi } from '../support/coordinator.api';
import { CoordinatorProcess, runCoordinatorToExit } from '../support/coordinator.process';
import { ParticipantServer } from '../support/participant.server';
import { closeAll, eventually, randomSuffix, sleep } from '../support/wait';
import { GaleraCluster, type GaleraNode } from './support/galera-cluster';

jest.setTimeout(900_000);

const DATABASE = 'tcc';
/** Races of one registration (replica A, node 1) against one commit (replica B, node 2). */
const RACES = Number(process.env.TCC_GALERA_RACES ?? 300);
const RACE_CONCURRENCY = 8;

/** Settings of every replica here: no Redis, each scans; short leases so a stuck one moves on. */
const REPLICA_ENV = {
  TCC_HOST: '127.0.0.1',
  TCC_GRPC_PORT: '0',
  TCC_MIGRATE_ON_START: 'false',
  TCC_LOG_LEVEL: 'info',
  TCC_SCAN_INTERVAL_MS: '250',
  TCC_RETRY_BASE_MS: '100',
  TCC_RETRY_MAX_MS: '1000',
  TCC_REQUEST_TIMEOUT_MS: '2000',
  TCC_LEASE_MS: '5000',
};

interface Replica {
  name: string;
  node: GaleraNode;
  process: CoordinatorProcess;
  api: CoordinatorApi;
}

async function startReplica(name: string, node: GaleraNode): Promise<Replica> {
  const process = new CoordinatorProcess({ ...REPLICA_ENV, TCC_DB_URL: node.url(DATABASE) });
  await process.start(120_000);
  return { name, node, process, api: new CoordinatorApi(process.url) };
}

async function readiness(url: string): Promise<{ status: number; body: { details?: Record<string, { status: string; message?: string; state?: string }> } }> {
  const res = await request(`${url}/health/ready`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  return { status: res.statusCode, body: (await res.body.json()) as never };
}

describe('coordinator replicas on a three-node Galera cluster, one node each', () => {
  let cluster: GaleraCluster | undefined;
  let participant: ParticipantServer;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    cluster = await GaleraCluster.start(3);
    await cluster.node(1).query(`CREATE DATABASE ${DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    const migrated = await runCoordinatorToExit(['migrate'], { TCC_DB_URL: cluster.node(1).url(DATABASE) }, 120_000);
    if (migrated.code !== 0) throw new Error(`migrate failed (${migrated.code}):\n${migrated.stdout}\n${migrated.stderr}`);
    // DDL replicates in total order; each replica waits on its own node for the migrations anyway.
    for (const [i, name] of ['A', 'B', 'C'].entries()) replicas.push(await startReplica(name, cluster.node(i + 1)));
  });

  afterAll(async () => {
    // For a failure's post-mortem: each replica's own output.
    const dump = process.env.TCC_GALERA_DUMP_DIR;
    if (dump) for (const r of replicas) writeFileSync(join(dump, `replica-${r.name}.log`), r.process.logs);
    await closeAll(
      ...replicas.map((r) => () => r.process.stop()),
      ...replicas.map((r) => () => r.api.close()),
      () => participant?.close(),
      () => cluster?.dispose(),
    );
  });

  it(`never leaves a branch REGISTERED under a finished transaction when registration (node 1) races the commit (node 2), ${RACES} times`, async () => {
    const [a, b] = replicas;
    const suffix = randomSuffix(6);
    const answers = { begin: new Map<number, number>(), register: new Map<number, number>(), commit: new Map<number, number>() };
    const count = (map: Map<number, number>, status: number): void => void map.set(status, (map.get(status) ?? 0) + 1);
    const gids: string[] = [];
    const setUpFailures: string[] = [];
    /** The late registration's answer, per gid. */
    const lateAnswer = new Map<string, number>();
    const race = async (i: number): Promise<void> => {
      const gid = `galera-race-${i}-${suffix}`;
      const begun = await a.api.begin({ gid, timeoutMs: 120_000 });
      count(answers.begin, begun.status);
      if (begun.status !== 201 && begun.status !== 200) return void setUpFailures.push(`begin ${gid} answered ${begun.status} ${begun.text}`);
      const first = await a.api.register(gid, { branchId: 'b1', protocol: 'http', ...participant.branch('b1') });
      // Begin and this registration go through the same replica and node: its begin is there.
      if (first.status !== 201) return void setUpFailures.push(`register b1 of ${gid} (begin answered ${begun.status}) answered ${first.status} ${first.text}`);
      gids.push(gid);
      // The race: the late branch through replica A (node 1), the commit through replica B (node 2).
      const [late, commit] = await Promise.all([
        a.api.register(gid, { branchId: 'b2', protocol: 'http', ...participant.branch('b2') }),
        b.api.commit(gid),
      ]);
      count(answers.register, late.status);
      lateAnswer.set(gid, late.status);
      count(answers.commit, commit.status);
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: RACE_CONCURRENCY }, async () => {
        while (next < RACES) await race(next++);
      }),
    );

    // Every transaction finishes (phase two confirms what it saw); then look under the API.
    const node1 = cluster!.node(1);
    const placeholders = gids.map(() => '?').join(', ');
    await eventually(
      async () => {
        const open = await node1.query(`SELECT COUNT(*) AS n FROM tcc_transactions WHERE gid IN (${placeholders}) AND status NOT IN ('COMMITTED', 'ROLLED_BACK')`, gids, DATABASE);
        return Number(open[0].n) === 0;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'every raced transaction to finish' },
    );
    const left = await node1.query(
      `SELECT t.gid, t.status, b.branch_id FROM tcc_transactions t JOIN tcc_branches b ON b.gid = t.gid
        WHERE t.gid IN (${placeholders}) AND t.status IN ('COMMITTED', 'ROLLED_BACK') AND b.status = 'REGISTERED'`,
      gids,
      DATABASE,
    );
    const late = await node1.query(`SELECT b.status, COUNT(*) AS n FROM tcc_branches b WHERE b.gid IN (${placeholders}) AND b.branch_id = 'b2' GROUP BY b.status`, gids, DATABASE);
    // The answers agree with the database: a late registration answered 201 or 200 has its
    // branch row, one refused (409) has none.
    const withLate = new Set((await node1.query(`SELECT gid FROM tcc_branches WHERE gid IN (${placeholders}) AND branch_id = 'b2'`, gids, DATABASE)).map((r) => String(r.gid)));
    const acknowledgedMissing = [...lateAnswer].filter(([gid, status]) => (status === 201 || status === 200) && !withLate.has(gid)).map(([gid]) => gid);
    const refusedPresent = [...lateAnswer].filter(([gid, status]) => status === 409 && withLate.has(gid)).map(([gid]) => gid);
    const figures = {
      races: RACES,
      finishedWithBranchLeftRegistered: left.length,
      // A fresh gid's begin answers 201; 200 (an identical begin already there) would mean a
      // retried batch found the row of an attempt reported as failed.
      beginAnswers: Object.fromEntries(answers.begin),
      lateRegisterAnswers: Object.fromEntries(answers.register),
      commitAnswers: Object.fromEntries(answers.commit),
      lateBranches: Object.fromEntries(late.map((r) => [String(r.status), Number(r.n)])),
      certificationRetries: {
        a: a.process.logs.split('\n').filter((l) => l.includes('transient database error')).length,
        b: b.process.logs.split('\n').filter((l) => l.includes('transient database error')).length,
      },
      examples: left.slice(0, 5).map((r) => `${String(r.gid)} ${String(r.status)} ${String(r.branch_id)}`),
      acknowledgedLateMissing: acknowledgedMissing.length,
      refusedLatePresent: refusedPresent.length,
      disagreementExamples: await Promise.all(
        [...acknowledgedMissing, ...refusedPresent].slice(0, 3).map(async (gid) => {
          const [row] = await node1.query('SELECT status, branch_count FROM tcc_transactions WHERE gid = ?', [gid], DATABASE);
          const branches = await node1.query('SELECT branch_id, status FROM tcc_branches WHERE gid = ?', [gid], DATABASE);
          return `${gid}: late ${lateAnswer.get(gid)}, ${String(row?.status)} branch_count ${String(row?.branch_count)}, branches ${branches.map((b) => `${String(b.branch_id)} ${String(b.status)}`).join(', ')}`;
        }),
      ),
      setUpFailures: setUpFailures.length,
      setUpFailureExamples: setUpFailures.slice(0, 3),
    };
    console.log(`galera cross-node register/commit race: ${JSON.stringify(figures)}`);
    // No answer is a server error: a certification conflict is retried, then answered as alone.
    expect([...answers.register.keys(), ...answers.commit.keys()].filter((s) => s >= 500)).toEqual([]);
    expect(figures.finishedWithBranchLeftRegistered).toBe(0);
    expect(setUpFailures.filter((failure) => / answered 5\d\d /.test(failure) && !/ answered 503 /.test(failure))).toEqual([]);
    // Printed, not asserted: answers the server acknowledged that the cluster did not keep
    // (acknowledgedLateMissing, setUpFailures) come from the server itself: with the decision
    // certified on another node, MariaDB 10.11 with galera-4 answers OK to a multi-statement
    // transaction it rolled back, 1-2 times in 600 (test/galera/server-acknowledgement.spec.ts
    // shows it without the coordinator). Hence README "Galera": one writer node until it is fixed.
  });

  it('answers 503 (never 500) and reports itself unready while its node is not ready, and 200 once it is Synced again', async () => {
    const c = replicas[2];
    const node = c.node;
    expect((await readiness(c.process.url)).status).toBe(200);
    const statuses = new Map<number, number>();
    const unready: string[] = [];
    let stop = false;
    // Begins keep arriving at replica C the whole time, as a client behind no load balancer would send them.
    const load = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!stop) {
          const res = await c.api.begin({ timeoutMs: 60_000 }).catch((error: Error) => ({ status: -1, text: error.message }));
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status >= 500 && res.status !== 503) throw new Error(`begin answered ${res.status}: ${res.text}`);
          await sleep(20);
        }
      }),
    );
    const watch = async (phase: string): Promise<void> => {
      const ready = await readiness(c.process.url);
      if (ready.status === 503) unready.push(`${phase}: ${ready.body.details?.galera?.message ?? ready.body.details?.database?.message ?? JSON.stringify(ready.body)}`);
    };
    try {
      // 1. Cut off from the cluster: every statement on a table answers 1047 until it rejoins.
      await node.isolate();
      await eventually(async () => (await readiness(c.process.url)).status === 503, { timeoutMs: 30_000, intervalMs: 200, what: 'C to report itself unready' });
      await watch('isolated');
      const isolated = await readiness(c.process.url);
      expect(isolated.body.details?.galera).toMatchObject({ status: 'down', message: expect.stringContaining('not ready') });
      await eventually(() => (statuses.get(503) ?? 0) > 0, { timeoutMs: 60_000, intervalMs: 200, what: 'a begin answered 503 while the node is isolated' });
      await node.rejoin(3);
      await eventually(async () => (await readiness(c.process.url)).status === 200, { timeoutMs: 60_000, intervalMs: 200, what: 'C ready again after the rejoin' });

      // 2. Crashed and brought back: refused connections, then 1047 while it catches up by IST.
      await node.stop('SIGKILL');
      await eventually(async () => (await readiness(c.process.url)).status === 503, { timeoutMs: 30_000, intervalMs: 200, what: 'C unready with its node down' });
      await watch('killed');
      const restarting = node.recoverAndStart(3);
      // Watch readiness while the node rejoins, until it is Synced.
      let synced = false;
      void restarting.then(() => (synced = true), () => (synced = true));
      while (!synced) {
        await watch('rejoining');
        await sleep(100);
      }
      await restarting;
      await eventually(async () => (await readiness(c.process.url)).status === 200, { timeoutMs: 60_000, intervalMs: 200, what: 'C ready again once its node is Synced' });
      const before = statuses.get(201) ?? 0;
      await eventually(() => (statuses.get(201) ?? 0) > before + 5, { timeoutMs: 60_000, intervalMs: 100, what: 'begins through C to succeed again' });
    } finally {
      stop = true;
      await load;
    }
    const retried = c.process.logs.split('\n').filter((l) => l.includes('WSREP has not yet prepared node')).length;
    console.log(`galera node not ready: ${JSON.stringify({ beginAnswers: Object.fromEntries(statuses), wsrep1047Retries: retried, unready: unready.slice(0, 3), unreadySamples: unready.length })}`);
    expect([...statuses.keys()].filter((s) => s >= 500 && s !== 503)).toEqual([]);
    expect([...statuses.keys()].filter((s) => s < 0)).toEqual([]);
    expect(retried).toBeGreaterThan(0);
    expect(c.process.logs).not.toMatch(/"msg":"[^"]*internal error/);
  });
});
