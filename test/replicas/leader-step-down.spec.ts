/**
 * The scan leader loses its database while the other replicas keep theirs (issue 19): it must
 * give the Redis lease up, so another replica leads and rolls back abandoned transactions while
 * the old leader's database is still out of reach; when its database comes back it does not scan
 * with its old fence. Three replicas, one private database server of the engine the suites run on
 * (TCC_TEST_DB), each replica reaching it through a TCP proxy of its own that the test cuts, and
 * a private Redis. Run once with the database refusing (its server died) and once silent (its
 * node vanished from the network).
 */
import { ParticipantServer } from '../support/participant.server';
import { testEngine } from '../support/test.database';
import { eventually, randomSuffix, sleep, closeAll } from '../support/wait';
import { ResilientInitiator, type TransactionPlan } from './support/initiator';
import { PrivateDatabase } from './support/private-database';
import { PrivateRedis } from './support/private-redis';
import { disposeAll, migrateOnce, Replica } from './support/replica';
import { transactions, type Sql } from './support/store-view';
import { TcpProxy, type CutMode } from './support/tcp-proxy';

const DATABASE = 'tcc';
const ENGINE = testEngine();
const ENGINE_NAME = ENGINE === 'postgres' ? 'PostgreSQL' : 'MariaDB';
const LEADER_LEASE_MS = 1_500;
const ABANDONED = 10;
const TIMEOUT_MS = 2_000;

