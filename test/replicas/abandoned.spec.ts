/**
 * Transactions left TRYING by an initiator that vanished (begun, branches registered, never
 * committed nor rolled back) are rolled back by the scan within their timeout plus one scan
 * period, never before their deadline, and every registered branch gets its cancel.
 * Two replicas on the machine's MariaDB and Redis (own database, own key prefix).
 */
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { eventually, randomSuffix, closeAll } from '../support/wait';
import { ResilientInitiator, type TransactionPlan } from './support/initiator';
import { checkLedger } from './support/ledger';
import { disposeAll, startReplicas, type Replica } from './support/replica';
import { branches, transactions, waitForAllFinal } from './support/store-view';

const COUNT = 100;
const TIMEOUT_MS = 1_500;
const SCAN_INTERVAL_MS = 300;
/**
 * Room on top of one scan period for a 2-core machine shared with other work (a scan's own
 * queries, event-loop delays). The default scan interval (1000 ms) alone would exceed the bound.
 */
const DECISION_SLACK_MS = 600;
/** The cancels themselves take a round trip and a local transaction per transaction. */
const CANCEL_SLACK_MS = 1_000;

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

describe('transactions abandoned in TRYING by a vanished initiator', () => {
  let db: TestDatabase | undefined;
  let participant: ParticipantServer | undefined;
  let replicas: Replica[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    participant = await ParticipantServer.start();
    replicas = await startReplicas(2, {
      TCC_DB_URL: db.url,
      TCC_REDIS_URL: 'redis://127.0.0.1:6379',
      TCC_REDIS_PREFIX: `tcc-test-abandoned-${randomSuffix(8)}:`,
      TCC_SCAN_INTERVAL_MS: String(SCAN_INTERVAL_MS),
      TCC_LEADER_LEASE_MS: '1500',
      TCC_REQUEST_TIMEOUT_MS: '1000',
      TCC_LEASE_MS: '2000',
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

  it(`rolls back all ${COUNT} within timeout + one scan period and sends every cancel`, async () => {
    // With Redis one replica leads the scans: wait for it, so the measurement starts from a steady state.
    await eventually(async () => (await Promise.all(replicas.map((r) => r.metrics()))).reduce((n, m) => n + (m.scanLeader ?? 0), 0) === 1, {
      timeoutMs: 15_000,
      what: 'exactly one scan leader',
    });
    const run = randomSuffix(6);
    const plans: TransactionPlan[] = Array.from({ length: COUNT }, (_, i) => ({
      gid: `abandoned-${run}-${i}`,
      timeoutMs: TIMEOUT_MS,
      decision: 'abandon',
      replica: i % replicas.length,
      branches: ['a', 'b'].map((branchId) => ({ branchId, ...participant!.branch(branchId) })),
    }));
    const initiator = new ResilientInitiator({ apis: () => replicas.map((r) => r.api), callDeadlineMs: 5_000 });
    const outcomes = await initiator.runAll(plans, 10, 1_000);
    expect(initiator.problems).toEqual([]);
    expect(outcomes.filter((o) => o.problem)).toHaveLength(0);

    await waitForAllFinal(db!.query, COUNT, 30_000);

    const rows = await transactions(db!.query);
    expect(rows).toHaveLength(COUNT);
    for (const row of rows) {
      expect({ gid: row.gid, status: row.status, reason: row.reason, owner: row.owner }).toEqual({ gid: row.gid, status: 'ROLLED_BACK', reason: 'timeout', owner: null });
    }
    const branchRows = await branches(db!.query);
    expect(branchRows).toHaveLength(COUNT * 2);
    expect(branchRows.filter((b) => b.status !== 'CANCELLED')).toEqual([]);

    const ledger = checkLedger(plans, participant!.calls, () => 'cancel');
    expect(ledger.problems).toEqual([]);
    expect(ledger.both).toBe(0);

    // Timing, all on one machine: expires_at/decided_at/updated_at are the database's clock,
    // the participant's arrival times the test's; both read the same system clock.
    const byGid = new Map(rows.map((r) => [r.gid, r]));
    const decisionLateness: number[] = [];
    const cancelLateness: number[] = [];
    const finishLateness: number[] = [];
    for (const plan of plans) {
      const row = byGid.get(plan.gid)!;
      decisionLateness.push((row.decidedAt as number) - row.expiresAt);
      finishLateness.push(row.updatedAt - row.expiresAt);
      const lastFirstCancel = Math.max(
        ...plan.branches.map((b) => Math.min(...participant!.callsFor(plan.gid, b.branchId, 'cancel').map((c) => c.at))),
      );
      cancelLateness.push(lastFirstCancel - row.expiresAt);
    }
    const figures = {
      transactions: COUNT,
      timeoutMs: TIMEOUT_MS,
      scanIntervalMs: SCAN_INTERVAL_MS,
      decisionAfterDeadlineMs: { min: Math.min(...decisionLateness), p50: percentile(decisionLateness, 50), p95: percentile(decisionLateness, 95), max: Math.max(...decisionLateness) },
      cancelsReceivedAfterDeadlineMs: { p50: percentile(cancelLateness, 50), p95: percentile(cancelLateness, 95), max: Math.max(...cancelLateness) },
      rolledBackAfterDeadlineMs: { p50: percentile(finishLateness, 50), p95: percentile(finishLateness, 95), max: Math.max(...finishLateness) },
      repeatedCancels: ledger.repeated,
    };
    console.log(`abandoned rollback latency: ${JSON.stringify(figures)}`);

    // Never before the deadline (the database's clock decides), and within one scan period of it.
    expect(Math.min(...decisionLateness)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...decisionLateness)).toBeLessThanOrEqual(SCAN_INTERVAL_MS + DECISION_SLACK_MS);
    expect(Math.max(...cancelLateness)).toBeLessThanOrEqual(SCAN_INTERVAL_MS + CANCEL_SLACK_MS);
    expect(Math.max(...finishLateness)).toBeLessThanOrEqual(SCAN_INTERVAL_MS + CANCEL_SLACK_MS);

    // The scan did the work (not a request touching the transaction): timeout claims add up to all of them.
    const metrics = await Promise.all(replicas.map((r) => r.metrics()));
    expect(metrics.reduce((n, m) => n + m.timeoutClaims, 0)).toBe(COUNT);
  });
});
