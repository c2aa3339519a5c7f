/**
 * Scheduled reconciliation (TCC_RECONCILE_INTERVAL_MS, docs/contract.md §13) with two coordinator
 * replicas on one database: each whole period ending TCC_RECONCILE_LAG_MS ago gets exactly one run
 * (its id names its window), the windows follow each other without gap or overlap, and each run,
 * whichever replica ran it, checked exactly the transactions that finished in its window.
 */
import { createStore, SERVER, startCoordinator, type RunningCoordinator, type TestStore } from '../support/coordinator.in-process';
import { closeAll, eventually } from '../support/wait';
import { SIGNING_KEY, startLedgerApp, type LedgerApp } from './support/ledger.app';

const INTERVAL = 1_000;

describe(`scheduled reconciliation on two replicas (${SERVER})`, () => {
  let store: TestStore;
  const replicas: RunningCoordinator[] = [];
  let ledger: LedgerApp;

  beforeAll(async () => {
    store = await createStore(SERVER);
    for (let i = 0; i < 2; i++) {
      replicas.push(
        await startCoordinator(store, {
          TCC_SIGNING_KEYS: SIGNING_KEY,
          TCC_SCAN_INTERVAL_MS: '100',
          TCC_RECONCILE_INTERVAL_MS: String(INTERVAL),
          TCC_RECONCILE_LAG_MS: '500',
          TCC_RECONCILE_RATE: '0',
        }),
      );
    }
    ledger = await startLedgerApp(replicas[0].url);
  });

  afterAll(async () => {
    await closeAll(
      () => ledger?.close(),
      ...replicas.map((r) => () => r.close()),
      () => store?.dispose(),
    );
  });

  it('runs each period once, without gaps, each over exactly its window', async () => {
    const start = Date.now();
    // Transactions finishing across a few periods.
    let paid = 0;
    while (Date.now() - start < 3_500) {
      await ledger.checkout.pay(paid % 7 === 0);
      paid++;
    }
    const end = Date.now();
    type Run = { id: string; trigger_kind: string; state: string; window_from: number; window_to: number; checked: number; mismatches: number; owner: string | null };
    const runs = async (): Promise<Run[]> =>
      (await store.database!.query("SELECT id, trigger_kind, state, window_from, window_to, checked, mismatches FROM tcc_reconcile_runs WHERE trigger_kind = 'schedule' ORDER BY window_from")).map(
        (r) => ({ ...r, window_from: Number(r.window_from), window_to: Number(r.window_to), checked: Number(r.checked), mismatches: Number(r.mismatches) }) as Run,
      );
    // Every period up to the end of the payments scheduled and done.
    const done = await eventually(async () => {
      const all = await runs();
      return all.length > 0 && all[all.length - 1].window_to >= end && all.every((r) => r.state === 'DONE') ? all : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200, what: 'scheduled runs covering the payments to end' });
    expect(done.length).toBeGreaterThanOrEqual(4);
    for (const [i, run] of done.entries()) {
      expect(run.id).toBe(`sched-${run.window_to}`);
      expect(run.window_to - run.window_from).toBe(INTERVAL);
      if (i > 0) expect(run.window_from).toBe(done[i - 1].window_to);
      const size = await store.database!.query(
        "SELECT COUNT(*) AS n FROM tcc_transactions WHERE status IN ('COMMITTED', 'ROLLED_BACK') AND updated_at >= ? AND updated_at < ?",
        [run.window_from, run.window_to],
      );
      expect(run.checked).toBe(Number(size[0].n));
      expect(run.mismatches).toBe(0);
    }
    // Together the runs checked every payment that finished before the last window's end (the
    // refused ones roll back after their initiator returned, so one may land in a later window).
    const total = done.reduce((sum, r) => sum + r.checked, 0);
    expect(total).toBeGreaterThanOrEqual(paid - Math.ceil(paid / 7));
    expect(total).toBeLessThanOrEqual(paid);
  }, 60_000);
});