describe.each<CutMode>(['refused', 'blackhole'])(`the scan leader loses its ${ENGINE_NAME} (%s) while the others keep theirs`, (mode) => {
  let database: PrivateDatabase | undefined;
  let redis: PrivateRedis | undefined;
  let participant: ParticipantServer | undefined;
  let proxies: TcpProxy[] = [];
  let replicas: Replica[] = [];

  beforeAll(async () => {
    database = await PrivateDatabase.start(ENGINE);
    await database.createDatabase(DATABASE);
    redis = await PrivateRedis.start();
    participant = await ParticipantServer.start();
    const env = {
      TCC_DB_URL: database.url(DATABASE),
      TCC_REDIS_URL: redis.url,
      TCC_LEADER_LEASE_MS: String(LEADER_LEASE_MS),
      TCC_SCAN_INTERVAL_MS: '200',
      TCC_REQUEST_TIMEOUT_MS: '1000',
      TCC_LEASE_MS: '2000',
      TCC_RETRY_BASE_MS: '200',
      TCC_RETRY_MAX_MS: '500',
    };
    await migrateOnce(env);
    proxies = await Promise.all([0, 1, 2].map(() => TcpProxy.start(database!.port)));
    // The same URL with each replica's own proxy in place of the server's port.
    const direct = `127.0.0.1:${database.port}/`;
    replicas = await Promise.all(proxies.map((p, i) => Replica.create(`r${i}`, { ...env, TCC_DB_URL: env.TCC_DB_URL.replace(direct, `127.0.0.1:${p.port}/`) })));
    await Promise.all(replicas.map((r) => r.start()));
  });

  afterAll(async () => {
    await closeAll(
      () => disposeAll(replicas),
      ...proxies.map((p) => () => p.close()),
      () => participant?.close(),
      () => redis?.dispose(),
      () => database?.dispose(),
    );
  });

  it('another replica takes over and rolls back the abandoned transactions; the old leader does not scan when its database is back', async () => {
    const sql: Sql = (statement, params) => database!.query(statement, params, DATABASE);
    const coordination = async (): Promise<{ epoch: number; holder: string }> => {
      const [row] = await sql("SELECT epoch, holder FROM tcc_coordination WHERE name = 'scan-leader'");
      return { epoch: Number(row.epoch), holder: String(row.holder) };
    };
    const leaderIndex = await eventually(
      async () => {
        const m = await Promise.all(replicas.map((r) => r.metrics()));
        const leading = m.map((x, i) => (x.scanLeader === 1 ? i : -1)).filter((i) => i >= 0);
        return leading.length === 1 && m.every((x) => x.redisUp === 1) ? leading[0] : undefined;
      },
      { timeoutMs: 20_000, what: 'exactly one scan leader with Redis up on all three' },
    );
    const oldLeader = replicas[leaderIndex];
    const proxy = proxies[leaderIndex];
    const healthy = replicas.filter((r) => r !== oldLeader);
    const before = await coordination();
    expect(before.holder).toContain(`:${oldLeader.pid}:`);
    const oldBefore = await oldLeader.metrics();
    const takenBefore = oldLeader.logLines('scan leadership taken').length;
    const healthyBefore = await Promise.all(healthy.map((r) => r.metrics()));

    const run = randomSuffix(6);
    const plan = (name: string, i: number, replica: Replica): TransactionPlan => ({
      gid: `step-down-${mode}-${run}-${name}-${i}`,
      timeoutMs: TIMEOUT_MS,
      decision: 'abandon',
      replica: replicas.indexOf(replica),
      branches: [{ branchId: 'a', ...participant!.branch('ok') }],
    });

    // Abandoned transactions begun through a healthy replica; then the leader's road to its database is cut.
    const abandoned = Array.from({ length: ABANDONED }, (_, i) => plan('cut', i, healthy[i % healthy.length]));
    const initiator = new ResilientInitiator({ apis: () => replicas.map((r) => r.api), usable: (i) => replicas[i] !== oldLeader, callDeadlineMs: 10_000 });
    await initiator.runAll(abandoned, ABANDONED, 1_000);
    expect(initiator.problems).toEqual([]);

    // Every lease owner written from the cut on.
    const ownersSeen = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const row of await sql('SELECT owner FROM tcc_transactions WHERE owner IS NOT NULL')) ownersSeen.add(String(row.owner));
        await sleep(25);
      }
    })();

    proxy.cutOff(mode);
    const cutAt = Date.now();

    // The old leader gives up (its own log: its /metrics reads the database it cannot reach).
    await eventually(() => oldLeader.logLines(`giving up scan leadership (epoch ${before.epoch})`).length > 0, {
      timeoutMs: 30_000,
      intervalMs: 25,
      what: 'the old leader to give up the scan leadership',
    });
    const stepDownMs = Date.now() - cutAt;
    const after = await eventually(
      async () => {
        const [m, row] = await Promise.all([Promise.all(healthy.map((r) => r.metrics())), coordination()]);
        const leading = healthy.filter((_, i) => m[i].scanLeader === 1);
        return leading.length === 1 && row.epoch > before.epoch ? { row, newLeader: leading[0] } : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 25, what: 'a replica that reaches its database to lead the scans under a newer epoch' },
    );
    const takeoverMs = Date.now() - cutAt;
    const newLeader = after.newLeader;
    expect(after.row.holder).toContain(`:${newLeader.pid}:`);

    // Rolled back by the new leader while the old leader's database is still cut.
    const gids = new Set(abandoned.map((p) => p.gid));
    const rolledBack = await eventually(
      async () => {
        const rows = (await transactions(sql)).filter((t) => gids.has(t.gid));
        return rows.length === ABANDONED && rows.every((t) => t.status === 'ROLLED_BACK') ? rows : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50, what: `the ${ABANDONED} abandoned transactions to be ROLLED_BACK while the old leader's database is cut` },
    );
    const rolledBackMs = Date.now() - cutAt;
    expect(proxy.cut).toBe(mode);
    // Database clock: how long after its deadline each one was decided (claimed) and finished.
    const decidedLateMs = Math.max(...rolledBack.map((t) => (t.decidedAt ?? Number.NaN) - t.expiresAt));
    const finishedLateMs = Math.max(...rolledBack.map((t) => t.updatedAt - t.expiresAt));
    const newDuringCut = await newLeader.metrics();
    const heldOrRefused = proxy.heldOrRefused;

    // The old leader's database comes back; more transactions are abandoned, now through the old leader itself.
    proxy.restore();
    const restoredAt = Date.now();
    const oldAfterRestore = await eventually(
      async () => {
        const m = await oldLeader.metrics();
        return m.redisUp === 1 ? m : undefined;
      },
      { timeoutMs: 30_000, what: "the old leader's /metrics to answer again once its database is back" },
    );
    const later = Array.from({ length: ABANDONED }, (_, i) => plan('after', i, oldLeader));
    const laterInitiator = new ResilientInitiator({ apis: () => replicas.map((r) => r.api), callDeadlineMs: 30_000 });
    await laterInitiator.runAll(later, ABANDONED, 1_000);
    expect(laterInitiator.problems).toEqual([]);
    const laterGids = new Set(later.map((p) => p.gid));
    await eventually(
      async () => {
        const rows = (await transactions(sql)).filter((t) => laterGids.has(t.gid));
        return rows.length === ABANDONED && rows.every((t) => t.status === 'ROLLED_BACK');
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'the transactions abandoned after the restore to be ROLLED_BACK' },
    );
    await sleep(3 * LEADER_LEASE_MS);
    watching = false;
    await watcher;
    const oldLater = await oldLeader.metrics();
    const newLater = await newLeader.metrics();
    const end = await coordination();

    console.log(
      `leader step-down (${ENGINE}, ${mode}): ${JSON.stringify({
        abandoned: ABANDONED,
        timeoutMs: TIMEOUT_MS,
        leaderLeaseMs: LEADER_LEASE_MS,
        stepDownMs,
        takeoverMs,
        rolledBackMs,
        decidedLateMs,
        finishedLateMs,
        connectionsHeldOrRefusedWhileCut: heldOrRefused,
        epochBefore: before.epoch,
        epochAfter: after.row.epoch,
        epochAtEnd: end.epoch,
        restoredForMs: Date.now() - restoredAt,
        oldBefore,
        oldAfterRestore,
        oldLater,
        newDuringCut,
        newLater,
        healthyBefore,
      })}`,
    );

    // Another replica did the rolling back: its timeout claims cover all of them.
    const newBefore = healthyBefore[healthy.indexOf(newLeader)];
    expect(newLater.timeoutClaims - newBefore.timeoutClaims).toBe(2 * ABANDONED);
    expect(newDuringCut.timeoutClaims - newBefore.timeoutClaims).toBe(ABANDONED);
    for (const gid of [...gids, ...laterGids]) {
      expect(participant!.callsFor(gid, 'a', 'cancel').length).toBeGreaterThanOrEqual(1);
      expect(participant!.callsFor(gid, 'a', 'confirm')).toEqual([]);
    }

    // Fencing unchanged, and the old leader stays out: no leadership, no scan, no claim, no lease.
    expect(end).toEqual(after.row);
    expect(oldAfterRestore.scanLeader).toBe(0);
    expect(oldLater.scanLeader).toBe(0);
    expect(newLater.scanLeader).toBe(1);
    expect(oldLater.claims).toBe(oldBefore.claims);
    expect(oldLater.scans).toBe(oldAfterRestore.scans);
    expect([...ownersSeen].filter((o) => o.includes(`:${oldLeader.pid}:`))).toEqual([]);
    expect(oldLeader.logLines('scan leadership taken').length).toBe(takenBefore);
  });
});
