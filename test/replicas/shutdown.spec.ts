/**
 * Graceful shutdown of one replica (SIGTERM) while its confirms are in flight: it refuses new
 * transactions (503), lets the calls that finish within TCC_SHUTDOWN_GRACE_MS finish, hands the
 * other leases back (owner NULL, due now), exits 0, and the other replica finishes the rest well
 * before the released leases would have expired.
 * Two replicas on the machine's MariaDB and Redis (own database, own key prefix).
 */
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { eventually, randomSuffix, sleep, closeAll } from '../support/wait';
import { ResilientInitiator, type TransactionPlan } from './support/initiator';
import { disposeAll, startReplicas, type Replica } from './support/replica';
import { transactions, waitForAllFinal } from './support/store-view';

const GRACE_MS = 2_000;
const REQUEST_TIMEOUT_MS = 10_000;
const LEASE_MS = 2 * REQUEST_TIMEOUT_MS;
const FAST_CONFIRM_MS = 700;
const SLOW_CONFIRM_MS = 9_000;
const PER_GROUP = 5;

describe('SIGTERM on a replica with confirms in flight', () => {
  let db: TestDatabase | undefined;
  let participant: ParticipantServer | undefined;
  let replicas: Replica[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    participant = await ParticipantServer.start();
    replicas = await startReplicas(2, {
      TCC_DB_URL: db.url,
      TCC_REDIS_URL: 'redis://127.0.0.1:6379',
      TCC_REDIS_PREFIX: `tcc-test-shutdown-${randomSuffix(8)}:`,
      TCC_SHUTDOWN_GRACE_MS: String(GRACE_MS),
      TCC_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      TCC_LEASE_MS: String(LEASE_MS),
      TCC_SCAN_INTERVAL_MS: '200',
      TCC_LEADER_LEASE_MS: '1500',
      TCC_RETRY_BASE_MS: '200',
      TCC_RETRY_MAX_MS: '1000',
    });
  });

  afterAll(async () => {
    await closeAll(
      () => disposeAll(replicas),
      () => participant?.close(),
      () => db?.drop(),
    );
  });

  it('exits 0, answers 503 to begin while draining, releases its leases, and the other replica finishes', async () => {
    const [leaving, staying] = replicas;
    participant!.behave('/fast/confirm', { kind: 'ok', delayMs: FAST_CONFIRM_MS });
    participant!.behave('/slow/confirm', { kind: 'ok', delayMs: SLOW_CONFIRM_MS });
    const run = randomSuffix(6);
    const plans: TransactionPlan[] = ['fast', 'slow'].flatMap((route) =>
      Array.from({ length: PER_GROUP }, (_, i) => ({
        gid: `shutdown-${run}-${route}-${i}`,
        timeoutMs: 60_000,
        decision: 'commit' as const,
        replica: 0,
        branches: [{ branchId: 'a', ...participant!.branch(route) }],
      })),
    );
    // Everything goes to the replica about to leave: it decides, so it holds every lease.
    const initiator = new ResilientInitiator({ apis: () => [leaving.api], callDeadlineMs: 10_000 });
    await initiator.runAll(plans, 10, 1_000);
    expect(initiator.problems).toEqual([]);
    await participant!.waitForCalls((c) => c.phase === 'confirm', plans.length, 10_000);
    const held = await db!.query("SELECT gid FROM tcc_transactions WHERE owner LIKE ? AND status = 'COMMITTING'", [leaving.ownerPattern]);
    expect(held).toHaveLength(plans.length);
    const leavingPid = leaving.pid!;

    const sigtermAt = Date.now();
    const exited = leaving.kill('SIGTERM', 30_000);
    // Begin on the leaving replica while it drains: every answer is 503 until it stops listening.
    await sleep(300);
    const drainAnswers: number[] = [];
    for (;;) {
      try {
        const res = await leaving.api.send({ method: 'POST', path: '/v1/transactions', json: { gid: `shutdown-${run}-late-${drainAnswers.length}`, timeoutMs: 1_000 }, timeoutMs: 5_000 });
        drainAnswers.push(res.status);
      } catch {
        break; // no longer listening
      }
      if (!leaving.running) break;
      await sleep(100);
    }
    const exit = await exited;
    const exitedAt = Date.now();
    const ownedRightAfter = await db!.query('SELECT gid FROM tcc_transactions WHERE owner LIKE ?', [`%:${leavingPid}:%`]);

    // Meanwhile the other replica kept taking transactions.
    const other = await staying.api.begin({ gid: `shutdown-${run}-other`, timeoutMs: 60_000 });
    expect(other.status).toBe(201);
    expect((await staying.api.rollback(`shutdown-${run}-other`)).status).toBe(200);

    // Begins that were wrongly accepted during the drain time out on their own (1 s), so they do not hold the run up.
    const acceptedDuringDrain = drainAnswers.filter((s) => s === 200 || s === 201).length;
    await waitForAllFinal(db!.query, plans.length + 1 + acceptedDuringDrain, 30_000);
    const rows = new Map((await transactions(db!.query)).map((r) => [r.gid, r]));
    const doneAt = Date.now();
    const figures = {
      exit,
      drainMs: exitedAt - sigtermAt,
      beginAnswersDuringDrain: drainAnswers.join(','),
      finishedAfterExitMs: doneAt - exitedAt,
      shutdownLog: leaving.logLines('leases released'),
    };
    console.log(`shutdown: ${JSON.stringify(figures)}`);

    // One comparison for the whole shutdown contract, so a failure shows every part that broke.
    expect({
      exit,
      beginAnswersDuringDrain: [...new Set(drainAnswers)],
      drainBoundedByGrace: exitedAt - sigtermAt < GRACE_MS + 3_000,
      leasesStillOwnedAfterExit: ownedRightAfter.length,
      leasesReleasedLogged: leaving.logLines(`${PER_GROUP} leases released`).length,
    }).toEqual({
      exit: { code: 0, signal: null },
      beginAnswersDuringDrain: [503],
      drainBoundedByGrace: true,
      leasesStillOwnedAfterExit: 0,
      leasesReleasedLogged: 1,
    });

    for (const plan of plans) {
      const row = rows.get(plan.gid)!;
      expect({ gid: plan.gid, status: row.status, owner: row.owner }).toEqual({ gid: plan.gid, status: 'COMMITTED', owner: null });
      const confirms = participant!.callsFor(plan.gid, 'a', 'confirm');
      expect(participant!.callsFor(plan.gid, 'a', 'cancel')).toEqual([]);
      if (plan.gid.includes('-fast-')) {
        // Finished by the leaving replica inside its grace period: one confirm, done before it exited.
        expect(confirms).toHaveLength(1);
        expect(row.updatedAt).toBeLessThan(exitedAt);
      } else {
        // Handed back and confirmed again by the other replica, long before the lease would have expired.
        expect(confirms).toHaveLength(2);
        expect(row.updatedAt).toBeLessThan((row.decidedAt as number) + LEASE_MS);
      }
    }
  });
});
