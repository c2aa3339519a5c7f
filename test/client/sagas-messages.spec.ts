/**
 * Sagas and reliable messages end to end: a real coordinator (in this process, on a SQLite file) and
 * a Nest app that is initiator and participant at once, its participant database on SQLite, MariaDB
 * and PostgreSQL. Sagas built with TccSagas over HTTP and gRPC steps: committed, compensated in
 * reverse order after a refusal (SagaRolledBackError), unknown past the wait bound or without a
 * coordinator (SagaOutcomeUnknownError). Messages sent with TccMessages from inside the initiator's
 * local transaction and delivered to a @MessageHandler exactly once; aborted when the business
 * code throws; and settled by the coordinator's queryPrepared (HTTP and gRPC) when the submit or the
 * abort is lost, or when the local transaction is still open as the coordinator asks.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource, type EntityManager } from 'typeorm';
import {
  BranchRefusal,
  CoordinatorClient,
  CoordinatorUnavailableError,
  MessageHandler,
  SagaAction,
  SagaCompensate,
  SagaOutcomeUnknownError,
  SagaRolledBackError,
  TCC_BARRIER_MIGRATIONS,
  TccMessages,
  TccModule,
  TccParticipant,
  TccSagas,
  execute,
  runRead,
  type BranchCall,
} from '@tcc/client';
import { BarrierCleanupService } from '@tcc/client/barrier/barrier-cleanup.service';
import { HttpCoordinatorClient } from '@tcc/client/client/http-coordinator.client';
import { HttpTransport } from '@tcc/client/client/http.transport';
import { ParticipantTargets } from '@tcc/client/initiator/participant-targets';
import { PreparedQuery } from '@tcc/client/initiator/prepared-query.service';
import { ParticipantDatabase } from '@tcc/client/participant/participant-database.provider';
import { resolveTccOptions } from '@tcc/client/tcc.options';
import { createCoordinator } from './support/coordinator';
import { createDatabase, randomId, type TestDatabase } from './support/databases';
import { FAST_COORDINATOR } from './support/stack';
import { TEST_API_KEY } from '../support/api-keys';
import { closeAll, eventually } from '../support/wait';

/** What the participants ran, in order: `<phase>:<gid>:<branchId>`. */
const ran: string[] = [];
/** Saga actions told to hold (payload `{ hold: true }`) wait here until the test lets them go. */
const holds = new Map<string, () => void>();
const held = new Map<string, Promise<void>>();
function holdFor(gid: string): void {
  held.set(gid, new Promise<void>((resolve) => holds.set(gid, resolve)));
}

@TccParticipant('stock')
@Injectable()
class StockSteps {
  @SagaAction()
  async take(call: BranchCall): Promise<{ taken: true }> {
    const payload = call.payload as { refuse?: boolean; hold?: boolean } | null;
    if (payload?.hold) await held.get(call.gid);
    if (payload?.refuse) throw new BranchRefusal('OUT_OF_STOCK', 'none left', 409);
    ran.push(`action:${call.gid}:${call.branchId}`);
    return { taken: true };
  }

  @SagaCompensate()
  async putBack(call: BranchCall): Promise<void> {
    ran.push(`compensate:${call.gid}:${call.branchId}`);
  }
}

@TccParticipant('points')
@Injectable()
class PointsConsumer {
  @MessageHandler()
  async award(call: BranchCall, manager: EntityManager): Promise<void> {
    await execute(manager, 'INSERT INTO points (gid, branch_id) VALUES (?, ?)', [call.gid, call.branchId]);
    ran.push(`message:${call.gid}:${call.branchId}`);
  }
}

type ParticipantStore = 'sqlite' | 'mariadb' | 'postgres';

