/**
 * The admin page shows a transaction's completion callback (docs/contract.md §11) in headless
 * Chromium: one whose receiver keeps failing shows DUE with its attempts and last error, one
 * delivered shows DELIVERED with its time.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createStore, SERVER, startCoordinator, type RunningCoordinator, type TestStore } from '../support/coordinator.in-process';
import { ParticipantServer } from '../support/participant.server';
import { closeAll, eventually, randomSuffix } from '../support/wait';
import { CallbackReceiver } from './support/callback.receiver';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = `callback-page-token-${randomSuffix(12)}`;
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`admin-page-callback.spec: SKIPPED because ${CHROMIUM} is missing (Debian: apt-get install -y chromium)`);

(haveChromium ? describe : describe.skip)(`the completion callback on the admin page (${SERVER})`, () => {
  let store: TestStore | undefined;
  let coordinator: RunningCoordinator | undefined;
  let participant: ParticipantServer | undefined;
  let receiver: CallbackReceiver | undefined;
  let profile: string | undefined;
  let context: BrowserContext | undefined;
  let page: Page;

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    receiver = await CallbackReceiver.start();
    store = await createStore(SERVER);
    coordinator = await startCoordinator(store, {
      TCC_ADMIN_TOKEN: TOKEN,
      TCC_CALLBACK_RETRY_BASE_MS: '50',
      TCC_CALLBACK_RETRY_MAX_MS: '200',
      TCC_SCAN_INTERVAL_MS: '100',
    });
    profile = mkdtempSync(join(tmpdir(), 'tcc-chromium-cb-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1000 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(10_000);
  }, 120_000);

  afterAll(async () => {
    try {
      await context?.close();
    } finally {
      if (profile) rmSync(profile, { recursive: true, force: true });
      await closeAll(
        () => coordinator?.close(),
        () => receiver?.close(),
        () => participant?.close(),
        () => store?.dispose(),
      );
    }
  });

  async function committed(gid: string, path: string): Promise<void> {
    const api = coordinator!.api;
    expect((await api.begin({ gid, callback: receiver!.url(path) })).status).toBe(201);
    expect((await api.register(gid, { branchId: 'b1', protocol: 'http', ...participant!.branch('b1') })).status).toBe(201);
    expect((await api.commit(gid, { wait: true })).body.status).toBe('COMMITTED');
  }

  async function open(gid: string): Promise<string> {
    await page.locator(`[data-testid="tx-row"][data-gid="${gid}"] [data-testid="open-tx"]`).click();
    await page.locator('#detail-gid').filter({ hasText: gid }).waitFor();
    return (await page.locator('[data-testid="detail-field-callback"]').textContent()) ?? '';
  }

  it('shows a callback still owed with its attempts and last error, and one delivered with its time', async () => {
    const owed = `cb-page-owed-${randomSuffix()}`;
    const done = `cb-page-done-${randomSuffix()}`;
    receiver!.failPaths.add('/owed');
    await committed(owed, '/owed');
    await eventually(() => receiver!.callsFor(owed).length >= 2 || undefined, { what: 'two failed callbacks' });
    await committed(done, '/done');
    await receiver!.waitForDelivery(done);

    await page.goto(`${coordinator!.url}/admin`);
    await page.fill('#token', TOKEN);
    await page.click('#save-token');
    await page.locator(`[data-testid="tx-row"][data-gid="${done}"]`).waitFor();

    const delivered = await eventually(
      async () => {
        const text = await open(done);
        return /^DELIVERED/.test(text) ? text : undefined;
      },
      { what: 'the delivered callback on the page' },
    );
    expect(delivered).toContain(`http ${receiver!.url('/done')}`);
    expect(delivered).toMatch(/· 1 attempt · delivered /);

    const due = await open(owed);
    expect(due).toMatch(new RegExp(`^DUE · http ${receiver!.url('/owed').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} · \\d+ attempts · next attempt `));
    expect(await page.locator('[data-testid="detail-field-callback-error"]').textContent()).toMatch(/HTTP 500/);
  });
});
