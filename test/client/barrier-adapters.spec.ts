/**
 * The barrier of docs/contract.md §5 through every barrier adapter (TypeORM, Drizzle, Kysely, plain
 * pg, plain mysql2) on MariaDB and PostgreSQL, and on SQLite for the ORMs that speak it: a Nest app
 * with one decorated participant served over HTTP, whose methods write an `effects` row through the
 * handle their adapter gives them (EntityManager, Drizzle tx, Kysely Transaction, PoolClient,
 * PoolConnection). Then the start-up check: a missing barrier table stops start-up naming the fix; an
 * unreachable database only warns.
 */
import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createPool as createMysqlPool } from 'mysql2/promise';
import { Pool } from 'pg';
import {
  BARRIER_TABLE,
  BarrierCleanupService,
  BarrierTableMissingError,
  BRANCH_NOT_TRIED,
  TCC_HEADERS,
  TccCancel,
  TccConfirm,
  TccParticipant,
  TccTry,
  barrierMigrationSql,
  mysql2Barrier,
  pgBarrier,
  type BranchCall,
  type BranchPhase,
} from '@tcc/client';
import { localTransactionStats } from '@tcc/client/testing';
import { requirePeer } from '@tcc/client/barrier/adapters/peer';
import { randomId } from './support/databases';
import { ADAPTER_CASES, ADAPTERS, EFFECTS, createStore, mysqlWrite, pgWrite, startAdapterApp, type TestStore, type Wiring, type Write } from './support/adapter-wiring';
import { Http, type Answer } from './support/http';
import { TEST_SERVERS } from '../support/test.database';
import { closeAll } from '../support/wait';

const PG = TEST_SERVERS.postgres;
const MARIADB = TEST_SERVERS.mariadb;

/** The participant under test: each method records its phase through the adapter's handle; `fail` throws after writing. */
function participantOf(write: Write) {
  @TccParticipant('effects')
  @Injectable()
  class EffectsParticipant {
    private async record(call: BranchCall, tx: unknown): Promise<{ wrote: string }> {
      await write(tx, call.gid, call.phase);
      if ((call.payload as { fail?: boolean } | null)?.fail) throw new Error(`failing ${call.phase} on purpose, after its write`);
      return { wrote: call.phase };
    }

    @TccTry()
    reserve(call: BranchCall, tx: unknown): Promise<{ wrote: string }> {
      return this.record(call, tx);
    }

    @TccConfirm()
    settle(call: BranchCall, tx: unknown): Promise<{ wrote: string }> {
      return this.record(call, tx);
    }

    @TccCancel()
    release(call: BranchCall, tx: unknown): Promise<{ wrote: string }> {
      return this.record(call, tx);
    }
  }
  return EffectsParticipant;
}

function startApp(wiring: Wiring, extra: Record<string, unknown> = {}): Promise<NestFastifyApplication> {
  return startAdapterApp(wiring, [participantOf(wiring.write)], extra);
}

const CASES = ADAPTER_CASES;
const gid = (): string => `g-${randomId(12)}`;

