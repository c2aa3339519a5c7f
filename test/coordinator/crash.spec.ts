/**
 * The built coordinator as a real process on MariaDB, killed with SIGKILL after its commit and
 * rollback decisions and started again: nothing is lost, every transaction finishes (docs/contract.md §2,
 * §6). Also: `main.js migrate`, a graceful SIGTERM, and a bad setting stopping the process.
 * Needs dist/ (`npm test` builds it first).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { CoordinatorApi } from '../support/coordinator.api';
import { assertBuilt, CoordinatorProcess, runCoordinatorToExit, type Env } from '../support/coordinator.process';
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { randomSuffix, sleep } from '../support/wait';

describe('coordinator process on MariaDB: crash and restart', () => {
  let db: TestDatabase | undefined;
  let participant: ParticipantServer | undefined;
  let proc: CoordinatorProcess | undefined;
  let api: CoordinatorApi | undefined;

  beforeAll(async () => {
    assertBuilt();
    participant = await ParticipantServer.start();
    db = await createTestDatabase();
    proc = new CoordinatorProcess({
      TCC_DB_URL: db.url,
      TCC_HOST: '127.0.0.1',
      TCC_MIGRATE_ON_START: 'true',
      TCC_LOG_LEVEL: 'warn',
      TCC_LEASE_MS: '1500',
      TCC_REQUEST_TIMEOUT_MS: '500',
      TCC_SCAN_INTERVAL_MS: '100',
      TCC_RETRY_BASE_MS: '100',
      TCC_RETRY_MAX_MS: '500',
      TCC_COMMIT_WAIT_MS: '2000',
    });
    await proc.start();
    api = new CoordinatorApi(proc.url);
  });

  afterAll(async () => {
    try {
      await proc?.stop();
    } finally {
      try {
        await api?.close();
        await participant?.close();
      } finally {
        await db?.drop();
      }
    }
  });

  /** Starts the process again after a kill and points the client at its new port. */
  async function restart(): Promise<void> {
    await proc!.start();
    api!.baseUrl = proc!.url;
  }

  async function txWith(label: string, routes: string[], timeoutMs = 60_000): Promise<string> {
    const gid = `${label}-${randomSuffix()}`;
    expect((await api!.begin({ gid, timeoutMs })).status).toBe(201);
    for (const [k, route] of routes.entries()) {
      const res = await api!.register(gid, { branchId: `b${k + 1}`, protocol: 'http', ...participant!.branch(route) });
      expect(res.status).toBe(201);
    }
    return gid;
  }

  it('is alive and ready over HTTP', async () => {
    for (const path of ['/health/live', '/health/ready']) {
      const res = await request(`${proc!.url}${path}`);
      await res.body.text();
      expect({ path, status: res.statusCode }).toEqual({ path, status: 200 });
    }
  });

  it('SIGKILLed mid phase two (a confirm hanging), restarted: the commit finishes and a TRYING one past its deadline is rolled back', async () => {
    const p = participant!;
    p.behave('/mid-hang/confirm', { kind: 'hang' });
    const gid = await txWith('mid', ['mid-ok', 'mid-hang']);
    const orphan = await txWith('orphan', ['orphan'], 1_500);

    const commit = await api!.commit(gid, { wait: false });
    expect(commit.status).toBe(200);
    expect(commit.body.status).toBe('COMMITTING');
    await p.waitForCalls((c) => c.gid === gid && c.branchId === 'b2' && c.phase === 'confirm');

    const killed = await proc!.kill('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    const confirmsBefore = p.callsFor(gid, 'b2', 'confirm').length;
    p.behave('/mid-hang/confirm', { kind: 'ok' });
    await sleep(1_600); // the orphan's deadline passes while no coordinator runs

    await restart();
    const view = await api!.waitForStatus(gid, ['COMMITTED'], 20_000);
    expect(view.branches.map((b) => b.status)).toEqual(['CONFIRMED', 'CONFIRMED']);
    expect(p.callsFor(gid, 'b1', 'confirm').length).toBeGreaterThanOrEqual(1);
    expect(p.callsFor(gid, 'b2', 'confirm').length).toBeGreaterThan(confirmsBefore);
    expect(p.callsFor(gid, 'b2', 'confirm').at(-1)!.answer).toBe(200);
    expect(p.callsFor(gid, undefined, 'cancel')).toHaveLength(0);

    const rolled = await api!.waitForStatus(orphan, ['ROLLED_BACK'], 20_000);
    expect(rolled.branches[0].status).toBe('CANCELLED');
    expect(p.callsFor(orphan, 'b1', 'cancel').length).toBeGreaterThanOrEqual(1);
    expect(p.callsFor(orphan, undefined, 'confirm')).toHaveLength(0);
  });

  it('SIGKILLed right after a burst of commit and rollback decisions (wait:false), restarted: every one finishes its way', async () => {
    const p = participant!;
    p.behave('/burst/confirm', { kind: 'ok', delayMs: 150 });
    p.behave('/burst/cancel', { kind: 'ok', delayMs: 150 });
    const commits = await Promise.all(Array.from({ length: 16 }, () => txWith('burst-c', ['burst', 'burst'])));
    const rollbacks = await Promise.all(Array.from({ length: 6 }, () => txWith('burst-r', ['burst', 'burst'])));

    const answers = await Promise.all([
      ...commits.map((gid) => api!.commit(gid, { wait: false })),
      ...rollbacks.map((gid) => api!.rollback(gid, { wait: false })),
    ]);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    await proc!.kill('SIGKILL');
    await restart();

    for (const gid of commits) {
      const view = await api!.waitForStatus(gid, ['COMMITTED'], 20_000);
      expect(view.branches.map((b) => b.status)).toEqual(['CONFIRMED', 'CONFIRMED']);
      for (const branchId of ['b1', 'b2']) expect({ gid, branchId, confirmed: p.callsFor(gid, branchId, 'confirm').length > 0 }).toEqual({ gid, branchId, confirmed: true });
      expect(p.callsFor(gid, undefined, 'cancel')).toHaveLength(0);
    }
    for (const gid of rollbacks) {
      const view = await api!.waitForStatus(gid, ['ROLLED_BACK'], 20_000);
      expect(view.branches.map((b) => b.status)).toEqual(['CANCELLED', 'CANCELLED']);
      for (const branchId of ['b1', 'b2']) expect({ gid, branchId, cancelled: p.callsFor(gid, branchId, 'cancel').length > 0 }).toEqual({ gid, branchId, cancelled: true });
      expect(p.callsFor(gid, undefined, 'confirm')).toHaveLength(0);
    }
  });

  it('SIGKILLed while a cancel hangs, restarted: the rollback finishes', async () => {
    const p = participant!;
    p.behave('/rb-hang/cancel', { kind: 'hang' });
    const gid = await txWith('rb-mid', ['rb-hang']);
    const res = await api!.rollback(gid, { wait: false, reason: 'crash test' });
    expect(res.body.status).toBe('ROLLING_BACK');
    await p.waitForCalls((c) => c.gid === gid && c.phase === 'cancel');
    await proc!.kill('SIGKILL');
    p.behave('/rb-hang/cancel', { kind: 'ok' });
    await restart();
    const view = await api!.waitForStatus(gid, ['ROLLED_BACK'], 20_000);
    expect(view.branches[0].status).toBe('CANCELLED');
    expect(p.callsFor(gid, 'b1', 'cancel').at(-1)!.answer).toBe(200);
    expect(p.callsFor(gid, undefined, 'confirm')).toHaveLength(0);
  });

  it('stops on SIGTERM and keeps every decision across the restart', async () => {
    const gid = await txWith('term', ['term']);
    expect((await api!.commit(gid, {})).body.status).toBe('COMMITTED');
    const trying = await txWith('term-trying', ['term']);
    const stopped = await proc!.kill('SIGTERM', 15_000);
    expect(stopped.code === 0 || stopped.signal === 'SIGTERM').toBe(true);
    await restart();
    expect((await api!.view(gid)).status).toBe('COMMITTED');
    expect((await api!.view(trying)).status).toBe('TRYING');
    expect(participant!.callsFor(gid, 'b1', 'confirm')).toHaveLength(1);
  });
});

