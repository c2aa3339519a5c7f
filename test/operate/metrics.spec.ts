/**
 * GET /metrics (docs/contract.md §7, README "Admin API and metrics") from the built coordinator on
 * MariaDB: every documented metric is exposed, and the numbers move as they should after a
 * commit, a rollback, and a confirm that keeps failing (retries counted, the transaction open in
 * COMMITTING, flagged for attention) until an operator resolves it.
 */
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { eventually, randomSuffix, closeAll } from '../support/wait';
import { Scrape } from './support/metrics.text';
import { newAdminToken, startOperateCoordinator, type OperateCoordinator } from './support/operate.coordinator';

const ATTENTION_AFTER_MS = 2_000;
const HOUR = 3_600_000;

describe('metrics on MariaDB', () => {
  let database: TestDatabase | undefined;
  let coordinator: OperateCoordinator | undefined;
  let participant: ParticipantServer | undefined;

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    database = await createTestDatabase();
    coordinator = await startOperateCoordinator({
      TCC_DB_URL: database.url,
      TCC_ADMIN_TOKEN: newAdminToken(),
      TCC_REQUEST_TIMEOUT_MS: '300',
      TCC_LEASE_MS: '1000',
      TCC_RETRY_BASE_MS: '100',
      TCC_RETRY_MAX_MS: '200',
      TCC_SCAN_INTERVAL_MS: '100',
      TCC_ATTENTION_AFTER_MS: String(ATTENTION_AFTER_MS),
      TCC_COMMIT_WAIT_MS: '5000',
    });
  });

  afterAll(async () => {
    await closeAll(
      () => coordinator?.close(),
      () => participant?.close(),
      () => database?.drop(),
    );
  });

  async function scrape(): Promise<Scrape> {
    const res = await coordinator!.admin.as(undefined).send('GET', '/metrics');
    expect(res.status).toBe(200);
    return new Scrape(res.text);
  }

  async function begin(label: string, routes: string[]): Promise<string> {
    const gid = `${label}-${randomSuffix(10)}`;
    expect((await coordinator!.api.begin({ gid, timeoutMs: HOUR })).status).toBe(201);
    for (const [k, route] of routes.entries()) {
      expect((await coordinator!.api.register(gid, { branchId: `b${k + 1}`, participant: route, protocol: 'http', ...participant!.branch(route) })).status).toBe(201);
    }
    return gid;
  }

  const confirm = (outcome: 'success' | 'failure'): Record<string, string> => ({ phase: 'confirm', outcome });
  const cancel = (outcome: 'success' | 'failure'): Record<string, string> => ({ phase: 'cancel', outcome });

  it('exposes every documented metric as Prometheus text, without the admin token', async () => {
    const res = await coordinator!.admin.as(undefined).send('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = new Scrape(res.text);
    const types: Record<string, string> = {
      tcc_transactions_total: 'counter',
      tcc_phase_two_calls_total: 'counter',
      tcc_phase_two_call_duration_seconds: 'histogram',
      tcc_open_transactions: 'gauge',
      tcc_oldest_open_transaction_age_seconds: 'gauge',
      tcc_attention_transactions: 'gauge',
      tcc_attention_alerts_total: 'counter',
      tcc_recovery_scans_total: 'counter',
      tcc_recovery_claims_total: 'counter',
      tcc_redis_up: 'gauge',
      tcc_scan_leader: 'gauge',
    };
    for (const [name, type] of Object.entries(types)) expect({ name, type: m.type(name) }).toEqual({ name, type });
    for (const sample of m.samples) expect(sample.name).toMatch(/^tcc_/);
    expect(m.samples.some((s) => s.name.startsWith('tcc_process_'))).toBe(true);
    // Nothing is open in a fresh database; without Redis this replica scans on its own.
    for (const status of ['TRYING', 'COMMITTING', 'ROLLING_BACK']) expect(m.find('tcc_open_transactions', { mode: 'tcc', status })).toBe(0);
    for (const status of ['COMMITTING', 'ROLLING_BACK']) expect(m.find('tcc_open_transactions', { mode: 'saga', status })).toBe(0);
    for (const status of ['PREPARED', 'COMMITTING']) expect(m.find('tcc_open_transactions', { mode: 'message', status })).toBe(0);
    expect(m.find('tcc_oldest_open_transaction_age_seconds')).toBe(0);
    expect(m.find('tcc_attention_transactions')).toBe(0);
    expect(m.find('tcc_redis_up')).toBe(0);
    expect(m.find('tcc_scan_leader')).toBe(1);
    // The scheduler scans on its own (every 100 ms here).
    const scans = m.value('tcc_recovery_scans_total');
    await eventually(async () => (await scrape()).value('tcc_recovery_scans_total') >= scans + 3, { timeoutMs: 5_000, what: 'three more recovery scans' });
  });

  it('a commit: committed outcome +1, two successful confirms counted and timed; an open TRYING shows until then', async () => {
    const before = await scrape();
    const gid = await begin('commit', ['ok-a', 'ok-b']);
    const open = await scrape();
    expect(open.value('tcc_open_transactions', { mode: 'tcc', status: 'TRYING' })).toBe(before.value('tcc_open_transactions', { mode: 'tcc', status: 'TRYING' }) + 1);
    expect(open.value('tcc_oldest_open_transaction_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(open.value('tcc_oldest_open_transaction_age_seconds')).toBeLessThan(60);

    expect((await coordinator!.api.commit(gid, { wait: true })).body.status).toBe('COMMITTED');
    const after = await scrape();
    expect(after.value('tcc_transactions_total', { outcome: 'committed' })).toBe(before.value('tcc_transactions_total', { outcome: 'committed' }) + 1);
    expect(after.value('tcc_transactions_total', { outcome: 'rolled_back' })).toBe(before.value('tcc_transactions_total', { outcome: 'rolled_back' }));
    expect(after.value('tcc_phase_two_calls_total', confirm('success'))).toBe(before.value('tcc_phase_two_calls_total', confirm('success')) + 2);
    expect(after.value('tcc_phase_two_calls_total', confirm('failure'))).toBe(before.value('tcc_phase_two_calls_total', confirm('failure')));
    const count = 'tcc_phase_two_call_duration_seconds_count';
    expect(after.value(count, confirm('success'))).toBe(before.value(count, confirm('success')) + 2);
    expect(after.value('tcc_phase_two_call_duration_seconds_sum', confirm('success'))).toBeGreaterThan(before.value('tcc_phase_two_call_duration_seconds_sum', confirm('success')));
    // Buckets are cumulative and end at +Inf with the count.
    const buckets = after.samples.filter((s) => s.name === 'tcc_phase_two_call_duration_seconds_bucket' && s.labels.phase === 'confirm' && s.labels.outcome === 'success');
    expect(buckets.length).toBeGreaterThan(3);
    for (let k = 1; k < buckets.length; k++) expect(buckets[k].value).toBeGreaterThanOrEqual(buckets[k - 1].value);
    expect(buckets[buckets.length - 1]).toMatchObject({ labels: expect.objectContaining({ le: '+Inf' }), value: after.value(count, confirm('success')) });
    expect(after.value('tcc_open_transactions', { mode: 'tcc', status: 'TRYING' })).toBe(before.value('tcc_open_transactions', { mode: 'tcc', status: 'TRYING' }));
  });

  it('a rollback: rolled_back outcome +1, one successful cancel', async () => {
    const before = await scrape();
    const gid = await begin('rollback', ['ok-a']);
    expect((await coordinator!.api.rollback(gid, { wait: true })).body.status).toBe('ROLLED_BACK');
    const after = await scrape();
    expect(after.value('tcc_transactions_total', { outcome: 'rolled_back' })).toBe(before.value('tcc_transactions_total', { outcome: 'rolled_back' }) + 1);
    expect(after.value('tcc_phase_two_calls_total', cancel('success'))).toBe(before.value('tcc_phase_two_calls_total', cancel('success')) + 1);
    expect(after.value('tcc_transactions_total', { outcome: 'committed' })).toBe(before.value('tcc_transactions_total', { outcome: 'committed' }));
  });

  it('a confirm that keeps failing: failures counted as they are retried, one open COMMITTING, flagged for attention; resolving it clears both', async () => {
    participant!.behave('/broken/confirm', { kind: 'fail', status: 500, times: 1_000_000 });
    const before = await scrape();
    const failures = (m: Scrape): number => m.value('tcc_phase_two_calls_total', confirm('failure'));
    const gid = await begin('failing', ['broken']);
    const committedAt = Date.now();
    expect((await coordinator!.api.commit(gid, { wait: false })).body.status).toBe('COMMITTING');

    const early = await eventually(async () => {
      const m = await scrape();
      return failures(m) >= failures(before) + 1 ? m : undefined;
    }, { timeoutMs: 5_000, what: 'the first failed confirm to be counted' });
    expect(early.value('tcc_open_transactions', { mode: 'tcc', status: 'COMMITTING' })).toBe(1);
    // Not flagged yet, unless this machine took longer than the attention delay to get here.
    if (Date.now() - committedAt < ATTENTION_AFTER_MS - 500) expect(early.value('tcc_attention_transactions')).toBe(0);

    // Retried with backoff (100-200 ms), each failure counted and timed.
    const later = await eventually(async () => {
      const m = await scrape();
      return failures(m) >= failures(early) + 3 ? m : undefined;
    }, { timeoutMs: 10_000, what: 'three more failed confirms' });
    expect(later.value('tcc_phase_two_call_duration_seconds_count', confirm('failure'))).toBe(failures(later) - failures(before) + before.value('tcc_phase_two_call_duration_seconds_count', confirm('failure')));
    expect(later.value('tcc_recovery_claims_total', { kind: 'retry' })).toBeGreaterThan(before.value('tcc_recovery_claims_total', { kind: 'retry' }));
    expect(later.value('tcc_open_transactions', { mode: 'tcc', status: 'COMMITTING' })).toBe(1);
    expect(later.value('tcc_transactions_total', { outcome: 'committed' })).toBe(before.value('tcc_transactions_total', { outcome: 'committed' }));
    expect(participant!.callsFor(gid, 'b1', 'confirm').length).toBeGreaterThanOrEqual(4);

    // The flag is written before the alert counter moves: wait for both, then check the counter moved once.
    const flagged = await eventually(async () => {
      const m = await scrape();
      return m.value('tcc_attention_transactions') === 1 && m.value('tcc_attention_alerts_total') > before.value('tcc_attention_alerts_total') ? m : undefined;
    }, { timeoutMs: ATTENTION_AFTER_MS + 5_000, what: 'the attention gauge to reach 1 and the alert to be counted' });
    expect(Date.now() - committedAt).toBeGreaterThanOrEqual(ATTENTION_AFTER_MS);
    expect(flagged.value('tcc_attention_alerts_total')).toBe(before.value('tcc_attention_alerts_total') + 1);
    expect(flagged.value('tcc_open_transactions', { mode: 'tcc', status: 'COMMITTING' })).toBe(1);
    expect(flagged.value('tcc_oldest_open_transaction_age_seconds')).toBeGreaterThanOrEqual(ATTENTION_AFTER_MS / 1000);

    // An operator counts the branch as confirmed: nothing is open or flagged any more, and the
    // transaction counts as committed like any other that finished on this replica.
    const resolved = await coordinator!.admin.resolve(gid, 'b1', { reason: 'booked by hand' });
    expect(resolved.body).toEqual({ gid, status: 'COMMITTED' });
    const after = await scrape();
    expect(after.value('tcc_open_transactions', { mode: 'tcc', status: 'COMMITTING' })).toBe(0);
    expect(after.value('tcc_attention_transactions')).toBe(0);
    expect(after.value('tcc_oldest_open_transaction_age_seconds')).toBe(0);
    const calls = participant!.callsFor(gid, 'b1', 'confirm').length;
    const settledFailures = failures(await scrape());
    await new Promise((r) => setTimeout(r, 600));
    expect(participant!.callsFor(gid, 'b1', 'confirm').length).toBeLessThanOrEqual(calls + 1);
    expect(failures(await scrape())).toBeLessThanOrEqual(settledFailures + 1);
    expect(after.value('tcc_transactions_total', { outcome: 'committed' })).toBe(before.value('tcc_transactions_total', { outcome: 'committed' }) + 1);
  });
});
