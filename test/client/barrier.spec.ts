/**
 * The barrier of docs/contract.md §5, through the account service's real HTTP participant endpoints on
 * MariaDB (REPEATABLE READ) and PostgreSQL (READ COMMITTED), and more briefly on the embedded
 * SQLite file: idempotency, empty rollback, no hanging, a confirm with no try (not tried), concurrent
 * try and cancel, and the bounded cleanup. A participant on a database the barrier does not speak
 * stops at start-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource, QueryFailedError } from 'typeorm';
import { BARRIER_TABLE, BRANCH_NOT_TRIED, execute, runInLocalTransaction, runRead, select, TCC_HEADERS } from '@tcc/client';
import { localTransactionStats } from '@tcc/client/testing';
import { BarrierCleanup } from '@tcc/client/barrier/barrier-cleanup.job';
import { typeormDatabase } from '@tcc/client/barrier/adapters/typeorm.adapter';
import type { BranchPhase } from '@tcc/client';
import type { RunningAccountService } from '../../apps/account-service/src/bootstrap';
import { createDatabase, randomId, type Engine, type TestDatabase } from './support/databases';
import { Answer, Http } from './support/http';
import { startAccountService } from './support/services';

interface Account {
  id: string;
  balance: number;
  frozen: number;
  available: number;
  /** Loyalty points: none here, where no order is ever paid. */
  points: number;
}

function barrierClient(http: Http, service: () => RunningAccountService) {
  return {
    call(phase: BranchPhase, gid: string, branchId: string, payload: unknown = null): Promise<Answer> {
      return http.post(
        `${service().url}/tcc/account-freeze/${phase}`,
        { gid, branchId, phase, payload },
        { [TCC_HEADERS.gid]: gid, [TCC_HEADERS.branchId]: branchId, [TCC_HEADERS.phase]: phase },
      );
    },
    async open(balance: number): Promise<string> {
      const id = `acct-${randomId(8)}`;
      const answer = await http.post(`${service().url}/accounts`, { id, balance });
      expect(answer.status).toBe(201);
      return id;
    },
    async account(id: string): Promise<Account> {
      const answer = await http.get<Account>(`${service().url}/accounts/${id}`);
      expect(answer.status).toBe(200);
      return answer.body;
    },
  };
}

const gid = (): string => `g-${randomId(12)}`;

type Inspect = Pick<TestDatabase, 'query' | 'drop'>;

