/**
 * The retry budget across replicas (docs/contract.md §2.1): two coordinator processes on one
 * database, without Redis (so both scan and claim), drive twelve transactions whose confirm always
 * fails, each with `maxAttempts: 3`. Every branch is called exactly three times in all, each
 * transaction is parked once: one webhook POST per gid, the spent counters of both replicas adding
 * up to twelve, and no call from either replica over several more scans of both; retry now on the
 * other replica than the one that committed finishes one once its participant works.
 */
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { eventually, randomSuffix } from '../support/wait';
import { Scrape } from '../operate/support/metrics.text';
import { OperateClient } from '../operate/support/admin.client';
import { disposeAll, startReplicas, type Replica } from './support/replica';
import { WebhookServer } from './support/webhook.server';

const ADMIN_TOKEN = `budget-replicas-${randomSuffix(16)}`;
const TRANSACTIONS = 12;
const MAX_ATTEMPTS = 3;

describe('retry budget with two replicas', () => {
  let db: TestDatabase | undefined;
  let participant: ParticipantServer | undefined;
  let webhook: WebhookServer | undefined;
  let replicas: Replica[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    participant = await ParticipantServer.start();
    webhook = await WebhookServer.start();
    replicas = await startReplicas(2, {
      TCC_DB_URL: db.url,
      TCC_ALERT_WEBHOOK_URL: webhook.url,
      TCC_ADMIN_TOKEN: ADMIN_TOKEN,
      TCC_ATTENTION_AFTER_MS: '3600000',
      TCC_SCAN_INTERVAL_MS: '50',
      TCC_RETRY_BASE_MS: '50',
      TCC_RETRY_MAX_MS: '100',
      TCC_REQUEST_TIMEOUT_MS: '1000',
      TCC_LEASE_MS: '2000',
      TCC_LOG_LEVEL: 'warn',
    });
  });

  afterAll(async () => {
    try {
      await disposeAll(replicas);
    } finally {
      try {
        await participant?.close();
        await webhook?.close();
      } finally {
        await db?.drop();
      }
    }
  });

  const scrape = async (replica: Replica): Promise<Scrape> => {
    const client = new OperateClient(replica.url);
    try {
      return new Scrape((await client.send('GET', '/metrics')).text);
    } finally {
      await client.close();
    }
  };
  const scans = async (): Promise<number[]> => Promise.all(replicas.map(async (r) => (await scrape(r)).value('tcc_recovery_scans_total')));

  it('calls each branch maxAttempts times in all, parks each transaction once, and retry now on the other replica finishes one', async () => {
    participant!.behave('/sealed/confirm', { kind: 'fail', status: 503, times: 1_000_000 });
    const run = randomSuffix(6);
    const gids = Array.from({ length: TRANSACTIONS }, (_, i) => `budget-rep-${run}-${i}`);
    await Promise.all(
      gids.map(async (gid, i) => {
        const api = replicas[i % 2].api;
        expect((await api.begin({ gid, timeoutMs: 60_000, maxAttempts: MAX_ATTEMPTS })).status).toBe(201);
        expect((await api.register(gid, { branchId: 'b1', protocol: 'http', ...participant!.branch('sealed') })).status).toBe(201);
        expect((await api.commit(gid, { wait: false })).status).toBe(200);
      }),
    );

    const flaggedCount = async (): Promise<number> => {
      const rows = await db!.query(`SELECT COUNT(*) AS n FROM tcc_transactions WHERE gid LIKE ? AND budget_spent_at IS NOT NULL AND attention_reason LIKE 'NEEDS_ATTENTION: retry budget spent%'`, [`budget-rep-${run}-%`]);
      return Number(rows[0].n);
    };
    await eventually(async () => ((await flaggedCount()) === TRANSACTIONS ? true : undefined), { timeoutMs: 30_000, intervalMs: 50, what: `${TRANSACTIONS} transactions parked` });

    // Several more scans on both replicas: nobody calls them again.
    const before = await scans();
    await eventually(async () => ((await scans()).every((n, i) => n >= before[i] + 5) ? true : undefined), { timeoutMs: 15_000, intervalMs: 50, what: 'five more scans on each replica' });
    for (const gid of gids) expect({ gid, calls: participant!.callsFor(gid, 'b1', 'confirm').length }).toEqual({ gid, calls: MAX_ATTEMPTS });
    const rows = await db!.query(`SELECT status, next_attempt_at, owner FROM tcc_transactions WHERE gid LIKE ?`, [`budget-rep-${run}-%`]);
    expect(rows.map((r) => [r.status, r.next_attempt_at, r.owner])).toEqual(gids.map(() => ['COMMITTING', null, null]));

    // One alert per transaction, and the counters of both replicas add up to one per transaction.
    await eventually(() => (webhook!.calls.length >= TRANSACTIONS ? true : undefined), { timeoutMs: 10_000, what: 'the alerts' });
    const alerted = webhook!.calls.map((c) => (c.body as { gid: string }).gid).filter((gid) => gids.includes(gid));
    expect(alerted.sort()).toEqual([...gids].sort());
    const spent = (await Promise.all(replicas.map(scrape))).map((m) => m.value('tcc_retry_budget_spent_total', { mode: 'tcc' }));
    expect(spent[0] + spent[1]).toBe(TRANSACTIONS);

    // Retry now, on the replica that did not commit it.
    participant!.behave('/sealed/confirm', { kind: 'ok' });
    const admin = new OperateClient(replicas[1].url, ADMIN_TOKEN);
    try {
      const retried = await admin.retry(gids[0], { reason: 'sealed again' });
      expect(retried.body).toEqual({ gid: gids[0], status: 'COMMITTED' });
    } finally {
      await admin.close();
    }
    expect(participant!.callsFor(gids[0], 'b1', 'confirm')).toHaveLength(MAX_ATTEMPTS + 1);
    console.log(`retry budget, two replicas: ${JSON.stringify({ spentPerReplica: spent, alerts: alerted.length, callsPerBranch: MAX_ATTEMPTS })}`);
  });
});
