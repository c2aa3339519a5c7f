/**
 * Three coordinator replicas (separate processes, one database, Redis with the spec's own prefix)
 * carry 500 two-branch transactions, three quarters committed and a quarter rolled back, while
 * one replica is SIGKILLed three times with phase two in flight (and restarted each time) and
 * Redis (a private redis-server) is stopped in the middle of the run and started again.
 * Afterwards every transaction ends as decided, every branch got its confirm (or its cancel),
 * no branch got both, nothing is left owned or due, and the replicas took Redis up again with
 * exactly one scan leader.
 */
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { eventually, randomSuffix } from '../support/wait';
import { ResilientInitiator, type TransactionPlan } from './support/initiator';
import { checkLedger } from './support/ledger';
import { PrivateRedis } from './support/private-redis';
import { disposeAll, startReplicas, type Replica } from './support/replica';
import { branches, heldLeases, transactions, waitForAllFinal } from './support/store-view';

const COUNT = 500;
const PER_SECOND = 15;
const CONCURRENCY = 12;
const DELAYS_MS = [50, 100, 150, 200];

interface KillEvent {
  label: string;
  pid: number;
  atDone: number;
  /** Phase-two transactions the victim held a lease on just before the SIGKILL. */
  heldBefore: number;
  /** Of those, the ones still owned by the dead process right after: left for another replica. */
  orphaned: number;
  restartMs: number;
  /** Whether the victim led the scans when it was killed (with Redis up, its successor must take over). */
  wasLeader: boolean;
}