/** The embedded file, inspected through the service's own DataSource (under its SQLite queue). */
function sqliteInspect(service: () => RunningAccountService, dir: string): Inspect {
  return {
    query: (sql, params = []) => runRead(service().app.get(DataSource), (manager) => manager.query(sql, params)),
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

describe.each(['mariadb', 'postgres', 'sqlite'] as Array<Engine | 'sqlite'>)('barrier on %s (account-freeze participant over HTTP)', (engine) => {
  let db: Inspect;
  let service: RunningAccountService;
  const http = new Http();
  const client = barrierClient(http, () => service);

  beforeAll(async () => {
    if (engine === 'sqlite') {
      const dir = mkdtempSync(join(tmpdir(), 'tcc-client-'));
      db = sqliteInspect(() => service, dir);
      service = await startAccountService({ ACCOUNT_SQLITE_PATH: join(dir, 'account.sqlite') });
    } else {
      const created = await createDatabase('barrier', engine);
      db = created;
      service = await startAccountService({ ACCOUNT_DB_URL: created.url, ACCOUNT_MIGRATE_ON_START: 'true' });
    }
  });

  afterAll(async () => {
    await service?.close();
    await http.close();
    await db?.drop();
  });

  it('runs a repeated try, confirm and cancel once and answers each repeat with success', async () => {
    const account = await client.open(1000);
    const paid = gid();
    const tries = await Promise.all([1, 2, 3].map(() => client.call('try', paid, 'freeze', { accountId: account, amount: 300 })));
    expect(tries.map((t) => t.status)).toEqual([200, 200, 200]);
    expect(tries.map((t) => t.body.outcome).sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    expect((await client.call('try', paid, 'freeze', { accountId: account, amount: 300 })).body.outcome).toBe('duplicate');
    expect(await client.account(account)).toEqual({ id: account, balance: 1000, frozen: 300, available: 700, points: 0 });

    const confirms = await Promise.all([1, 2, 3].map(() => client.call('confirm', paid, 'freeze')));
    expect(confirms.map((c) => c.status)).toEqual([200, 200, 200]);
    expect(confirms.map((c) => c.body.outcome).sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    expect(await client.account(account)).toEqual({ id: account, balance: 700, frozen: 0, available: 700, points: 0 });

    const released = gid();
    expect((await client.call('try', released, 'freeze', { accountId: account, amount: 200 })).status).toBe(200);
    const cancels = await Promise.all([1, 2, 3].map(() => client.call('cancel', released, 'freeze')));
    expect(cancels.map((c) => c.status)).toEqual([200, 200, 200]);
    expect(cancels.map((c) => c.body.outcome).sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    expect((await client.call('cancel', released, 'freeze')).body.outcome).toBe('duplicate');
    expect(await client.account(account)).toEqual({ id: account, balance: 700, frozen: 0, available: 700, points: 0 });
  });

  it('records a cancel with no try before it as an empty rollback and leaves balances untouched', async () => {
    const account = await client.open(500);
    expect((await client.call('try', gid(), 'freeze', { accountId: account, amount: 100 })).status).toBe(200);
    const before = await client.account(account);
    const orphan = gid();
    const cancel = await client.call('cancel', orphan, 'freeze', { accountId: account, amount: 100 });
    expect(cancel.status).toBe(200);
    expect(cancel.body.outcome).toBe('empty-rollback');
    expect(await client.account(account)).toEqual(before);
    const rows = await db.query(`SELECT phase, reason FROM ${BARRIER_TABLE} WHERE gid = ? ORDER BY phase`, [orphan]);
    expect(rows.map((r) => `${r.phase}:${r.reason}`)).toEqual(['cancel:cancel', 'try:cancel']);
    expect(await db.query('SELECT * FROM account_freezes WHERE gid = ?', [orphan])).toHaveLength(0);
  });

  it('refuses a try that arrives after its cancel, freezing nothing', async () => {
    const account = await client.open(500);
    const late = gid();
    expect((await client.call('cancel', late, 'freeze')).body.outcome).toBe('empty-rollback');
    const attempt = await client.call('try', late, 'freeze', { accountId: account, amount: 100 });
    expect(attempt.status).toBe(409);
    expect(attempt.body.error).toBe('BRANCH_CANCELLED');
    expect((await client.call('try', late, 'freeze', { accountId: account, amount: 100 })).status).toBe(409);
    expect(await client.account(account)).toEqual({ id: account, balance: 500, frozen: 0, available: 500, points: 0 });
    expect(await db.query('SELECT * FROM account_freezes WHERE gid = ?', [late])).toHaveLength(0);
  });

  it('answers a confirm with no try before it 409 BRANCH_NOT_TRIED, running nothing and keeping no row, so it can be sent again', async () => {
    const account = await client.open(500);
    const early = gid();
    const payload = { accountId: account, amount: 100 };
    for (let i = 0; i < 2; i++) {
      const confirm = await client.call('confirm', early, 'freeze', payload);
      expect(confirm.status).toBe(409);
      expect(confirm.body).toMatchObject({ statusCode: 409, error: BRANCH_NOT_TRIED });
      expect(await db.query(`SELECT phase FROM ${BARRIER_TABLE} WHERE gid = ?`, [early])).toHaveLength(0);
    }
    expect(await client.account(account)).toEqual({ id: account, balance: 500, frozen: 0, available: 500, points: 0 });
    expect(await db.query('SELECT * FROM account_freezes WHERE gid = ?', [early])).toHaveLength(0);
    // The try arrives late; the confirm sent again applies once, then repeats are duplicates.
    expect((await client.call('try', early, 'freeze', payload)).body.outcome).toBe('applied');
    expect((await client.call('confirm', early, 'freeze', payload)).body).toMatchObject({ outcome: 'applied' });
    const again = await client.call('confirm', early, 'freeze', payload);
    expect([again.status, again.body.outcome]).toEqual([200, 'duplicate']);
    expect(await client.account(account)).toEqual({ id: account, balance: 400, frozen: 0, available: 400, points: 0 });
  });

  it('answers a confirm after a cancel that was an empty rollback 409 BRANCH_NOT_TRIED, keeping only the cancel rows', async () => {
    const account = await client.open(500);
    const cancelled = gid();
    expect((await client.call('cancel', cancelled, 'freeze')).body.outcome).toBe('empty-rollback');
    const confirm = await client.call('confirm', cancelled, 'freeze', { accountId: account, amount: 100 });
    expect(confirm.status).toBe(409);
    expect(confirm.body.error).toBe(BRANCH_NOT_TRIED);
    const rows = await db.query(`SELECT phase, reason FROM ${BARRIER_TABLE} WHERE gid = ? ORDER BY phase`, [cancelled]);
    expect(rows.map((r) => `${r.phase}:${r.reason}`)).toEqual(['cancel:cancel', 'try:cancel']);
    expect(await client.account(account)).toEqual({ id: account, balance: 500, frozen: 0, available: 500, points: 0 });
  });

  it('serialises a concurrent try and cancel of one branch, 100 times: one consistent outcome each, no deadlock', async () => {
    const account = await client.open(1_000_000);
    const deadlocksBefore = localTransactionStats.deadlockRetries;
    const outcomes = { tryWon: 0, cancelWon: 0 };
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const id = gid();
          const payload = { accountId: account, amount: 1 + ((batch * 10 + i) % 7) };
          const tryFirst = Math.random() < 0.5;
          const [tried, cancelled] = tryFirst
            ? await Promise.all([client.call('try', id, 'freeze', payload), client.call('cancel', id, 'freeze', payload)])
            : await Promise.all([client.call('cancel', id, 'freeze', payload), client.call('try', id, 'freeze', payload)]).then(
                ([c, t]) => [t, c] as const,
              );
          expect(cancelled.status).toBe(200);
          if (tried.status === 200) {
            // The try ran first: the cancel released exactly what it froze.
            expect(tried.body.outcome).toBe('applied');
            expect(cancelled.body.outcome).toBe('applied');
            const [freeze] = await db.query('SELECT amount, status FROM account_freezes WHERE gid = ?', [id]);
            expect(freeze).toMatchObject({ status: 'RELEASED' });
            expect(Number(freeze.amount)).toBe(payload.amount);
            outcomes.tryWon++;
          } else {
            // The cancel ran first: empty rollback, and the try that came after it is refused.
            expect(tried.status).toBe(409);
            expect(tried.body.error).toBe('BRANCH_CANCELLED');
            expect(cancelled.body.outcome).toBe('empty-rollback');
            expect(await db.query('SELECT * FROM account_freezes WHERE gid = ?', [id])).toHaveLength(0);
            outcomes.cancelWon++;
          }
        }),
      );
    }
    expect(outcomes.tryWon + outcomes.cancelWon).toBe(100);
    expect(localTransactionStats.deadlockRetries - deadlocksBefore).toBe(0);
    expect(await client.account(account)).toEqual({ id: account, balance: 1_000_000, frozen: 0, available: 1_000_000, points: 0 });
  });

  it('stays consistent when tries and cancels of one branch are duplicated and race each other', async () => {
    const account = await client.open(1_000_000);
    const deadlocksBefore = localTransactionStats.deadlockRetries;
    await Promise.all(
      Array.from({ length: 30 }, async () => {
        const id = gid();
        const payload = { accountId: account, amount: 10 };
        const answers = await Promise.all(
          (['try', 'cancel', 'try', 'cancel'] as const).map((phase) => client.call(phase, id, 'freeze', payload).then((a) => ({ phase, ...a }))),
        );
        const cancels = answers.filter((a) => a.phase === 'cancel');
        const tries = answers.filter((a) => a.phase === 'try');
        expect(cancels.map((c) => c.status)).toEqual([200, 200]);
        const cancelOutcomes = cancels.map((c) => String(c.body.outcome)).sort();
        if (cancelOutcomes[0] === 'applied') {
          // A try ran, then one cancel released it; the other copies are duplicates.
          expect(cancelOutcomes).toEqual(['applied', 'duplicate']);
          expect(tries.map((t) => `${t.status}:${String(t.body.outcome)}`).sort()).toEqual(['200:applied', '200:duplicate']);
        } else {
          // The cancel came first: no try may run after it.
          expect(cancelOutcomes).toEqual(['duplicate', 'empty-rollback']);
          expect(tries.map((t) => t.status)).toEqual([409, 409]);
        }
      }),
    );
    expect(localTransactionStats.deadlockRetries - deadlocksBefore).toBe(0);
    expect(await client.account(account)).toEqual({ id: account, balance: 1_000_000, frozen: 0, available: 1_000_000, points: 0 });
  });

  it('confirms with the amount the try recorded, never one sent with the confirm', async () => {
    const account = await client.open(1000);
    const id = gid();
    expect((await client.call('try', id, 'freeze', { accountId: account, amount: 100 })).status).toBe(200);
    expect((await client.call('confirm', id, 'freeze', { accountId: account, amount: 999 })).status).toBe(200);
    expect(await client.account(account)).toEqual({ id: account, balance: 900, frozen: 0, available: 900, points: 0 });
  });

  it('refuses a try for insufficient funds (409), unknown accounts (404) and bad amounts (400), holding nothing', async () => {
    const account = await client.open(100);
    const poor = await client.call('try', gid(), 'freeze', { accountId: account, amount: 101 });
    expect(poor.status).toBe(409);
    expect(poor.body.error).toBe('INSUFFICIENT_FUNDS');
    const unknown = await client.call('try', gid(), 'freeze', { accountId: 'nobody-here', amount: 1 });
    expect(unknown.status).toBe(404);
    for (const amount of [0, -5, 1.5, '10', 1_000_000_000_001, null]) {
      const bad = await client.call('try', gid(), 'freeze', { accountId: account, amount });
      expect(bad.status).toBe(400);
    }
    expect(await client.account(account)).toEqual({ id: account, balance: 100, frozen: 0, available: 100, points: 0 });
    // A refused try leaves no barrier row, so its cancel is an empty rollback.
    const refused = gid();
    expect((await client.call('try', refused, 'freeze', { accountId: account, amount: 500 })).status).toBe(409);
    expect((await client.call('cancel', refused, 'freeze')).body.outcome).toBe('empty-rollback');
    expect(await client.account(account)).toEqual({ id: account, balance: 100, frozen: 0, available: 100, points: 0 });
  });

  it('answers 400 naming the fields of a malformed call and 404 for an unknown participant or phase', async () => {
    const bad = await http.post(`${service.url}/tcc/account-freeze/try`, { gid: 'bad gid!', branchId: '', phase: 'try' });
    expect(bad.status).toBe(400);
    expect(bad.body.fields).toEqual(['gid', 'branchId']);
    const mismatch = await http.post(`${service.url}/tcc/account-freeze/try`, { gid: 'g', branchId: 'b', phase: 'cancel' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.fields).toEqual(['phase']);
    const headers = await http.post(`${service.url}/tcc/account-freeze/try`, { gid: 'g', branchId: 'b', phase: 'try' }, { [TCC_HEADERS.gid]: 'other' });
    expect(headers.status).toBe(400);
    expect((await http.post(`${service.url}/tcc/nobody/try`, { gid: 'g', branchId: 'b', phase: 'try' })).status).toBe(404);
    expect((await http.post(`${service.url}/tcc/account-freeze/commit`, { gid: 'g', branchId: 'b' })).status).toBe(404);
    expect((await http.post(`${service.url}/tcc/account-freeze/try`, [1, 2])).status).toBe(400);
  });

  it('sends hand-written statements in a local transaction as prepared statements on its own connection', async () => {
    if (engine === 'sqlite') return; // better-sqlite3 has no protocol to prepare over
    const dataSource = service.app.get(DataSource);
    const seen = await runInLocalTransaction(dataSource, async (manager) => {
      // Through TypeORM (text protocol): the session's own view of what it has prepared.
      const executions = async (): Promise<number> =>
        Number((await manager.query("SHOW SESSION STATUS LIKE 'Com_stmt_execute'"))[0].Value);
      const before = engine === 'mariadb' ? await executions() : 0;
      const rows = await select<{ n: number }>(manager, 'SELECT COUNT(*) AS n FROM accounts WHERE id <> ?', ['nobody']);
      const prepared =
        engine === 'mariadb'
          ? (await executions()) - before
          : (await manager.query("SELECT statement FROM pg_prepared_statements WHERE name LIKE 'tcc\\_%' AND statement LIKE 'SELECT COUNT(*) AS n FROM accounts%'")).length;
      return { rows: rows.length, prepared };
    });
    expect(seen).toEqual({ rows: 1, prepared: 1 });
  });

  it('keeps reading `*` after a migration adds a column, and reports driver errors as QueryFailedError', async () => {
    if (engine === 'sqlite') return;
    const dataSource = service.app.get(DataSource);
    const table = `scratch_${randomId(6)}`;
    await db.query(`CREATE TABLE ${table} (id VARCHAR(32) PRIMARY KEY, n INT NOT NULL)`);
    try {
      await runInLocalTransaction(dataSource, (manager) => execute(manager, `INSERT INTO ${table} (id, n) VALUES (?, ?)`, ['a', 1]));
      const readAll = (): Promise<Array<Array<Record<string, unknown>>>> =>
        Promise.all(Array.from({ length: 8 }, () => runInLocalTransaction(dataSource, (manager) => select<Record<string, unknown>>(manager, `SELECT * FROM ${table} WHERE id <> ?`, ['x']))));
      expect((await readAll()).map((rows) => rows.map((r) => `${r.id}:${r.n}`))).toEqual(Array(8).fill(['a:1']));
      await db.query(`ALTER TABLE ${table} ADD COLUMN extra INT NULL`);
      expect((await readAll()).map((rows) => rows.map((r) => `${r.id}:${r.n}:${r.extra}`))).toEqual(Array(8).fill(['a:1:null']));
      const duplicate = await runInLocalTransaction(dataSource, (manager) => execute(manager, `INSERT INTO ${table} (id, n) VALUES (?, ?)`, ['a', 2])).catch((e: unknown) => e);
      expect(duplicate).toBeInstanceOf(QueryFailedError);
      expect((duplicate as QueryFailedError).driverError).toBeDefined();
    } finally {
      await db.query(`DROP TABLE ${table}`);
    }
  });

  it('removes barrier rows past their retention, a bounded number per run', async () => {
    const dataSource = service.app.get(DataSource);
    await db.query(`DELETE FROM ${BARRIER_TABLE}`);
    const old = Date.now() - 10 * 24 * 60 * 60 * 1000;
    for (let i = 0; i < 25; i++) {
      await db.query(`INSERT INTO ${BARRIER_TABLE} (gid, branch_id, phase, reason, created_at) VALUES (?, 'b', 'try', 'try', ?)`, [`old-${i}`, old + i]);
    }
    await db.query(`INSERT INTO ${BARRIER_TABLE} (gid, branch_id, phase, reason, created_at) VALUES ('fresh', 'b', 'try', 'try', ?)`, [Date.now()]);
    const cleanup = new BarrierCleanup(typeormDatabase(dataSource), { retentionMs: 24 * 60 * 60 * 1000, intervalMs: 0, batchSize: 5, maxBatches: 2 }, (e: unknown) => {
      throw e;
    });
    expect(await cleanup.runOnce()).toBe(10);
    expect(await cleanup.runOnce()).toBe(10);
    expect(await cleanup.runOnce()).toBe(5);
    expect(await cleanup.runOnce()).toBe(0);
    const left = await db.query(`SELECT gid FROM ${BARRIER_TABLE}`);
    expect(left.map((r) => r.gid)).toEqual(['fresh']);
  });
});
