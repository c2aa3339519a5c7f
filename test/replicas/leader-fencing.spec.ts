/**
 * The scan leader's Redis lease is taken over while it is paused (SIGSTOP): the other replica
 * becomes leader under a newer fencing epoch and does all the scan work; once the old leader runs
 * again (SIGCONT) it knows it lost, runs no scan and claims nothing.
 * Two replicas on the machine's MariaDB (or PostgreSQL) and Redis (own database, own key prefix).
 */
import { createTestDatabase, type TableLock, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { eventually, randomSuffix, sleep, closeAll } from '../support/wait';
import { ResilientInitiator, type TransactionPlan } from './support/initiator';
import { checkLedger } from './support/ledger';
import { disposeAll, startReplicas, type Replica } from './support/replica';
import { transactions, waitForAllFinal } from './support/store-view';

const LEADER_LEASE_MS = 1_500;
const SCAN_INTERVAL_MS = 200;

describe('scan leadership fenced while the leader is paused', () => {
  let db: TestDatabase | undefined;
  let participant: ParticipantServer | undefined;
  let replicas: Replica[] = [];
  let paused: number | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    participant = await ParticipantServer.start();
    replicas = await startReplicas(2, {
      TCC_DB_URL: db.url,
      TCC_REDIS_URL: 'redis://127.0.0.1:6379',
      TCC_REDIS_PREFIX: `tcc-test-fencing-${randomSuffix(8)}:`,
      TCC_LEADER_LEASE_MS: String(LEADER_LEASE_MS),
      TCC_SCAN_INTERVAL_MS: String(SCAN_INTERVAL_MS),
      TCC_REQUEST_TIMEOUT_MS: '1000',
      TCC_LEASE_MS: '2000',
      TCC_RETRY_BASE_MS: '200',
      TCC_RETRY_MAX_MS: '500',
    });
  });

  afterAll(async () => {
    try {
      if (paused !== undefined) process.kill(paused, 'SIGCONT');
    } catch {
      // gone already
    }
    await closeAll(
      () => disposeAll(replicas),
      () => participant?.close(),
      () => db?.drop(),
    );
  });

  const coordinationRow = async (): Promise<{ epoch: number; holder: string | null }> => {
    const [row] = await db!.query("SELECT epoch, holder FROM tcc_coordination WHERE name = 'scan-leader'");
    return { epoch: Number(row.epoch), holder: row.holder === null ? null : String(row.holder) };
  };

  it('the old leader does no scan work after it lost the lease; the new one does it all', async () => {
    const leaders = await eventually(
      async () => {
        const m = await Promise.all(replicas.map((r) => r.metrics()));
        const leading = m.map((x, i) => (x.scanLeader === 1 ? i : -1)).filter((i) => i >= 0);
        return leading.length === 1 && m.every((x) => x.redisUp === 1) ? leading : undefined;
      },
      { timeoutMs: 15_000, what: 'exactly one scan leader with Redis up on both' },
    );
    const oldLeader = replicas[leaders[0]];
    const newLeader = replicas[1 - leaders[0]];
    const before = await coordinationRow();
    expect(before.holder).toContain(`:${oldLeader.pid}:`);

    // A follower runs no scans while Redis is up.
    const followerBefore = await newLeader.metrics();
    await sleep(4 * SCAN_INTERVAL_MS);
    expect((await newLeader.metrics()).scans).toBe(followerBefore.scans);

    const run = randomSuffix(6);
    const plan = (name: string, i: number, timeoutMs: number, decision: TransactionPlan['decision'], route: string): TransactionPlan => ({
      gid: `fence-${run}-${name}-${i}`,
      timeoutMs,
      decision,
      replica: replicas.indexOf(newLeader),
      branches: [{ branchId: 'a', ...participant!.branch(route) }],
    });
    const initiator = new ResilientInitiator({
      apis: () => replicas.map((r) => r.api),
      usable: (i) => replicas[i] === newLeader,
      callDeadlineMs: 10_000,
    });

    // Pause the leader (after reading its counters) and wait until the other takes over.
    const oldBefore = await oldLeader.metrics();
    const newBefore = await newLeader.metrics();
    paused = oldLeader.pid!;
    process.kill(paused, 'SIGSTOP');
    const pausedAt = Date.now();
    const after = await eventually(
      async () => {
        const [m, row] = await Promise.all([newLeader.metrics(), coordinationRow()]);
        return m.scanLeader === 1 && row.epoch > before.epoch ? row : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50, what: 'the other replica to take the scan leadership under a newer epoch' },
    );
    const takeoverMs = Date.now() - pausedAt;
    expect(after.holder).toContain(`:${newLeader.pid}:`);

    // Due work while the old leader is still paused: try phases that time out, and commits whose
    // first confirms fail (so they come back as retries).
    participant!.behave('/flaky/confirm', { kind: 'fail', status: 503, times: 10 });
    const early = [
      ...Array.from({ length: 20 }, (_, i) => plan('timeout-early', i, 600, 'abandon', 'early')),
      ...Array.from({ length: 10 }, (_, i) => plan('retry', i, 30_000, 'commit', 'flaky')),
    ];
    // Transactions whose deadline falls after the old leader is running again.
    const late = Array.from({ length: 20 }, (_, i) => plan('timeout-late', i, 2_000, 'abandon', 'late'));
    await initiator.runAll([...early, ...late], 10, 1_000);
    expect(initiator.problems).toEqual([]);
    await eventually(async () => (await transactions(db!.query)).filter((t) => t.gid.includes('-timeout-early-')).every((t) => t.status !== 'TRYING'), {
      timeoutMs: 10_000,
      what: 'the early timeouts to be claimed by the new leader',
    });

    // Watch every lease owner written from now on.
    const ownersSeen = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const row of await db!.query('SELECT owner FROM tcc_transactions WHERE owner IS NOT NULL')) ownersSeen.add(String(row.owner));
        await sleep(25);
      }
    })();

    process.kill(paused, 'SIGCONT');
    paused = undefined;
    const pausedForMs = Date.now() - pausedAt;
    await sleep(500);
    const oldJustAfter = await oldLeader.metrics();
    await waitForAllFinal(db!.query, early.length + late.length, 30_000);
    await sleep(1_000);
    const oldLater = await oldLeader.metrics();
    const newLater = await newLeader.metrics();
    watching = false;
    await watcher;

    console.log(
      `leader fencing: ${JSON.stringify({ takeoverMs, pausedForMs, epochBefore: before.epoch, epochAfter: after.epoch, oldBefore, oldJustAfter, oldLater, newBefore, newLater })}`,
    );

    // The old leader knows it lost, and does nothing as a leader any more.
    expect(oldJustAfter.scanLeader).toBe(0);
    expect(oldLater.scanLeader).toBe(0);
    expect(newLater.scanLeader).toBe(1);
    // A scan already past its permit when SIGSTOP hit may finish (its claims then fail on the
    // fence); no new scan may start.
    expect(oldJustAfter.scans - oldBefore.scans).toBeLessThanOrEqual(1);
    expect(oldLater.scans).toBe(oldJustAfter.scans);
    expect(oldJustAfter.claims).toBe(oldBefore.claims);
    expect(oldLater.claims).toBe(oldBefore.claims);
    expect([...ownersSeen].filter((o) => o.includes(`:${oldLeader.pid}:`))).toEqual([]);
    expect(oldLeader.logLines(`scan leadership (epoch ${before.epoch}) lost`).length).toBeGreaterThanOrEqual(1);
    expect(newLeader.logLines(`scan leadership taken (epoch ${after.epoch})`).length).toBe(1);

    // All the work was done, by the new leader: every timeout claimed there, every retry too.
    const rows = await transactions(db!.query);
    const expectedStatus = (gid: string): string => (gid.includes('-retry-') ? 'COMMITTED' : 'ROLLED_BACK');
    expect(rows.filter((r) => r.status !== expectedStatus(r.gid)).map((r) => `${r.gid} ${r.status}`)).toEqual([]);
    expect(newLater.timeoutClaims - newBefore.timeoutClaims).toBe(40);
    expect(newLater.retryClaims - newBefore.retryClaims).toBeGreaterThanOrEqual(1);
    const ledger = checkLedger([...early, ...late], participant!.calls, (p) => (p.decision === 'commit' ? 'confirm' : 'cancel'));
    expect(ledger.problems).toEqual([]);
  });
});

