/**
 * A reconciliation run survives the death of its coordinator (docs/contract.md §13): the built
 * coordinator runs as a child process, is SIGKILLed in the middle of a run (its cursor has moved,
 * the window is not done), and started again; the run is resumed from its persisted cursor once
 * the dead process's lease has expired, and finishes having checked exactly the window's
 * transactions: none skipped, none counted twice.
 */
import { CoordinatorProcess } from '../support/coordinator.process';
import { createStore, SERVER, type TestStore } from '../support/coordinator.in-process';
import { OperateClient } from '../operate/support/admin.client';
import { closeAll, eventually } from '../support/wait';
import { reconcileQueries, SIGNING_KEY, startLedgerApp, type LedgerApp } from './support/ledger.app';

const ADMIN_TOKEN = 'reconcile-kill-spec-admin-token';
const COUNT = 400;

describe(`a reconciliation run killed mid-way (${SERVER})`, () => {
  let store: TestStore;
  let coordinator: CoordinatorProcess;
  let ledger: LedgerApp;

  beforeAll(async () => {
    store = await createStore(SERVER);
    coordinator = new CoordinatorProcess({
      ...store.env,
      TCC_HOST: '127.0.0.1',
      TCC_MIGRATE_ON_START: 'true',
      TCC_LOG_LEVEL: 'info',
      TCC_ADMIN_TOKEN: ADMIN_TOKEN,
      TCC_SIGNING_KEYS: SIGNING_KEY,
      TCC_RETRY_BASE_MS: '20',
      TCC_RETRY_MAX_MS: '200',
      TCC_SCAN_INTERVAL_MS: '100',
      TCC_REQUEST_TIMEOUT_MS: '1000',
      // A short lease, so the restarted process takes the dead one's run over soon.
      TCC_LEASE_MS: '2000',
      // The default rate (100 queries a second), in pages of 20 transactions.
      TCC_RECONCILE_BATCH: '20',
    });
    await coordinator.start();
    ledger = await startLedgerApp(coordinator.url);
  });

  afterAll(async () => {
    await closeAll(
      () => ledger?.close(),
      () => coordinator?.stop(),
      () => store?.dispose(),
    );
  });

  const runRow = async (id: string): Promise<Record<string, unknown>> =>
    (await store.database!.query('SELECT state, checked, branches, mismatches, unreachable, queries, cursor_at, cursor_gid FROM tcc_reconcile_runs WHERE id = ?', [id]))[0];

  it('resumes from its cursor after SIGKILL and checks every transaction of the window exactly once', async () => {
    const from = Date.now() - 1;
    let next = 0;
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        while (next < COUNT) {
          const i = next++;
          await ledger.checkout.pay(i % 10 === 0);
        }
      }),
    );
    await eventually(async () => {
      const rows = await store.database!.query("SELECT COUNT(*) AS n FROM tcc_transactions WHERE status NOT IN ('COMMITTED', 'ROLLED_BACK')");
      return Number(rows[0].n) === 0;
    }, { timeoutMs: 60_000, what: 'every transaction to finish' });
    const to = Date.now() + 1;
    const size = Number(
      (await store.database!.query("SELECT COUNT(*) AS n FROM tcc_transactions WHERE status IN ('COMMITTED', 'ROLLED_BACK') AND updated_at >= ? AND updated_at < ?", [from, to]))[0].n,
    );
    expect(size).toBe(COUNT);

    const admin = new OperateClient(coordinator.url, ADMIN_TOKEN);
    const firstQuery = reconcileQueries.length;
    const started = await admin.send<{ id: string }>('POST', '/admin/v1/reconciliations', { json: { from: new Date(from).toISOString(), to: new Date(to).toISOString() } });
    expect(started.status).toBe(202);
    const id = started.body.id;
    await admin.close();

    // Kill it once a few pages are written, well before the end (800 queries at 100 a second).
    const atKill = await eventually(async () => {
      const row = await runRow(id);
      return Number(row.checked) >= 100 ? row : undefined;
    }, { timeoutMs: 30_000, intervalMs: 20, what: 'the run to check 100 transactions' });
    await coordinator.kill('SIGKILL');
    const killedAt = await runRow(id);
    expect(killedAt.state).toBe('RUNNING');
    expect(Number(killedAt.checked)).toBeLessThan(size);
    expect(killedAt.cursor_gid).not.toBeNull();
    expect(Number(atKill.checked)).toBeGreaterThanOrEqual(100);

    await coordinator.start();
    const done = await eventually(async () => {
      const row = await runRow(id);
      return row.state === 'RUNNING' ? undefined : row;
    }, { timeoutMs: 60_000, intervalMs: 100, what: 'the resumed run to end' });
    expect(done.state).toBe('DONE');
    // Exactly the window: the page in flight at the kill was checked again, but counted once.
    expect(Number(done.checked)).toBe(size);
    expect(Number(done.branches)).toBe(2 * size);
    expect(Number(done.mismatches)).toBe(0);
    expect(Number(done.unreachable)).toBe(0);
    const findings = await store.database!.query('SELECT COUNT(*) AS n FROM tcc_reconcile_mismatches WHERE run_id = ?', [id]);
    expect(Number(findings[0].n)).toBe(0);
    // The participant was asked about every branch; at most the page in flight (20 transactions) again.
    const asked = reconcileQueries.length - firstQuery;
    expect(asked).toBeGreaterThanOrEqual(2 * size);
    expect(asked).toBeLessThanOrEqual(2 * size + 2 * 20);
    expect(coordinator.logs).toMatch(new RegExp(`reconciliation resumed`));
  }, 180_000);
});
