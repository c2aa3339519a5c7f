/**
 * Readiness follows the database (docs/contract.md §7): /health/ready answers 503 naming the database
 * while it is stopped and 200 again once it is back, and 503 naming the migrations while they are
 * pending. The database is a private MariaDB or PostgreSQL server (TCC_TEST_DB) started for this
 * spec (never the machine's shared one), stopped and started again by its pid.
 */
import { eventually, randomSuffix } from '../support/wait';
import type { Answer } from './support/admin.client';
import { startOperateCoordinator, type OperateCoordinator } from './support/operate.coordinator';
import { PrivateDatabase } from '../replicas/support/private-database';
import { testEngine } from '../support/test.database';
import { bearer } from '../support/api-keys';

interface HealthBody {
  status: 'ok' | 'error' | 'shutting_down';
  info?: Record<string, { status: string; message?: string }>;
  error?: Record<string, { status: string; message?: string }>;
  details: Record<string, { status: string; message?: string }>;
}

const NOT_READY_WITHIN_MS = 5_000;

const ENGINE = testEngine();

describe(`readiness against a ${ENGINE} server that stops and starts`, () => {
  let db: PrivateDatabase | undefined;
  let coordinator: OperateCoordinator | undefined;

  const ready = (): Promise<Answer<HealthBody>> => coordinator!.admin.send<HealthBody>('GET', '/health/ready');
  const live = (): Promise<Answer<HealthBody>> => coordinator!.admin.send<HealthBody>('GET', '/health/live');

  beforeAll(async () => {
    db = await PrivateDatabase.start(ENGINE);
    await db.createDatabase('tcc_ready');
    coordinator = await startOperateCoordinator({
      TCC_DB_URL: db.url('tcc_ready'),
      TCC_LOG_LEVEL: 'error',
      TCC_SCAN_INTERVAL_MS: '500',
      TCC_REQUEST_TIMEOUT_MS: '500',
      TCC_LEASE_MS: '2000',
    });
  });

  afterAll(async () => {
    try {
      await coordinator?.close();
    } finally {
      await db?.dispose();
    }
  });

  it('is ready with the database up and migrations applied', async () => {
    const res = await ready();
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.details.database).toMatchObject({ status: 'up' });
    expect(res.body.details.migrations).toMatchObject({ status: 'up' });
    expect((await live()).status).toBe(200);
  });

  it('answers 503 naming the database within a few seconds of the server stopping, and 200 again after it restarts', async () => {
    const pid = db!.pid;
    await db!.stop('SIGTERM');
    expect(db!.running).toBe(false);
    expect(() => process.kill(pid!, 0)).toThrow();
    const stoppedAt = Date.now();

    const down = await eventually(
      async () => {
        const res = await ready();
        return res.status === 503 ? res : undefined;
      },
      { timeoutMs: NOT_READY_WITHIN_MS, intervalMs: 200, what: '/health/ready to answer 503 with the database stopped' },
    );
    const notReadyAfterMs = Date.now() - stoppedAt;
    expect(notReadyAfterMs).toBeLessThan(NOT_READY_WITHIN_MS);
    // It stays not ready while the database is down, and the process stays alive.
    for (let k = 0; k < 3; k++) expect((await ready()).status).toBe(503);
    expect((await live()).status).toBe(200);
    // The public API says "unavailable", not "internal error".
    const begin = await coordinator!.admin.send('POST', '/v1/transactions', { json: { gid: `down-${randomSuffix()}` }, headers: bearer() });
    expect(begin.status).toBe(503);

    await db!.startAgain();
    const startedAt = Date.now();
    const up = await eventually(
      async () => {
        const res = await ready();
        return res.status === 200 ? res : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: '/health/ready to answer 200 after the database restarted' },
    );
    expect(up.body.details.database).toMatchObject({ status: 'up' });
    expect(Date.now() - startedAt).toBeLessThan(20_000);
    const gid = `back-${randomSuffix()}`;
    expect((await coordinator!.admin.send('POST', '/v1/transactions', { json: { gid }, headers: bearer() })).status).toBe(201);
    expect((await coordinator!.admin.send('GET', `/v1/transactions/${gid}`, { headers: bearer() })).status).toBe(200);

    // Checked last, with the database back: the 503 must say what is down (terminus's body),
    // not only "Service Unavailable".
    expect(down.body).toMatchObject({ status: 'error', error: { database: { status: 'down' } } });
    expect(down.body.error?.database.message).toEqual(expect.any(String));
  });

  it('answers 503 naming the migrations while one is not applied, 200 once it is', async () => {
    // As after deploying a coordinator whose schema change has not been run yet: the newest
    // migration missing from the bookkeeping table is exactly what TypeORM checks.
    const [last] = await db!.query<{ id: number; timestamp: number; name: string }>('SELECT * FROM tcc_migrations ORDER BY id DESC LIMIT 1', [], 'tcc_ready');
    expect(last?.name).toEqual(expect.any(String));
    await db!.query('DELETE FROM tcc_migrations WHERE id = ?', [Number(last.id)], 'tcc_ready');
    try {
      const pending = await ready();
      expect(pending.status).toBe(503);
      expect(pending.body.details.database).toMatchObject({ status: 'up' });
      expect(pending.body.error?.migrations).toMatchObject({ status: 'down' });
      expect(pending.body.error?.migrations.message).toMatch(/migration/);
    } finally {
      await db!.query('INSERT INTO tcc_migrations (id, timestamp, name) VALUES (?, ?, ?)', [Number(last.id), Number(last.timestamp), last.name], 'tcc_ready');
    }
    const after = await ready();
    expect(after.status).toBe(200);
    expect(after.body.details.migrations).toMatchObject({ status: 'up' });
  });

  it('the coordinator process lived through the outage', () => {
    expect(coordinator!.process.running).toBe(true);
    expect(coordinator!.process.starts).toBe(1);
  });
});