describe.each(CASES)('barrier through the %s adapter on %s', (adapterName, engine) => {
  let store: TestStore;
  let wiring: Wiring;
  let app: NestFastifyApplication;
  let url: string;
  const http = new Http();

  const call = (phase: BranchPhase, id: string, payload: unknown = null): Promise<Answer> =>
    http.post(`${url}/tcc/effects/${phase}`, { gid: id, branchId: 'b1', phase, payload }, { [TCC_HEADERS.gid]: id, [TCC_HEADERS.branchId]: 'b1', [TCC_HEADERS.phase]: phase });
  const effects = async (id: string): Promise<string[]> => (await store.query<{ phase: string }>('SELECT phase FROM effects WHERE gid = ?', [id])).map((r) => r.phase).sort();
  const barrierRows = async (id: string): Promise<string[]> =>
    (await store.query<{ phase: string; reason: string }>(`SELECT phase, reason FROM ${BARRIER_TABLE} WHERE gid = ?`, [id])).map((r) => `${r.phase}:${r.reason}`).sort();

  beforeAll(async () => {
    store = await createStore(engine, `adapter_${adapterName}`);
    await store.query(EFFECTS);
    // TypeORM creates the table through its migration; the others run the exported SQL.
    if (adapterName !== 'typeorm') for (const statement of barrierMigrationSql(store.dialect)) await store.query(statement);
    wiring = ADAPTERS[adapterName].wire(store);
    app = await startApp(wiring);
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(() =>
    closeAll(
      () => app?.close(),
      () => wiring?.close(),
      () => http.close(),
      () => store?.drop(),
    ),
  );

  it('answers repeated tries and confirms from the barrier: each phase takes effect once', async () => {
    const id = gid();
    const tries = await Promise.all([1, 2, 3].map(() => call('try', id)));
    expect(tries.map((t) => t.status)).toEqual([200, 200, 200]);
    expect(tries.map((t) => String(t.body.outcome)).sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    const confirms = [await call('confirm', id), await call('confirm', id)];
    expect(confirms.map((c) => `${c.status}:${String(c.body.outcome)}`)).toEqual(['200:applied', '200:duplicate']);
    expect(await effects(id)).toEqual(['confirm', 'try']);
    expect(await barrierRows(id)).toEqual(['confirm:confirm', 'try:try']);
  });

  it('records a cancel with no try as an empty rollback, running nothing, and refuses the try that comes after it (409)', async () => {
    const id = gid();
    const cancel = await call('cancel', id);
    expect([cancel.status, cancel.body.outcome]).toEqual([200, 'empty-rollback']);
    const late = await call('try', id);
    expect([late.status, late.body.error]).toEqual([409, 'BRANCH_CANCELLED']);
    expect(await effects(id)).toEqual([]);
    expect(await barrierRows(id)).toEqual(['cancel:cancel', 'try:cancel']);
  });

  it('answers a confirm with no try 409 BRANCH_NOT_TRIED, keeping no row', async () => {
    const id = gid();
    const confirm = await call('confirm', id);
    expect([confirm.status, confirm.body.error]).toEqual([409, BRANCH_NOT_TRIED]);
    expect(await barrierRows(id)).toEqual([]);
    expect(await effects(id)).toEqual([]);
  });

  it('commits or rolls back the barrier row with the business write: a method that writes then throws leaves neither', async () => {
    const id = gid();
    const failed = await call('try', id, { fail: true });
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(await effects(id)).toEqual([]);
    expect(await barrierRows(id)).toEqual([]);
    // Nothing of the failed try stayed behind: the next try runs.
    expect((await call('try', id)).body.outcome).toBe('applied');
    expect(await effects(id)).toEqual(['try']);
  });

  it('serialises concurrent try and cancel pairs: each ends in exactly one consistent state, without deadlock', async () => {
    const deadlocksBefore = localTransactionStats.deadlockRetries;
    const ids = Array.from({ length: 24 }, gid);
    await Promise.all(
      ids.map(async (id, i) => {
        const [tried, cancelled] =
          i % 2 === 0
            ? await Promise.all([call('try', id), call('cancel', id)])
            : await Promise.all([call('cancel', id), call('try', id)]).then(([c, t]) => [t, c] as const);
        expect(cancelled.status).toBe(200);
        if (tried.status === 200) {
          expect([tried.body.outcome, cancelled.body.outcome]).toEqual(['applied', 'applied']);
          expect(await effects(id)).toEqual(['cancel', 'try']);
        } else {
          expect([tried.status, tried.body.error, cancelled.body.outcome]).toEqual([409, 'BRANCH_CANCELLED', 'empty-rollback']);
          expect(await effects(id)).toEqual([]);
        }
      }),
    );
    expect(localTransactionStats.deadlockRetries - deadlocksBefore).toBe(0);
  });

  it('removes barrier rows past their retention through the adapter', async () => {
    const old = Date.now() - 10 * 24 * 60 * 60 * 1000;
    const prefix = `old-${randomId(6)}`;
    for (let i = 0; i < 7; i++) {
      await store.query(`INSERT INTO ${BARRIER_TABLE} (gid, branch_id, phase, reason, created_at) VALUES (?, 'b', 'try', 'try', ?)`, [`${prefix}-${i}`, old + i]);
    }
    const fresh = gid();
    expect((await call('try', fresh)).status).toBe(200);
    const removed = await app.get(BarrierCleanupService).runOnce();
    expect(removed).toBeGreaterThanOrEqual(7);
    expect(await store.query(`SELECT gid FROM ${BARRIER_TABLE} WHERE gid LIKE ?`, [`${prefix}-%`])).toEqual([]);
    expect(await barrierRows(fresh)).toEqual(['try:try']);
  });
});

describe('barrier table check at start-up', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(() => closeAll(...cleanups));

  it.each([
    ['typeorm', 'sqlite', /TCC_BARRIER_MIGRATIONS/],
    ['typeorm', 'mariadb', /TCC_BARRIER_MIGRATIONS/],
    ['pg', 'postgres', /barrierMigrationSql\('postgres'\)/],
    ['mysql2', 'mariadb', /barrierMigrationSql\('mysql'\)/],
    ['drizzle', 'sqlite', /barrierMigrationSql\('<dialect>'\)/],
    ['kysely', 'postgres', /barrierMigrationSql\('<dialect>'\)/],
  ] as const)('stops a %s participant on %s whose barrier table is missing, naming the fix', async (adapterName, engine, fix) => {
    const store = await createStore(engine, `nobarrier_${adapterName}`);
    cleanups.push(() => store.drop());
    // No table created, and TypeORM without its migrations.
    const wiring = ADAPTERS[adapterName].wire(store, { migrate: false });
    cleanups.unshift(() => wiring.close());
    const error = await startApp(wiring).then(
      (app) => app.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BarrierTableMissingError);
    expect((error as Error).message).toContain(`the table ${BARRIER_TABLE} does not exist`);
    expect((error as Error).message).toMatch(fix);
  });

  it('starts with only a warning when a missing table is to be reported by the app (barrierTableCheck: warn)', async () => {
    const store = await createStore('postgres', 'nobarrier_warn');
    cleanups.push(() => store.drop());
    const wiring = ADAPTERS.pg.wire(store);
    cleanups.unshift(() => wiring.close());
    const app = await startApp(wiring, { barrierTableCheck: 'warn' });
    await app.close();
  });

  it('starts with only a warning when the database cannot be reached', async () => {
    const pool = new Pool({ host: PG.host, port: 1, user: PG.user, database: 'postgres', connectionTimeoutMillis: 1_000 });
    cleanups.unshift(() => pool.end());
    const app = await startApp({ imports: [], providers: [], barrier: pgBarrier({ pool }), write: pgWrite, close: async () => undefined });
    await app.close();
    // mysql2 the same, on a port nothing listens on.
    const mysqlPool = createMysqlPool({ host: MARIADB.host, port: 1, user: MARIADB.user, connectTimeout: 1_000 });
    cleanups.unshift(() => mysqlPool.end());
    const mysqlApp = await startApp({ imports: [], providers: [], barrier: mysql2Barrier({ pool: mysqlPool }), write: mysqlWrite, close: async () => undefined });
    await mysqlApp.close();
  });

  it('names what to install when an adapter\'s package is missing', () => {
    expect(() => requirePeer('tcc-no-such-orm', 'imaginary', () => require('tcc-no-such-orm'))).toThrow('tcc barrier: the imaginary adapter needs tcc-no-such-orm (npm install tcc-no-such-orm)');
  });
});