describe('three replicas, one SIGKILLed three times during phase two, Redis stopped and started', () => {
  let db: TestDatabase | undefined;
  let redis: PrivateRedis | undefined;
  let participant: ParticipantServer | undefined;
  let replicas: Replica[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = await PrivateRedis.start();
    participant = await ParticipantServer.start();
    for (const ms of DELAYS_MS) {
      participant.behave(`/d${ms}/confirm`, { kind: 'ok', delayMs: ms });
      participant.behave(`/d${ms}/cancel`, { kind: 'ok', delayMs: ms });
    }
    replicas = await startReplicas(3, {
      TCC_DB_URL: db.url,
      TCC_REDIS_URL: redis.url,
      TCC_REDIS_PREFIX: `tcc-test-replicas-${randomSuffix(8)}:`,
      TCC_LEASE_MS: '2000',
      TCC_REQUEST_TIMEOUT_MS: '800',
      TCC_RETRY_BASE_MS: '200',
      TCC_RETRY_MAX_MS: '1000',
      TCC_SCAN_INTERVAL_MS: '250',
      TCC_LEADER_LEASE_MS: '1500',
      TCC_SHUTDOWN_GRACE_MS: '1000',
    });
  });

  afterAll(async () => {
    try {
      await disposeAll(replicas);
    } finally {
      try {
        await participant?.close();
        await redis?.dispose();
      } finally {
        await db?.drop();
      }
    }
  });

  it(`${COUNT} transactions end as decided; no branch gets both confirm and cancel`, async () => {
    const sql = db!.query;
    const victim = replicas[2];
    const others = replicas.slice(0, 2);
    const run = randomSuffix(6);
    const plans: TransactionPlan[] = Array.from({ length: COUNT }, (_, i) => ({
      gid: `replicas-${run}-${i}`,
      timeoutMs: 120_000,
      decision: i % 4 === 3 ? 'rollback' : 'commit',
      replica: i % replicas.length,
      branches: [
        { branchId: 'a', ...participant!.branch(`d${DELAYS_MS[i % 4]}`) },
        { branchId: 'b', ...participant!.branch(`d${DELAYS_MS[(i + 2) % 4]}`) },
      ],
    }));

    const startedAt = Date.now();
    let done = 0;
    const initiator = new ResilientInitiator({ apis: () => replicas.map((r) => r.api), callDeadlineMs: 90_000, requestTimeoutMs: 15_000 });
    const running = initiator.runAll(plans, CONCURRENCY, PER_SECOND, (n) => (done = n));
    let runError: unknown;
    running.catch((error) => (runError = error));
    const progress = (n: number): Promise<boolean> =>
      eventually(
        () => {
          if (runError) throw runError;
          return done >= n;
        },
        { timeoutMs: 120_000, intervalMs: 20, what: `${n} transactions submitted` },
      );

    const kills: KillEvent[] = [];
    const killDuringPhaseTwo = async (label: string): Promise<void> => {
      // Wait for a moment when the victim holds phase-two leases, i.e. its confirms/cancels are in flight.
      // Prefer a moment with several in flight; settle for one after a few seconds.
      const since = Date.now();
      const held = await eventually(
        async () => {
          const gids = await heldLeases(sql, victim.ownerPattern);
          return gids.length >= (Date.now() - since < 3_000 ? 3 : 1) ? gids : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 5, what: `${victim.name} to hold a phase-two lease` },
      );
      const pid = victim.pid!;
      const pattern = victim.ownerPattern;
      const atDone = done;
      const wasLeader = (await victim.metrics()).scanLeader === 1 && !!(await victim.metrics()).redisUp;
      await victim.kill('SIGKILL');
      const orphaned = (await heldLeases(sql, pattern)).length;
      const restartFrom = Date.now();
      await victim.start();
      kills.push({ label, pid, atDone, heldBefore: held.length, orphaned, restartMs: Date.now() - restartFrom, wasLeader });
    };
    const allMetrics = () => Promise.all(replicas.map((r) => r.metrics()));

    await progress(60);
    await killDuringPhaseTwo('kill 1');

    // Redis goes away: every replica notices, falls back to database leases, and keeps going.
    await progress(150);
    const redisStoppedAtDone = done;
    await redis!.stop('SIGTERM');
    const redisDownAt = Date.now();
    await eventually(async () => (await allMetrics()).every((m) => m.redisUp === 0), { timeoutMs: 15_000, intervalMs: 100, what: 'tcc_redis_up 0 on every replica' });
    const redisDownSeenMs = Date.now() - redisDownAt;
    const scansAtRedisDown = await Promise.all(others.map((r) => r.metrics()));

    await progress(210);
    await killDuringPhaseTwo('kill 2 (Redis down)');
    expect((await victim.metrics()).redisUp).toBe(0);

    // Redis comes back (empty): the replicas take it up again and elect exactly one scan leader.
    await progress(290);
    const scansBeforeRedisUp = await Promise.all(others.map((r) => r.metrics()));
    const redisStartedAtDone = done;
    await redis!.startAgain();
    const redisUpAt = Date.now();
    await eventually(
      async () => {
        const m = await allMetrics();
        return m.every((x) => x.redisUp === 1) && m.reduce((n, x) => n + (x.scanLeader ?? 0), 0) === 1;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'tcc_redis_up 1 on every replica and exactly one scan leader' },
    );
    const redisUpSeenMs = Date.now() - redisUpAt;

    await progress(380);
    await killDuringPhaseTwo('kill 3');

    const outcomes = await running;
    const submittedMs = Date.now() - startedAt;
    const convergedMs = await waitForAllFinal(sql, COUNT, 90_000);

    // Decided as asked, all of them.
    expect(initiator.problems).toEqual([]);
    expect(outcomes.filter((o) => o.problem)).toEqual([]);
    const expectedStatus = (p: TransactionPlan): string => (p.decision === 'commit' ? 'COMMITTED' : 'ROLLED_BACK');
    const rows = new Map((await transactions(sql)).map((r) => [r.gid, r]));
    expect(plans.filter((p) => rows.get(p.gid)?.status !== expectedStatus(p)).map((p) => `${p.gid}: ${rows.get(p.gid)?.status} (wanted ${expectedStatus(p)})`)).toEqual([]);
    expect([...rows.values()].filter((r) => r.owner !== null || r.nextAttemptAt !== null || r.leaseExpiresAt !== null).map((r) => r.gid)).toEqual([]);
    const branchRows = await branches(sql);
    expect(branchRows).toHaveLength(COUNT * 2);
    const wantBranch = new Map(plans.map((p) => [p.gid, p.decision === 'commit' ? 'CONFIRMED' : 'CANCELLED']));
    expect(branchRows.filter((b) => b.status !== wantBranch.get(b.gid)).map((b) => `${b.gid}/${b.branchId}: ${b.status}`)).toEqual([]);

    // What the participants saw.
    const ledger = checkLedger(plans, participant!.calls, (p) => (p.decision === 'commit' ? 'confirm' : 'cancel'));
    expect(ledger.problems).toEqual([]);
    expect(ledger.both).toBe(0);

    // The chaos happened as intended: three kills with phase two in flight.
    expect(kills).toHaveLength(3);
    expect(kills.every((k) => k.heldBefore >= 1)).toBe(true);
    expect(victim.pids).toHaveLength(4);
    // While Redis was down the two survivors both scanned (database leases alone).
    for (let i = 0; i < others.length; i++) expect(scansBeforeRedisUp[i].scans).toBeGreaterThan(scansAtRedisDown[i].scans);
    // And at the end, Redis is up everywhere with exactly one leader.
    const final = await allMetrics();
    expect(final.map((m) => m.redisUp)).toEqual([1, 1, 1]);
    expect(final.reduce((n, m) => n + (m.scanLeader ?? 0), 0)).toBe(1);
    for (const r of replicas) {
      expect(r.logLines('Redis is unavailable').length).toBeGreaterThanOrEqual(1);
      expect(r.logLines('Redis coordination is up').length).toBeGreaterThanOrEqual(1);
    }

    console.log(
      `replicas: ${JSON.stringify({
        transactions: COUNT,
        submittedMs,
        convergedAfterSubmitMs: convergedMs,
        failovers: initiator.failovers,
        kills,
        redisStoppedAtDone,
        redisDownSeenMs,
        redisStartedAtDone,
        redisUpSeenMs,
        confirms: ledger.confirms,
        cancels: ledger.cancels,
        branchesCalledMoreThanOnce: ledger.repeated,
      })}`,
    );
  });
});
