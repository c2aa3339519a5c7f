/**
 * The admin page at /admin in a real browser: headless Chromium (Debian's `chromium`) driven by
 * playwright-core against the built coordinator on MariaDB. Load the page, enter the token, see
 * the list, filter and page it, open a COMMITTING transaction whose participant failed, press
 * retry and see the audit row; force a TRYING one to roll back; data is shown as text, never HTML.
 * Screenshots are left at /tmp/tcc-admin-page.png (after the retry) and
 * /tmp/tcc-admin-page-actions.png (a COMMITTING transaction with its actions).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { eventually, randomSuffix, closeAll } from '../support/wait';
import { newAdminToken, startOperateCoordinator, type OperateCoordinator } from './support/operate.coordinator';
import { TEST_CLIENT } from '../support/api-keys';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = '/tmp/tcc-admin-page.png';
const SCREENSHOT_ACTIONS = '/tmp/tcc-admin-page-actions.png';
const TOKEN = newAdminToken();
const HOUR = 3_600_000;

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  // Only a missing browser skips; CI installs Debian's chromium, so there this always runs.
  console.warn(`browser.spec: SKIPPED because ${CHROMIUM} is missing (Debian: apt-get install -y chromium)`);
}

(haveChromium ? describe : describe.skip)('admin page in headless Chromium', () => {
  let database: TestDatabase | undefined;
  let coordinator: OperateCoordinator | undefined;
  let participant: ParticipantServer | undefined;
  let profile: string | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const gids = { stuck: '', wedged: '', trying: '', hostile: '', committed: '' };

  async function begin(label: string, participants: string[], metadata?: Record<string, string>): Promise<string> {
    const gid = `${label}-${randomSuffix(8)}`;
    expect((await coordinator!.api.begin({ gid, timeoutMs: HOUR, metadata })).status).toBe(201);
    for (const [k, name] of participants.entries()) {
      const reg = await coordinator!.api.register(gid, { branchId: `b${k + 1}`, participant: name, protocol: 'http', ...participant!.branch(name) });
      expect(reg.status).toBe(201);
    }
    return gid;
  }

  const row = (gid: string): string => `[data-testid="tx-row"][data-gid="${gid}"]`;
  // Conditions are read through locators: the page's CSP forbids the eval that string predicates need.
  const rowCount = (n: number): Promise<number> =>
    eventually(async () => ((await page.locator('[data-testid="tx-row"]').count()) === n ? n : undefined), { timeoutMs: 10_000, what: `${n} rows in the list` });
  const exactly = (text: string): RegExp => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  const detailStatus = (status: string): Promise<void> => page.locator('#detail-status [data-testid="status"]').filter({ hasText: exactly(status) }).waitFor();
  const detailOf = (gid: string): Promise<void> => page.locator('#detail-gid').filter({ hasText: exactly(gid) }).waitFor();

  const auditCount = (): Promise<number> => page.locator('[data-testid="audit-row"]').count();

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    database = await createTestDatabase();
    coordinator = await startOperateCoordinator({
      TCC_DB_URL: database.url,
      TCC_ADMIN_TOKEN: TOKEN,
      TCC_REQUEST_TIMEOUT_MS: '500',
      TCC_LEASE_MS: '2000',
      // Only the page's retry calls the participant again during the test.
      TCC_RETRY_BASE_MS: '60000',
      TCC_RETRY_MAX_MS: '60000',
      TCC_SCAN_INTERVAL_MS: '200',
      TCC_ATTENTION_AFTER_MS: '0',
    });

    // The payment service failed its first confirm and works again now.
    participant.behave('/payments/confirm', { kind: 'fail', status: 500, times: 1 });
    gids.stuck = await begin('stuck', ['payments', 'stock']);
    expect((await coordinator.api.commit(gids.stuck, { wait: false })).body.status).toBe('COMMITTING');
    // The ledger never confirms: only resolving its branch by hand ends this one.
    participant.behave('/ledger/confirm', { kind: 'fail', status: 500, times: 1_000_000 });
    gids.wedged = await begin('wedged', ['ledger']);
    expect((await coordinator.api.commit(gids.wedged, { wait: false })).body.status).toBe('COMMITTING');
    gids.trying = await begin('open', ['stock']);
    gids.hostile = await begin('hostile', ['stock'], { note: '<img id="injected" src="x" onerror="document.title=\'pwned\'"><b>bold</b>' });
    gids.committed = await begin('done', ['stock']);
    expect((await coordinator.api.commit(gids.committed, { wait: true })).body.status).toBe('COMMITTED');
    for (let k = 0; k < 9; k++) await begin(`filler${k}`, ['stock']);
    // The failed first round is over (attempt recorded, lease released) before the page looks.
    for (const gid of [gids.stuck, gids.wedged]) {
      await eventually(
        async () => {
          const view = await coordinator!.admin.view(gid);
          return view.owner === null && view.branches[0].attempts === 1;
        },
        { timeoutMs: 10_000, what: `the first round of ${gid} to fail and end` },
      );
    }

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
    page.on('console', (message) => {
      // The 401 and 409 answered on purpose show as failed resource loads; anything else is a fault.
      if (message.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|409)/.test(message.text())) consoleErrors.push(message.text());
    });
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

  it('serves the page without the token, with a strict content security policy', async () => {
    const res = await page.goto(`${coordinator!.url}/admin`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-type']).toMatch(/^text\/html/);
    expect(res?.headers()['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(await page.title()).toBe('TCC coordinator admin');
    await expect(page.locator('#tx-body').textContent()).resolves.toMatch(/Enter the admin token/);
  });

  it('a wrong token shows the API error clearly and lists nothing', async () => {
    await page.fill('#token', 'not-the-right-token-at-all');
    await page.click('#save-token');
    const error = page.locator('#list-error');
    await error.waitFor({ state: 'visible' });
    expect(await error.textContent()).toMatch(/HTTP 401.*missing or wrong admin token/);
    expect(await page.locator('[data-testid="tx-row"]').count()).toBe(0);
  });

  it('with the right token lists the transactions, keeps the token in sessionStorage, filters and pages', async () => {
    await page.fill('#token', TOKEN);
    await page.fill('#actor', 'dave');
    await page.click('#save-token');
    await page.locator(row(gids.stuck)).waitFor();
    expect(await page.locator('#list-error').isHidden()).toBe(true);
    expect(await page.locator(row(gids.stuck)).getAttribute('data-status')).toBe('COMMITTING');
    expect(await page.locator(`${row(gids.stuck)} [data-testid="attention"]`).textContent()).toMatch(/flagged/);
    expect(await page.locator(row(gids.committed)).getAttribute('data-status')).toBe('COMMITTED');
    expect(await page.locator('[data-testid="tx-row"]').count()).toBe(14);
    expect(await page.evaluate('sessionStorage.getItem("tcc.admin.token")')).toBe(TOKEN);

    // Status filter.
    await page.selectOption('#filter-status', 'COMMITTING');
    await page.click('#apply-filters');
    await rowCount(2);
    expect((await page.locator('[data-testid="tx-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-gid')))).sort()).toEqual([gids.stuck, gids.wedged].sort());
    // Participant filter.
    await page.selectOption('#filter-status', '');
    await page.fill('#filter-participant', 'payments');
    await page.click('#apply-filters');
    await rowCount(1);
    expect(await page.locator('[data-testid="tx-row"]').getAttribute('data-gid')).toBe(gids.stuck);
    await page.click('#reset-filters');
    await rowCount(14);

    // Cursor paging: 14 transactions, 10 a page.
    await page.selectOption('#filter-limit', '10');
    await page.click('#apply-filters');
    await rowCount(10);
    const first = await page.locator('[data-testid="tx-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-gid')));
    expect(await page.locator('#prev-page').isDisabled()).toBe(true);
    await page.click('#next-page');
    await rowCount(4);
    const second = await page.locator('[data-testid="tx-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-gid')));
    expect(new Set([...first, ...second]).size).toBe(14);
    expect(await page.locator('#next-page').isDisabled()).toBe(true);
    expect(await page.locator('#page-info').textContent()).toMatch(/page 2/);
    await page.click('#prev-page');
    await rowCount(10);
    expect(await page.locator('[data-testid="tx-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-gid')))).toEqual(first);
    await page.selectOption('#filter-limit', '25');
    await page.click('#apply-filters');
    await rowCount(14);
  });

  it('opens the COMMITTING transaction, presses retry, and sees the audit row', async () => {
    await page.click(`${row(gids.stuck)} [data-testid="open-tx"]`);
    await page.locator('#detail').waitFor({ state: 'visible' });
    expect(await page.locator('#detail-gid').textContent()).toBe(gids.stuck);
    // The client that began it (the test key's name).
    expect(await page.locator('[data-testid="detail-field-client"]').textContent()).toBe(TEST_CLIENT);
    await page.locator('[data-testid="branch-row"][data-branch-id="b1"]').waitFor();
    const b1 = page.locator('[data-testid="branch-row"][data-branch-id="b1"]');
    expect(await b1.getAttribute('data-status')).toBe('REGISTERED');
    expect(await b1.locator('[data-testid="attempts"]').textContent()).toBe('1');
    expect(await b1.locator('[data-testid="last-error"]').textContent()).toMatch(/500/);
    expect(await page.locator('[data-testid="branch-row"][data-branch-id="b2"]').getAttribute('data-status')).toBe('CONFIRMED');
    expect(await page.locator('[data-testid="failure-row"]').count()).toBe(1);
    expect(await page.locator('[data-testid="audit-row"]').count()).toBe(0);
    // What a COMMITTING transaction offers: retry, and resolving its pending branch only.
    expect(await page.locator('#force-rollback').count()).toBe(0);
    expect(await page.locator('[data-testid="resolve-branch"]').count()).toBe(1);
    expect(await b1.locator('[data-testid="resolve-branch"]').textContent()).toBe('Mark confirmed');

    await page.fill('#retry-reason', 'payments redeployed');
    await page.click('#retry');
    const audit = page.locator('[data-testid="audit-row"]');
    await audit.waitFor();
    expect(await audit.count()).toBe(1);
    expect(await audit.getAttribute('data-action')).toBe('retry');
    const cells = await audit.locator('td').allTextContents();
    expect(cells.slice(1)).toEqual(['retry', 'dave', '', 'payments redeployed']);
    expect(await page.locator('#detail-notice').textContent()).toMatch(/now COMMITTED/);
    await detailStatus('COMMITTED');
    expect(await page.locator('#no-actions').textContent()).toMatch(/finished/);
    expect(await page.locator('[data-testid="resolve-branch"]').count()).toBe(0);
    await page.locator(`${row(gids.stuck)}[data-status="COMMITTED"]`).waitFor();

    // The API agrees: committed, audited with the page's actor and reason, and called once more.
    const view = await coordinator!.admin.view(gids.stuck);
    expect(view.status).toBe('COMMITTED');
    expect(view.audit).toEqual([expect.objectContaining({ action: 'retry', actor: 'dave', reason: 'payments redeployed' })]);
    expect(participant!.callsFor(gids.stuck, 'b1', 'confirm').map((c) => c.answer)).toEqual([500, 200]);

    await page.locator('#detail').scrollIntoViewIfNeeded();
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('resolves the pending branch of a COMMITTING transaction by hand, only with a reason', async () => {
    await page.click(`${row(gids.wedged)} [data-testid="open-tx"]`);
    await detailOf(gids.wedged);
    const b1 = page.locator('[data-testid="branch-row"][data-branch-id="b1"]');
    await b1.locator('[data-testid="resolve-branch"]').waitFor();
    await b1.locator('[data-testid="resolve-branch"]').click();
    expect(await page.locator('#detail-error').textContent()).toMatch(/needs a reason/);
    expect(await auditCount()).toBe(0);

    await b1.locator('[data-testid="resolve-reason"]').fill('booked in the ledger by hand');
    await page.locator('#detail').screenshot({ path: SCREENSHOT_ACTIONS });
    await b1.locator('[data-testid="resolve-branch"]').click();
    await page.locator('[data-testid="audit-row"][data-action="resolve-branch"]').waitFor();
    await detailStatus('COMMITTED');
    expect(await page.locator('[data-testid="audit-row"] td').allTextContents()).toEqual(expect.arrayContaining(['resolve-branch', 'dave', 'b1', 'booked in the ledger by hand']));
    expect(await b1.getAttribute('data-status')).toBe('CONFIRMED');
    expect(await page.locator('[data-testid="resolve-branch"]').count()).toBe(0);
    expect((await coordinator!.admin.view(gids.wedged)).status).toBe('COMMITTED');
  });

  it('forces a TRYING transaction to roll back only with a reason', async () => {
    await page.click(`${row(gids.trying)} [data-testid="open-tx"]`);
    await detailOf(gids.trying);
    await page.locator('#force-rollback').waitFor();
    expect(await page.locator('#retry').count()).toBe(0);
    expect(await page.locator('[data-testid="resolve-branch"]').count()).toBe(0);

    await page.click('#force-rollback');
    expect(await page.locator('#detail-error').textContent()).toMatch(/needs a reason/);
    expect((await coordinator!.admin.view(gids.trying)).status).toBe('TRYING');

    await page.fill('#force-rollback-reason', 'order abandoned');
    await page.click('#force-rollback');
    await page.locator('[data-testid="audit-row"][data-action="force-rollback"]').waitFor();
    await detailStatus('ROLLED_BACK');
    expect(await page.locator('#detail-error').isHidden()).toBe(true);
    expect(await page.locator('[data-testid="audit-row"] td').allTextContents()).toEqual(expect.arrayContaining(['force-rollback', 'dave', 'order abandoned']));
    expect(participant!.callsFor(gids.trying, 'b1', 'cancel')).toHaveLength(1);
  });

  it('shows an action refused by the API (409) in the detail view', async () => {
    // Meanwhile someone else rolled it back: the page still offers force rollback until it reloads.
    await page.click(`${row(gids.hostile)} [data-testid="open-tx"]`);
    await page.locator('#force-rollback').waitFor();
    expect((await coordinator!.admin.forceRollback(gids.hostile, { reason: 'someone else' })).status).toBe(200);
    await page.fill('#force-rollback-reason', 'me too');
    await page.click('#force-rollback');
    await page.locator('#detail-error').waitFor({ state: 'visible' });
    expect(await page.locator('#detail-error').textContent()).toMatch(/HTTP 409 Conflict: .*only a TRYING transaction/);
  });

  it('renders data as text: HTML in metadata is shown, not run', async () => {
    await page.click(`${row(gids.hostile)} [data-testid="open-tx"]`);
    await detailOf(gids.hostile);
    await page.locator('pre.metadata').waitFor();
    expect(await page.locator('pre.metadata').textContent()).toContain('<img id=\\"injected\\"');
    expect(await page.locator('#injected').count()).toBe(0);
    expect(await page.locator('#detail b').count()).toBe(0);
    expect(await page.title()).toBe('TCC coordinator admin');
  });

  it('auto-refresh picks up a change made elsewhere without a click', async () => {
    const gid = gids.committed;
    const late = await begin('late', ['stock']);
    expect(await page.locator(row(late)).count()).toBe(0);
    await page.check('#auto-refresh');
    await page.locator(row(late)).waitFor({ timeout: 12_000 });
    expect(await page.locator(row(gid)).getAttribute('data-status')).toBe('COMMITTED');
    await page.uncheck('#auto-refresh');
  });

  it('raised no script error and no console error', () => {
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