describe.each(['sqlite', 'mariadb', 'postgres'] as ParticipantStore[])('sagas and messages end to end, participant database on %s', (store) => {
  let dir: string;
  let database: TestDatabase | undefined;
  let coordinator: Awaited<ReturnType<typeof createCoordinator>>;
  let app: NestFastifyApplication;
  let sagas: TccSagas;
  let messages: TccMessages;
  let client: CoordinatorClient;
  const transport = new HttpTransport();

  const ranFor = (gid: string): string[] => ran.filter((entry) => entry.split(':')[1] === gid);
  const rows = (sql: string, params: unknown[]): Promise<unknown[]> => runRead(app.get(DataSource), (manager) => manager.query(sql, params));
  const orders = (gid: string) => rows(store === 'postgres' ? 'SELECT gid FROM orders WHERE gid = $1' : 'SELECT gid FROM orders WHERE gid = ?', [gid]);
  const points = (gid: string) => rows(store === 'postgres' ? 'SELECT branch_id FROM points WHERE gid = $1' : 'SELECT branch_id FROM points WHERE gid = ?', [gid]);
  const finished = async (gid: string) => {
    let last = '';
    return eventually(
      async () => {
        const view = await client.get(gid);
        last = JSON.stringify(view);
        return view.status === 'COMMITTED' || view.status === 'ROLLED_BACK' ? view : undefined;
      },
      { what: `${gid} to finish` },
    ).catch((error: Error) => Promise.reject(new Error(`${error.message}; last read ${last}`)));
  };
  /** TccMessages on a coordinator client that loses the answers of `lost`. */
  function messagesLosing(lost: 'submitMessage' | 'abortMessage'): TccMessages {
    const lossy = Object.create(client) as CoordinatorClient;
    lossy[lost] = async () => {
      throw new CoordinatorUnavailableError(lost, new Error('answer lost on purpose'));
    };
    return new TccMessages(lossy, app.get(ParticipantTargets), app.get(ParticipantDatabase), app.get(BarrierCleanupService));
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tcc-sagas-messages-'));
    // A short wait bound: one test submits a saga that is still running when it passes.
    coordinator = await createCoordinator({ ...FAST_COORDINATOR, TCC_COMMIT_WAIT_MS: '1500', TCC_SQLITE_PATH: join(dir, 'coordinator.sqlite') });
    if (store !== 'sqlite') database = await createDatabase(`libe2e_${store}`, store);
    const typeorm =
      store === 'sqlite'
        ? { type: 'better-sqlite3' as const, database: join(dir, 'participant.sqlite') }
        : { type: store === 'postgres' ? ('postgres' as const) : ('mysql' as const), url: database!.url };
    @Module({
      imports: [
        TypeOrmModule.forRoot({ ...typeorm, migrations: TCC_BARRIER_MIGRATIONS, migrationsRun: true }),
        TccModule.forRoot({
          coordinatorUrl: coordinator.url,
          apiKey: TEST_API_KEY,
          requestTimeoutMs: 5_000,
          grpc: { port: 0, host: '127.0.0.1' },
          barrierCleanup: { intervalMs: 0 },
        }),
      ],
      providers: [StockSteps, PointsConsumer],
    })
    class ShopModule {}
    app = await NestFactory.create<NestFastifyApplication>(ShopModule, new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    const source = app.get(DataSource);
    await source.query('CREATE TABLE orders (gid VARCHAR(128) NOT NULL)');
    await source.query('CREATE TABLE points (gid VARCHAR(128) NOT NULL, branch_id VARCHAR(64) NOT NULL)');
    sagas = app.get(TccSagas);
    messages = app.get(TccMessages);
    client = app.get(CoordinatorClient);
    jest.spyOn(app.get(PreparedQuery), 'answer');
  });

  afterAll(() =>
    closeAll(
      () => app?.close(),
      () => coordinator?.close(),
      () => transport.close(),
      () => database?.drop(),
      () => rmSync(dir, { recursive: true, force: true }),
    ),
  );

  it('commits a saga of local steps, one over gRPC, submitted with wait: actions in order, the saga COMMITTED', async () => {
    const saga = sagas.saga({ timeoutMs: 10_000 }).step({ participant: 'stock', branchId: 's1', payload: { sku: 'A' } }).step({ participant: 'stock', branchId: 's2', protocol: 'grpc' });
    const result = await saga.submit({ wait: true });
    expect(result).toEqual({ gid: saga.gid, status: 'COMMITTED' });
    expect(ranFor(saga.gid)).toEqual([`action:${saga.gid}:s1`, `action:${saga.gid}:s2`]);
    const view = await client.get(saga.gid);
    expect(view.mode).toBe('saga');
    expect(view.branches.map((b) => `${b.branchId}:${b.protocol}:${b.status}`)).toEqual(['s1:http:SUCCEEDED', 's2:grpc:SUCCEEDED']);
  });

  it('runs a concurrent saga by its `after` order', async () => {
    const saga = sagas
      .saga({ concurrent: true })
      .step({ participant: 'stock', branchId: 'second', after: ['first'] })
      .step({ participant: 'stock', branchId: 'first' });
    expect((await saga.submit({ wait: true })).status).toBe('COMMITTED');
    expect(ranFor(saga.gid)).toEqual([`action:${saga.gid}:first`, `action:${saga.gid}:second`]);
  });

  it('compensates a saga whose third step refuses, in reverse order: SagaRolledBackError; the refused step\'s compensation runs nothing', async () => {
    const saga = sagas
      .saga()
      .step({ participant: 'stock', branchId: 's1' })
      .step({ participant: 'stock', branchId: 's2', protocol: 'grpc' })
      .step({ participant: 'stock', branchId: 's3', payload: { refuse: true } });
    const error = await saga.submit({ wait: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SagaRolledBackError);
    expect((error as SagaRolledBackError).gid).toBe(saga.gid);
    expect(['ROLLING_BACK', 'ROLLED_BACK']).toContain((error as SagaRolledBackError).status);
    expect(await sagas.waitForOutcome(saga.gid)).toBe('ROLLED_BACK');
    expect(ranFor(saga.gid)).toEqual([`action:${saga.gid}:s1`, `action:${saga.gid}:s2`, `compensate:${saga.gid}:s2`, `compensate:${saga.gid}:s1`]);
    expect((await client.get(saga.gid)).branches.map((b) => `${b.branchId}:${b.status}`)).toEqual(['s1:COMPENSATED', 's2:COMPENSATED', 's3:COMPENSATED']);
  });

  it('says SagaOutcomeUnknownError for a saga still running when the wait bound passes; waitForOutcome answers it later', async () => {
    const saga = sagas.saga().step({ participant: 'stock', branchId: 'slow', payload: { hold: true } });
    holdFor(saga.gid);
    const error = await saga.submit({ wait: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SagaOutcomeUnknownError);
    expect(error).toMatchObject({ gid: saga.gid, lastStatus: 'COMMITTING' });
    holds.get(saga.gid)?.();
    expect(await sagas.waitForOutcome(saga.gid)).toBe('COMMITTED');
    expect(ranFor(saga.gid)).toEqual([`action:${saga.gid}:slow`]);
  });

  it('says SagaOutcomeUnknownError, naming the gid, when the coordinator cannot be reached', async () => {
    const nowhere = new HttpCoordinatorClient(resolveTccOptions({ coordinatorUrl: 'http://127.0.0.1:1', requestTimeoutMs: 500 }), transport);
    const offline = new TccSagas(nowhere, app.get(ParticipantTargets));
    const saga = offline.saga({ gid: `offline-${randomId(6)}` }).step({ participant: 'stock' });
    await expect(saga.submit()).rejects.toMatchObject({ name: 'SagaOutcomeUnknownError', gid: saga.gid });
  });

  it('refuses a step that names a participant of another kind, or `after` without concurrent, before sending anything', () => {
    expect(() => sagas.saga().step({ participant: 'points' })).toThrow('participant "points" (PointsConsumer) here is a message participant, not a saga one');
    expect(() => sagas.saga().step({ participant: 'stock', after: ['x'] })).toThrow('needs saga({ concurrent: true })');
    expect(() => messages.send({ steps: [{ participant: 'stock' }] }, async () => undefined)).rejects.toThrow('is a saga participant, not a message one');
  });

  it('sends a message from inside the local transaction and delivers each step exactly once', async () => {
    const gid = `msg-${randomId(8)}`;
    const sent = await messages.send({ gid, steps: [{ participant: 'points', branchId: 'award' }, { participant: 'points', branchId: 'bonus', protocol: 'grpc' }], wait: true }, async (manager) => {
      await execute(manager, 'INSERT INTO orders (gid) VALUES (?)', [gid]);
      return 'order written';
    });
    expect(sent).toEqual({ gid, result: 'order written', submitted: true, status: 'COMMITTED' });
    const view = await finished(gid);
    expect([view.mode, view.status]).toEqual(['message', 'COMMITTED']);
    expect(ranFor(gid).sort()).toEqual([`message:${gid}:award`, `message:${gid}:bonus`]);
    expect(await orders(gid)).toHaveLength(1);
    expect(await points(gid)).toHaveLength(2);
  });

  it('aborts the message when the business code throws: the error comes back, nothing is written or delivered', async () => {
    const gid = `msg-${randomId(8)}`;
    const failing = messages.send({ gid, steps: [{ participant: 'points' }] }, async (manager) => {
      await execute(manager, 'INSERT INTO orders (gid) VALUES (?)', [gid]);
      throw new Error('the business said no');
    });
    await expect(failing).rejects.toThrow('the business said no');
    expect((await client.get(gid)).status).toBe('ROLLED_BACK');
    expect(await orders(gid)).toHaveLength(0);
    expect(ranFor(gid)).toEqual([]);
  });

  it.each(['http', 'grpc'] as const)('delivers a message whose submit was lost after the commit: the coordinator asks queryPrepared (%s), which answers COMMITTED', async (queryPrepared) => {
    const gid = `msg-${randomId(8)}`;
    const answers = jest.mocked(app.get(PreparedQuery).answer);
    const asked = answers.mock.calls.length;
    const sent = await messagesLosing('submitMessage').send({ gid, steps: [{ participant: 'points' }], timeoutMs: 200, queryPrepared }, async (manager) => {
      await execute(manager, 'INSERT INTO orders (gid) VALUES (?)', [gid]);
      return 42;
    });
    expect(sent).toEqual({ gid, result: 42, submitted: false });
    expect((await finished(gid)).status).toBe('COMMITTED');
    expect(answers.mock.calls.slice(asked).map(([g]) => g)).toContain(gid);
    expect(ranFor(gid)).toEqual([`message:${gid}:points`]);
    expect(await points(gid)).toHaveLength(1);
  });

  it('rolls back a message whose abort was lost: the coordinator asks queryPrepared, which answers ROLLED_BACK', async () => {
    const gid = `msg-${randomId(8)}`;
    const failing = messagesLosing('abortMessage').send({ gid, steps: [{ participant: 'points' }], timeoutMs: 200 }, async () => {
      throw new Error('failed after the prepare');
    });
    await expect(failing).rejects.toThrow('failed after the prepare');
    expect((await finished(gid)).status).toBe('ROLLED_BACK');
    expect(ranFor(gid)).toEqual([]);
  });

  it('delivers once a message whose local transaction is still open when the coordinator asks: the query waits for the commit', async () => {
    const gid = `msg-${randomId(8)}`;
    const answers = jest.mocked(app.get(PreparedQuery).answer);
    const asked = answers.mock.calls.length;
    const sent = await messages.send({ gid, steps: [{ participant: 'points' }], timeoutMs: 100 }, async (manager) => {
      await execute(manager, 'INSERT INTO orders (gid) VALUES (?)', [gid]);
      // Still inside the local transaction: the coordinator's query arrives, and must wait.
      await eventually(() => answers.mock.calls.slice(asked).some(([g]) => g === gid), { what: 'the coordinator to ask queryPrepared' });
      return 'committed late';
    });
    expect(sent).toMatchObject({ gid, result: 'committed late', submitted: true });
    expect((await finished(gid)).status).toBe('COMMITTED');
    expect(ranFor(gid)).toEqual([`message:${gid}:points`]);
    expect(await points(gid)).toHaveLength(1);
    expect(await orders(gid)).toHaveLength(1);
  });
});
