/**
 * The retry budget on the admin page (docs/contract.md §2.1), in headless Chromium against the
 * built coordinator on the run's server database: a transaction whose branch spent its budget
 * shows the budget as spent on the branch and in the summary; once the participant works again,
 * Retry now resets it, the transaction commits and the page shows the budget unspent and the two
 * audit rows. Screenshot: /tmp/tcc-admin-page-budget.png (the spent budget, before the retry).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { closeAll, eventually, randomSuffix } from '../support/wait';
import { newAdminToken, startOperateCoordinator, type OperateCoordinator } from './support/operate.coordinator';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = '/tmp/tcc-admin-page-budget.png';
const TOKEN = newAdminToken();
const HOUR = 3_600_000;

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`retry-budget-page.spec: SKIPPED because ${CHROMIUM} is missing (Debian: apt-get install -y chromium)`);

(haveChromium ? describe : describe.skip)('retry budget on the admin page in headless Chromium', () => {
  let database: TestDatabase | undefined;
  let coordinator: OperateCoordinator | undefined;
  let participant: ParticipantServer | undefined;
  let profile: string | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let gid = '';
  const pageErrors: string[] = [];

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    database = await createTestDatabase();
    coordinator = await startOperateCoordinator({
      TCC_DB_URL: database.url,
      TCC_ADMIN_TOKEN: TOKEN,
      TCC_ATTENTION_AFTER_MS: String(HOUR),
      TCC_REQUEST_TIMEOUT_MS: '1000',
      TCC_LEASE_MS: '2000',
      TCC_RETRY_BASE_MS: '50',
      TCC_RETRY_MAX_MS: '100',
      TCC_SCAN_INTERVAL_MS: '100',
    });
    participant.behave('/vault/confirm', { kind: 'fail', status: 503, times: 1_000_000 });
    gid = `page-budget-${randomSuffix(8)}`;
    expect((await coordinator.api.begin({ gid, timeoutMs: HOUR })).status).toBe(201);
    expect((await coordinator.api.register(gid, { branchId: 'vault', participant: 'vault', protocol: 'http', ...participant.branch('vault'), maxAttempts: 2 })).status).toBe(201);
    expect((await coordinator.api.commit(gid, { wait: false })).body.status).toBe('COMMITTING');
    await eventually(async () => (await coordinator!.admin.view(gid)).branches[0].retryBudget?.spentAt ?? undefined, { timeoutMs: 15_000, what: `${gid} to spend its budget` });

    profile = mkdtempSync(join(tmpdir(), 'tcc-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 120_000);

  afterAll(async () => {
    try {
      await context?.close();
    } finally {
      if (profile) rmSync(profile, { recursive: true, force: true });
      await closeAll(
        () => coordinator?.close(),
        () => participant?.close(),
        () => database?.drop(),
      );
    }
  });

  it('shows the spent budget, and Retry now resets it and commits, with both audit rows', async () => {
    await page.goto(`${coordinator!.url}/admin`);
    await page.fill('#token', TOKEN);
    await page.fill('#actor', 'erin');
    await page.click('#save-token');
    const row = `[data-testid="tx-row"][data-gid="${gid}"]`;
    await page.locator(row).waitFor();
    expect(await page.locator(`${row} [data-testid="attention"]`).textContent()).toMatch(/flagged/);
    await page.click(`${row} [data-testid="open-tx"]`);
    await page.locator('#detail').waitFor({ state: 'visible' });
    const branch = page.locator('[data-testid="branch-row"][data-branch-id="vault"]');
    await branch.waitFor();
    const budget = branch.locator('[data-testid="retry-budget"]');
    expect(await budget.getAttribute('data-spent')).toBe('1');
    expect(await budget.textContent()).toBe('2 attempts, 2 failed: spent');
    expect(await page.locator('[data-testid="detail-field-attention-reason"]').textContent()).toMatch(/NEEDS_ATTENTION: retry budget spent: branch vault failed 2 times over \d+ ms: HTTP 503/);
    expect(await page.locator('[data-testid="detail-field-retry-budget"]').textContent()).toMatch(/spent at .*Retry now resets the budget/);
    // Retry now says that nothing else retries it.
    expect(await page.locator('#retry ~ .hint').textContent()).toMatch(/retry budget is spent: nothing retries this until you do/);
    await page.locator('#detail').scrollIntoViewIfNeeded();
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    participant!.behave('/vault/confirm', { kind: 'ok' });
    await page.fill('#retry-reason', 'vault is back');
    await page.click('#retry');
    await page.locator('#detail-status [data-testid="status"]').filter({ hasText: /^COMMITTED$/ }).waitFor();
    await eventually(async () => ((await page.locator('[data-testid="audit-row"]').count()) === 2 ? true : undefined), { timeoutMs: 10_000, what: 'two audit rows' });
    const actions = await page.locator('[data-testid="audit-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
    expect(actions).toEqual(['retry', 'reset-retry-budget']);
    expect(await budget.getAttribute('data-spent')).toBeNull();
    expect(await budget.textContent()).toBe('2 attempts');
    expect(await page.locator('[data-testid="detail-field-retry-budget"]').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