describe('coordinator process: migrate and configuration', () => {
  let sqliteDir: string;
  beforeAll(() => {
    assertBuilt();
    sqliteDir = mkdtempSync(join(tmpdir(), 'tcc-config-'));
  });
  afterAll(() => rmSync(sqliteDir, { recursive: true, force: true }));

  it('`main.js migrate` applies the schema to TCC_DB_URL, exits 0, and is idempotent', async () => {
    const db = await createTestDatabase();
    try {
      const first = await runCoordinatorToExit(['migrate'], { TCC_DB_URL: db.url, TCC_LOG_LEVEL: 'warn' });
      expect({ code: first.code, timedOut: first.timedOut, stderr: first.stderr }).toMatchObject({ code: 0, timedOut: false });
      const tables = await db.tables();
      expect(tables).toEqual(expect.arrayContaining(['tcc_transactions', 'tcc_branches', 'tcc_migrations']));
      const second = await runCoordinatorToExit(['migrate'], { TCC_DB_URL: db.url, TCC_LOG_LEVEL: 'warn' });
      expect({ code: second.code, stderr: second.stderr }).toMatchObject({ code: 0 });
      expect((await db.tables()).sort()).toEqual([...tables].sort());
    } finally {
      await db.drop();
    }
  });

  const bad: Array<[string, Env]> = [
    ['TCC_HTTP_PORT', { TCC_HTTP_PORT: 'abc' }],
    ['TCC_HTTP_PORT', { TCC_HTTP_PORT: '70000' }],
    ['TCC_REQUEST_TIMEOUT_MS', { TCC_REQUEST_TIMEOUT_MS: 'soon' }],
    ['TCC_LEASE_MS', { TCC_LEASE_MS: '1000', TCC_REQUEST_TIMEOUT_MS: '800' }],
    ['TCC_RETRY_BASE_MS', { TCC_RETRY_BASE_MS: '-5' }],
    ['TCC_DB_URL', { TCC_DB_URL: 'oracle://root@127.0.0.1:1521/tcc' }],
    ['TCC_MIGRATE_ON_START', { TCC_MIGRATE_ON_START: 'maybe' }],
    ['TCC_LOG_LEVEL', { TCC_LOG_LEVEL: 'loud' }],
  ];
  it.each(bad)('a bad %s stops the process with a non-zero exit naming the variable', async (name, env) => {
    const result = await runCoordinatorToExit([], {
      TCC_SQLITE_PATH: join(sqliteDir, `${randomSuffix()}.sqlite`),
      TCC_HTTP_PORT: '0',
      TCC_GRPC_PORT: '0',
      TCC_HOST: '127.0.0.1',
      ...env,
    }, 20_000);
    expect({ timedOut: result.timedOut, failed: result.code !== 0 && result.code !== null }).toEqual({ timedOut: false, failed: true });
    expect(result.stderr).toContain(name);
    expect(result.stdout).not.toMatch(/listening on/);
  });
});