/**
 * The fence itself, deterministically: the leader is paused in the middle of a scan, after its
 * permit and its read of what is due, before its claim. The test holds a table lock so the
 * leader's read of due work blocks there, pauses it, lets the other replica take over (it is
 * kept busy, so it leaves the due transaction alone), releases the lock and resumes the old
 * leader: its claim, carrying the old epoch, must change nothing.
 */
describe('a claim sent by a leader that was paused mid-scan is fenced out', () => {
  let db: TestDatabase | undefined;
  let participant: ParticipantServer | undefined;
  let replicas: Replica[] = [];
  let paused: number | undefined;
  let lock: TableLock | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    participant = await ParticipantServer.start();
    replicas = await startReplicas(2, {
      TCC_DB_URL: db.url,
      TCC_REDIS_URL: 'redis://127.0.0.1:6379',
      TCC_REDIS_PREFIX: `tcc-test-fence-mid-scan-${randomSuffix(8)}:`,
      TCC_LEADER_LEASE_MS: String(LEADER_LEASE_MS),
      TCC_SCAN_INTERVAL_MS: String(SCAN_INTERVAL_MS),
      // One phase-two drive at a time: a replica driving a hanging confirm runs no scan.
      TCC_PHASE_TWO_CONCURRENCY: '1',
      TCC_REQUEST_TIMEOUT_MS: '30000',
      TCC_LEASE_MS: '60000',
      TCC_RETRY_BASE_MS: '200',
      TCC_RETRY_MAX_MS: '500',
    });
  });

  afterAll(async () => {
    try {
      if (paused !== undefined) process.kill(paused, 'SIGCONT');
    } catch {
      // gone already
    }
    try {
      await lock?.release();
      participant?.releaseHanging();
      await disposeAll(replicas);
    } finally {
      try {
        await participant?.close();
      } finally {
        await db?.drop();
      }
    }
  });

  it('the old leader claims nothing with its old epoch', async () => {
    const leaders = await eventually(
      async () => {
        const m = await Promise.all(replicas.map((r) => r.metrics()));
        const leading = m.map((x, i) => (x.scanLeader === 1 ? i : -1)).filter((i) => i >= 0);
        return leading.length === 1 && m.every((x) => x.redisUp === 1) ? leading : undefined;
      },
      { timeoutMs: 15_000, what: 'exactly one scan leader with Redis up on both' },
    );
    const oldLeader = replicas[leaders[0]];
    const other = replicas[1 - leaders[0]];
    const run = randomSuffix(6);

    // Keep the other replica busy: it drives a confirm that hangs, so it runs no scan.
    participant!.behave('/hang/confirm', { kind: 'hang' });
    const busy = `mid-scan-${run}-busy`;
    expect((await other.api.begin({ gid: busy, timeoutMs: 60_000 })).status).toBe(201);
    expect((await other.api.register(busy, { branchId: 'h', protocol: 'http', ...participant!.branch('hang') })).status).toBe(201);
    expect((await other.api.commit(busy, { wait: false })).status).toBe(200);
    await participant!.waitForCalls((c) => c.gid === busy && c.phase === 'confirm', 1, 10_000);

    const coordination = async (): Promise<{ epoch: number; holder: string }> => {
      const [row] = await db!.query("SELECT epoch, holder FROM tcc_coordination WHERE name = 'scan-leader'");
      return { epoch: Number(row.epoch), holder: String(row.holder) };
    };
    const before = await coordination();
    expect(before.holder).toContain(`:${oldLeader.pid}:`);
    let oldBefore = await oldLeader.metrics();

    // A transaction left TRYING; just after its deadline, lock the table so the leader's next
    // read of due work (which will include it) blocks. A scan that got it before the lock
    // claimed it already: then try again with another one.
    let due = '';
    let claimedBeforeLock = 0;
    for (let attempt = 0; attempt < 5 && !due; attempt++) {
      const gid = `mid-scan-${run}-due-${attempt}`;
      const begun = await other.api.begin({ gid, timeoutMs: 1_000 });
      expect(begun.status).toBe(201);
      expect((await other.api.register(gid, { branchId: 'x', protocol: 'http', ...participant!.branch('x') })).status).toBe(201);
      await sleep(Math.max(0, Date.parse(begun.body.expiresAt) + 30 - Date.now()));
      // Counters right before the lock (/metrics reads the database, so not while it is locked).
      const counters = await oldLeader.metrics();
      lock = await db!.lockTable('tcc_transactions');
      const [row] = await lock.query('SELECT status FROM tcc_transactions WHERE gid = ?', [gid]);
      if (String(row.status) === 'TRYING') {
        due = gid;
        oldBefore = counters;
      } else {
        claimedBeforeLock++;
        await lock.release();
      }
    }
    expect(due).not.toBe('');
    // The leader's scan is now waiting on the lock, inside its permit.
    await eventually(
      async () => (await db!.waitingOn('SELECT gid, status FROM tcc_transactions WHERE next_attempt_at')) > 0,
      { timeoutMs: 5_000, intervalMs: 20, what: "the leader's read of due work to wait on the table lock" },
    );
    paused = oldLeader.pid!;
    process.kill(paused, 'SIGSTOP');
    const after = await eventually(
      async () => {
        const row = await coordination();
        return row.epoch > before.epoch ? row : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50, what: 'the other replica to advance the fencing epoch' },
    );
    expect(after.holder).toContain(`:${other.pid}:`);

    // Release the table (the paused leader's read completes but it cannot act on it yet), then resume it.
    await lock!.release();
    const ownersSeen: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const [row] = await db!.query('SELECT owner, status FROM tcc_transactions WHERE gid = ?', [due]);
        const seen = `${row.owner}|${row.status}`;
        if (ownersSeen[ownersSeen.length - 1] !== seen) ownersSeen.push(seen);
        await sleep(10);
      }
    })();
    await sleep(500);
    process.kill(paused, 'SIGCONT');
    paused = undefined;
    await sleep(2_000);
    const oldAfter = await oldLeader.metrics();
    const [stillDue] = await db!.query('SELECT status, owner FROM tcc_transactions WHERE gid = ?', [due]);

    // Let the other replica go: it finishes the busy one, then its scans roll the due one back.
    participant!.releaseHanging();
    await waitForAllFinal(db!.query, (await db!.query('SELECT gid FROM tcc_transactions')).length, 20_000);
    watching = false;
    await watcher;
    const oldLater = await oldLeader.metrics();
    console.log(`fence mid-scan: ${JSON.stringify({ due, claimedBeforeLock, oldLeaderPid: oldLeader.pid, otherPid: other.pid, epochBefore: before.epoch, epochAfter: after.epoch, ownersSeen, oldBefore, oldAfter, oldLater })}`);

    expect({ status: String(stillDue.status), owner: stillDue.owner }).toEqual({ status: 'TRYING', owner: null });
    // The scan that was blocked did go on after SIGCONT (it counts itself just before claiming),
    // so the old leader did send its claim with the old epoch; and it claimed nothing.
    expect(oldAfter.scans - oldBefore.scans).toBeGreaterThanOrEqual(1);
    expect(oldAfter.scans - oldBefore.scans).toBeLessThanOrEqual(2);
    expect(oldAfter.claims).toBe(oldBefore.claims);
    expect(oldLater.claims).toBe(oldAfter.claims);
    expect(oldLater.scans).toBe(oldAfter.scans);
    expect(oldAfter.scanLeader).toBe(0);
    expect(ownersSeen.filter((s) => s.includes(`:${oldLeader.pid}:`))).toEqual([]);
    const rows = new Map((await transactions(db!.query)).map((r) => [r.gid, r]));
    expect(rows.get(due)?.status).toBe('ROLLED_BACK');
    expect(rows.get(busy)?.status).toBe('COMMITTED');
    expect(participant!.callsFor(due, 'x', 'cancel').length).toBeGreaterThanOrEqual(1);
    expect(participant!.callsFor(due, 'x', 'confirm')).toEqual([]);
  });
});
