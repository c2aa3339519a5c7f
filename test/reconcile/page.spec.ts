/**
 * The admin page's reconciliation section in headless Chromium (Debian's `chromium`, as
 * test/operate/browser.spec.ts): enter the token, pick a window, start a run, and see the run
 * listed and a row deleted behind the library's back shown as a finding with both views.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createStore, SERVER, startCoordinator, type RunningCoordinator, type TestStore } from '../support/coordinator.in-process';
import { closeAll, eventually } from '../support/wait';
import { SIGNING_KEY, startLedgerApp, type LedgerApp } from './support/ledger.app';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'reconcile-page-spec-admin-token';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`reconcile page.spec: SKIPPED because ${CHROMIUM} is missing (Debian: apt-get install -y chromium)`);

/** A datetime-local value (the browser's local time is this process's). */
function local(ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

(haveChromium && SERVER === 'mariadb' ? describe : describe.skip)('the reconciliation section of the admin page', () => {
  let store: TestStore;
  let coordinator: RunningCoordinator;
  let ledger: LedgerApp;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    store = await createStore(SERVER);
    coordinator = await startCoordinator(store, { TCC_ADMIN_TOKEN: TOKEN, TCC_SIGNING_KEYS: SIGNING_KEY, TCC_RECONCILE_RATE: '0', TCC_SCAN_INTERVAL_MS: '100' });
    ledger = await startLedgerApp(coordinator.url);
    profile = mkdtempSync(join(tmpdir(), 'tcc-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 120_000);

  afterAll(async () => {
    try {
      await context?.close();
    } finally {
      if (profile) rmSync(profile, { recursive: true, force: true });
      await closeAll(
        () => ledger?.close(),
        () => coordinator?.close(),
        () => store?.dispose(),
      );
    }
  });

  it('starts a run over a window and lists its mismatch with both views', async () => {
    const gids: string[] = [];
    for (let i = 0; i < 4; i++) gids.push((await ledger.checkout.pay(false)).gid);
    await ledger.query("DELETE FROM tcc_barrier WHERE gid = ? AND branch_id = 'wallet' AND phase = 'confirm'", [gids[2]]);

    await page.goto(`${coordinator.url}/admin`);
    await page.fill('#token', TOKEN);
    await page.click('#save-token');
    await page.locator('#reconcile-runs').filter({ hasText: 'No run yet.' }).waitFor();
    await page.fill('#reconcile-from', local(Date.now() - 3_600_000));
    await page.fill('#reconcile-to', local(Date.now() + 60_000));
    await page.click('#reconcile-start');
    await page.locator('[data-testid="run-row"]').first().waitFor();
    // Reopen the run until it is done (the first view may show it RUNNING).
    const finding = page.locator('[data-testid="finding-row"][data-kind="MISSING_CONFIRM"]');
    await eventually(async () => {
      if ((await finding.count()) === 1) return true;
      await page.locator('[data-testid="open-run"]').first().click();
      return false;
    }, { timeoutMs: 20_000, intervalMs: 300, what: 'the MISSING_CONFIRM finding on the page' });
    expect(await finding.getAttribute('data-gid')).toBe(gids[2]);
    const text = (await finding.textContent()) ?? '';
    expect(text).toContain('"status": "COMMITTED"');
    expect(text).toContain('"phase": "try"');
    expect(await page.locator('[data-testid="finding-row"]').count()).toBe(1);
    await page.screenshot({ path: '/tmp/tcc-admin-page-reconcile.png', fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
