/**
 * A transaction whose confirm keeps failing past TCC_ATTENTION_AFTER_MS is flagged once: listed
 * by the admin API with attention=true, counted by tcc_attention_transactions, announced by one
 * webhook POST { gid, status, branchId, lastError, attempts } (not one per replica or per round),
 * and still retried. A transaction that recovers before the threshold is never flagged.
 * Two replicas on the machine's MariaDB and Redis (own database, own key prefix).
 */
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { eventually, randomSuffix, sleep } from '../support/wait';
import { disposeAll, startReplicas, type Replica } from './support/replica';
import { adminGet } from './support/admin.client';
import { branches } from './support/store-view';
import { WebhookServer } from './support/webhook.server';

const ADMIN_TOKEN = `attention-${randomSuffix(16)}`;
const ATTENTION_AFTER_MS = 1_500;

interface AdminItem {
  gid: string;
  status: string;
  attentionAt: string | null;
  owner: string | null;
}

describe('attention for a transaction whose phase two keeps failing', () => {
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
      TCC_REDIS_URL: 'redis://127.0.0.1:6379',
      TCC_REDIS_PREFIX: `tcc-test-attention-${randomSuffix(8)}:`,
      TCC_ATTENTION_AFTER_MS: String(ATTENTION_AFTER_MS),
      TCC_ALERT_WEBHOOK_URL: webhook.url,
      TCC_ADMIN_TOKEN: ADMIN_TOKEN,
      TCC_SCAN_INTERVAL_MS: '200',
      TCC_RETRY_BASE_MS: '150',
      TCC_RETRY_MAX_MS: '300',
      TCC_REQUEST_TIMEOUT_MS: '1000',
      TCC_LEASE_MS: '2000',
      TCC_LEADER_LEASE_MS: '1500',
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

  const adminList = async (replica: Replica, query: string): Promise<AdminItem[]> => {
    const res = await adminGet<{ items: AdminItem[]; nextCursor: string | null }>(replica.url, `/admin/v1/transactions?${query}`, ADMIN_TOKEN);
    if (res.status !== 200) throw new Error(`admin list answered ${res.status}: ${res.text}`);
    return res.body.items;
  };

  it('flags it once (list, gauge, one webhook POST) and keeps retrying it', async () => {
    const run = randomSuffix(6);
    const stuck = `attention-${run}-stuck`;
    const recovers = `attention-${run}-recovers`;
    participant!.behave('/bad/confirm', { kind: 'fail', status: 500, times: 1_000_000 });
    participant!.behave('/flaky/confirm', { kind: 'fail', status: 500, times: 2 });
    const [first, second] = replicas;

    for (const [gid, failing] of [
      [stuck, 'bad'],
      [recovers, 'flaky'],
    ] as const) {
      expect((await first.api.begin({ gid, timeoutMs: 60_000 })).status).toBe(201);
      for (const [branchId, route] of [
        ['good', 'good'],
        ['failing', failing],
      ]) {
        expect((await first.api.register(gid, { branchId, protocol: 'http', ...participant!.branch(route) })).status).toBe(201);
      }
      expect((await first.api.commit(gid, { wait: false })).status).toBe(200);
    }

    // Flagged: listed by the admin API (asked on the other replica; the token is required).
    expect((await adminGet(second.url, '/admin/v1/transactions?attention=true')).status).toBe(401);
    const flagged = await eventually(async () => (await adminList(second, 'attention=true&limit=50')).find((t) => t.gid === stuck), {
      timeoutMs: ATTENTION_AFTER_MS + 10_000,
      intervalMs: 100,
      what: `${stuck} in the admin list with attention=true`,
    });
    expect(flagged).toMatchObject({ gid: stuck, status: 'COMMITTING' });
    expect(typeof flagged.attentionAt).toBe('string');
    const [row] = await db!.query('SELECT decided_at, attention_at FROM tcc_transactions WHERE gid = ?', [stuck]);
    // Not before the configured age since the decision (database clock).
    expect(Number(row.attention_at) - Number(row.decided_at)).toBeGreaterThanOrEqual(ATTENTION_AFTER_MS);
    expect(await adminList(second, 'attention=true&limit=50')).toEqual([expect.objectContaining({ gid: stuck })]);
    // The same list filtered by status, and the detail.
    expect((await adminList(first, 'attention=true&status=COMMITTING')).map((t) => t.gid)).toEqual([stuck]);
    const detail = await adminGet<{ attentionAt: string | null; status: string }>(first.url, `/admin/v1/transactions/${stuck}`, ADMIN_TOKEN);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ status: 'COMMITTING', attentionAt: flagged.attentionAt });

    // The gauge, on both replicas (it counts what the database holds).
    for (const replica of replicas) {
      await eventually(async () => (await replica.metrics()).attention === 1, { timeoutMs: 5_000, what: `tcc_attention_transactions 1 on ${replica.name}` });
    }

    // One webhook POST with the contract's fields.
    await eventually(() => webhook!.calls.length >= 1, { timeoutMs: 10_000, what: 'the alert webhook to be called' });
    const attemptsAtFlag = (await branches(db!.query)).find((b) => b.gid === stuck && b.branchId === 'failing')!.attempts;

    // Keep watching: still retried, never flagged or alerted again.
    await sleep(3_000);
    const branchRows = await branches(db!.query);
    const failing = branchRows.find((b) => b.gid === stuck && b.branchId === 'failing')!;
    const good = branchRows.find((b) => b.gid === stuck && b.branchId === 'good')!;
    const [still] = await db!.query('SELECT status, attention_at FROM tcc_transactions WHERE gid = ?', [stuck]);

    console.log(
      `attention: ${JSON.stringify({ webhookCalls: webhook!.calls.map((c) => c.body), attemptsAtFlag, attemptsLater: failing.attempts, badConfirmCalls: participant!.callsTo('/bad/confirm').length })}`,
    );

    expect(webhook!.calls).toHaveLength(1);
    const [call] = webhook!.calls;
    expect(call.method).toBe('POST');
    expect(call.path).toBe('/alerts');
    expect(String(call.headers['content-type'])).toContain('application/json');
    const body = call.body as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['attempts', 'branchId', 'gid', 'lastError', 'reason', 'status']);
    expect(body).toMatchObject({ gid: stuck, status: 'COMMITTING', branchId: 'failing', reason: expect.stringMatching(/^COMMITTING for over \d+ ms, branch failing failed \d+ times: /) });
    expect(typeof body.lastError).toBe('string');
    expect(body.lastError).toContain('500');
    expect(typeof body.attempts).toBe('number');
    expect(body.attempts as number).toBeGreaterThanOrEqual(1);

    expect(String(still.status)).toBe('COMMITTING');
    expect(Number(still.attention_at)).toBe(Number(row.attention_at));
    expect(failing.status).toBe('REGISTERED');
    expect(failing.attempts).toBeGreaterThan(attemptsAtFlag);
    expect(failing.lastError).toContain('500');
    expect(good.status).toBe('CONFIRMED');
    expect(participant!.callsFor(stuck, 'good', 'confirm')).toHaveLength(1);
    expect(participant!.callsFor(stuck, undefined, 'cancel')).toEqual([]);
    for (const replica of replicas) expect((await replica.metrics()).attention).toBe(1);

    // The one that recovered before the threshold was never flagged.
    const [recovered] = await db!.query('SELECT status, attention_at FROM tcc_transactions WHERE gid = ?', [recovers]);
    expect({ status: String(recovered.status), attentionAt: recovered.attention_at }).toEqual({ status: 'COMMITTED', attentionAt: null });
  });
});
