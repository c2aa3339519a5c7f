/**
 * The admin page at /admin in a real browser: headless Chromium (Debian's `chromium`) driven by
 * playwright-core against the built coordinator on MariaDB. Load the page, enter the token, see
 * the list, filter and page it, open a COMMITTING transaction whose participant failed, press
 * retry and see the audit row; force a TRYING one to roll back; data is shown as text, never HTML;
 * filter by mode, force a saga waiting between retries to compensate and ask a PREPARED message's
 * initiator now. Screenshots are left at /tmp/tcc-admin-page.png (after the retry),
 * /tmp/tcc-admin-page-actions.png (a COMMITTING transaction with its actions) and
 * /tmp/tcc-admin-page-saga.png (a saga waiting between retries, with its steps and actions).
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
const SCREENSHOT_SAGA = '/tmp/tcc-admin-page-saga.png';
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
  const gids = { stuck: '', wedged: '', trying: '', hostile: '', committed: '', saga: '', message: '' };

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
  const listed = (): Promise<(string | null)[][]> =>
    page.locator('[data-testid="tx-row"]').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-gid'), r.getAttribute('data-mode')]));
  /** Waits until the list shows exactly these rows ([gid, mode]): a count alone would match the page before the filter applied. */
  const listShows = (expected: string[][]): Promise<true> =>
    eventually(async () => JSON.stringify(await listed()) === JSON.stringify(expected) || undefined, { timeoutMs: 10_000, what: `the list to show ${JSON.stringify(expected)}` });
  const stepStatuses = (): Promise<(string | null)[][]> =>
    page.locator('[data-testid="branch-row"]').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-branch-id'), r.getAttribute('data-status')]));

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

  it('filters by mode: each row shows its mode; only sagas, only messages, only TCC transactions', async () => {
    // A saga whose second action keeps failing, waiting a minute for its next round.
    gids.saga = `saga-${randomSuffix(8)}`;
    participant!.behave(`/${gids.saga}/s2/action`, { kind: 'fail', status: 503, times: 1_000_000 });
    const steps = ['s1', 's2', 's3'].map((id) => ({
      branchId: id,
      participant: `svc-${id}`,
      protocol: 'http',
      action: participant!.url(`/${gids.saga}/${id}/action`),
      compensate: participant!.url(`/${gids.saga}/${id}/compensate`),
    }));
    expect((await coordinator!.api.startSaga({ gid: gids.saga, timeoutMs: HOUR, steps })).body.status).toBe('COMMITTING');
    await eventually(
      async () => {
        const view = await coordinator!.admin.view(gids.saga);
        return view.owner === null && view.branches[1].attempts === 1;
      },
      { timeoutMs: 10_000, what: `the failed round of ${gids.saga} to end` },
    );
    // A message asked about only by hand (its timeout is an hour away).
    gids.message = `msg-${randomSuffix(8)}`;
    const prepared = await coordinator!.api.prepareMessage({
      gid: gids.message,
      timeoutMs: HOUR,
      queryPrepared: participant!.url(`/${gids.message}/query`),
      steps: [{ branchId: 'a', participant: 'mailer', protocol: 'http', action: participant!.url(`/${gids.message}/a/deliver`) }],
    });
    expect(prepared.body.status).toBe('PREPARED');

    await page.selectOption('#filter-mode', 'saga');
    await page.click('#apply-filters');
    await listShows([[gids.saga, 'saga']]);
    expect(await page.locator(`${row(gids.saga)} [data-testid="mode"]`).textContent()).toBe('saga');
    expect(await page.locator(row(gids.saga)).getAttribute('data-status')).toBe('COMMITTING');

    await page.selectOption('#filter-mode', 'message');
    await page.click('#apply-filters');
    await listShows([[gids.message, 'message']]);
    expect(await page.locator(row(gids.message)).getAttribute('data-status')).toBe('PREPARED');

    const tcc = (await coordinator!.admin.listAll({ mode: 'tcc' })).items.length;
    await page.selectOption('#filter-mode', 'tcc');
    await page.click('#apply-filters');
    await rowCount(tcc);
    const tccRows = await listed();
    expect(tccRows.every(([, mode]) => mode === 'tcc')).toBe(true);
    expect(tccRows.map(([gid]) => gid)).toContain(gids.stuck);

    // With status: a PREPARED message is found by either filter.
    await page.selectOption('#filter-mode', '');
    await page.selectOption('#filter-status', 'PREPARED');
    await page.click('#apply-filters');
    await listShows([[gids.message, 'message']]);

    await page.click('#reset-filters');
    await rowCount(tcc + 2);
    expect(await page.locator(`${row(gids.stuck)} [data-testid="mode"]`).textContent()).toBe('tcc');
  });

  it('forces a saga waiting between retries to compensate, only with a reason', async () => {
    await page.click(`${row(gids.saga)} [data-testid="open-tx"]`);
    await detailOf(gids.saga);
    await detailStatus('COMMITTING');
    expect(await page.locator('#detail-mode').textContent()).toBe('saga');
    expect(await page.locator('[data-testid="detail-field-mode"]').textContent()).toMatch(/^saga/);
    expect(await page.locator('#branches-heading').textContent()).toBe('Steps (3)');
    expect(await stepStatuses()).toEqual([
      ['s1', 'SUCCEEDED'],
      ['s2', 'REGISTERED'],
      ['s3', 'REGISTERED'],
    ]);
    const s2 = page.locator('[data-testid="branch-row"][data-branch-id="s2"]');
    expect(await s2.locator('[data-testid="attempts"]').textContent()).toBe('1');
    expect(await s2.locator('[data-testid="last-error"]').textContent()).toMatch(/503/);
    expect(await page.locator('[data-testid="failure-row"][data-branch-id="s2"][data-phase="action"]').count()).toBe(1);
    // What a COMMITTING saga offers: retry and force compensate; no step is resolved by hand.
    expect(await page.locator('#retry').textContent()).toBe('Retry now');
    expect(await page.locator('#force-compensate').textContent()).toBe('Force compensate');
    expect(await page.locator('#force-rollback').count()).toBe(0);
    expect(await page.locator('#abort-message').count()).toBe(0);
    expect(await page.locator('[data-testid="resolve-branch"]').count()).toBe(0);
    await page.locator('#detail').screenshot({ path: SCREENSHOT_SAGA });

    await page.click('#force-compensate');
    expect(await page.locator('#detail-error').textContent()).toMatch(/needs a reason/);
    expect((await coordinator!.admin.view(gids.saga)).status).toBe('COMMITTING');

    await page.fill('#force-compensate-reason', 'supplier closed');
    await page.click('#force-compensate');
    await page.locator('[data-testid="audit-row"][data-action="force-rollback"]').waitFor();
    await coordinator!.api.waitForStatus(gids.saga, ['ROLLED_BACK']);
    await page.click('#detail-reload');
    await detailStatus('ROLLED_BACK');
    expect(await stepStatuses()).toEqual([
      ['s1', 'COMPENSATED'],
      ['s2', 'COMPENSATED'],
      ['s3', 'SKIPPED'],
    ]);
    expect(await page.locator('[data-testid="branch-row"][data-branch-id="s3"] .badge.s-SKIPPED').count()).toBe(1);
    expect(await page.locator('#no-actions').textContent()).toMatch(/finished/);
    expect(await page.locator('[data-testid="audit-row"] td').allTextContents()).toEqual(expect.arrayContaining(['force-rollback', 'dave', 'supplier closed']));
    expect(participant!.callsFor(gids.saga, 's2', 'action')).toHaveLength(1);
    expect(participant!.callsFor(gids.saga, 's3')).toEqual([]);
  });

  it('asks a PREPARED message\'s initiator now: queryPrepared answers COMMITTED and the step is delivered', async () => {
    participant!.behave(`/${gids.message}/query`, { kind: 'ok', body: '{"status":"COMMITTED"}' });
    await page.click(`${row(gids.message)} [data-testid="open-tx"]`);
    await detailOf(gids.message);
    await detailStatus('PREPARED');
    expect(await page.locator('#detail-mode').textContent()).toBe('message');
    expect(await page.locator('#branches-heading').textContent()).toBe('Steps (1)');
    // What a PREPARED message offers: ask now and abort; nothing to resolve yet.
    expect(await page.locator('#retry').textContent()).toBe('Ask now');
    expect(await page.locator('#abort-message').textContent()).toBe('Abort');
    expect(await page.locator('#force-rollback').count()).toBe(0);
    expect(await page.locator('#force-compensate').count()).toBe(0);
    expect(await page.locator('[data-testid="resolve-branch"]').count()).toBe(0);
    expect(participant!.callsFor(gids.message)).toEqual([]);

    await page.click('#retry');
    await page.locator('[data-testid="audit-row"][data-action="retry"]').waitFor();
    expect(await page.locator('#detail-notice').textContent()).toMatch(/Ask now done: .* is now COMMITTED/);
    await detailStatus('COMMITTED');
    expect(await stepStatuses()).toEqual([['a', 'SUCCEEDED']]);
    expect(await page.locator('#no-actions').textContent()).toMatch(/finished/);
    expect(participant!.callsFor(gids.message, 'prepared', 'query')).toHaveLength(1);
    expect(participant!.callsFor(gids.message, 'a', 'message').map((c) => c.answer)).toEqual([200]);
  });

  it('a compensating saga: resolves the step whose compensation keeps failing by hand, then retries the one it held up', async () => {
    const gid = `saga-rb-${randomSuffix(8)}`;
    participant!.behave(`/${gid}/s2/action`, { kind: 'fail', status: 409, times: 1 });
    participant!.behave(`/${gid}/s2/compensate`, { kind: 'fail', status: 503, times: 1_000_000 });
    const steps = ['s1', 's2', 's3'].map((id) => ({ branchId: id, protocol: 'http', action: participant!.url(`/${gid}/${id}/action`), compensate: participant!.url(`/${gid}/${id}/compensate`) }));
    await coordinator!.api.startSaga({ gid, timeoutMs: HOUR, steps });
    await eventually(
      async () => {
        const view = await coordinator!.admin.view(gid);
        return view.status === 'ROLLING_BACK' && view.owner === null && participant!.callsFor(gid, 's2', 'compensate').length === 1;
      },
      { timeoutMs: 10_000, what: `the first compensation round of ${gid} to fail and end` },
    );
    await page.click('#refresh');
    await page.click(`${row(gid)} [data-testid="open-tx"]`);
    await detailOf(gid);
    await detailStatus('ROLLING_BACK');
    expect(await stepStatuses()).toEqual([
      ['s1', 'SUCCEEDED'],
      ['s2', 'FAILED'],
      ['s3', 'SKIPPED'],
    ]);
    // Owed a compensation: s1 (its action succeeded) and s2 (refused); s3 was never sent.
    const resolvable = await page.locator('[data-testid="branch-row"]:has([data-testid="resolve-branch"])').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-branch-id')));
    expect(resolvable).toEqual(['s1', 's2']);
    const s2 = page.locator('[data-testid="branch-row"][data-branch-id="s2"]');
    expect(await s2.locator('[data-testid="resolve-branch"]').textContent()).toBe('Mark compensated');
    expect(await page.locator('#retry').textContent()).toBe('Retry now');
    expect(await page.locator('#force-compensate').count()).toBe(0);

    await s2.locator('[data-testid="resolve-reason"]').fill('refund made by hand');
    await s2.locator('[data-testid="resolve-branch"]').click();
    await page.locator('[data-testid="audit-row"][data-action="resolve-branch"]').waitFor();
    await page.locator('[data-testid="branch-row"][data-branch-id="s2"][data-status="COMPENSATED"]').waitFor();
    await detailStatus('ROLLING_BACK');
    expect(await page.locator('[data-testid="resolve-branch"]').count()).toBe(1);

    await page.click('#retry');
    await page.locator('[data-testid="audit-row"][data-action="retry"]').waitFor();
    await detailStatus('ROLLED_BACK');
    expect(await stepStatuses()).toEqual([
      ['s1', 'COMPENSATED'],
      ['s2', 'COMPENSATED'],
      ['s3', 'SKIPPED'],
    ]);
    expect(participant!.callsFor(gid, 's1', 'compensate').map((c) => c.answer)).toEqual([200]);
    expect(participant!.callsFor(gid, 's2', 'compensate')).toHaveLength(1);
  });

  it('raised no script error and no console error', () => {
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
