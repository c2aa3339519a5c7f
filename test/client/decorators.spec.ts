/**
 * The decorators against a real coordinator: @TccTransactional commits what returns and rolls back
 * (then rethrows) what throws, joins when nested and keeps the method's metadata; the participant
 * explorer refuses to start a class missing a partner method, naming class and method.
 */
import 'reflect-metadata';
import { Injectable, Module, SetMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource, type EntityManager } from 'typeorm';
import {
  BranchCall,
  BranchFailedError,
  BranchRefusal,
  BranchRefusedError,
  CoordinatorClient,
  CoordinatorError,
  CoordinatorUnavailableError,
  NoTransactionError,
  TccCancel,
  TccConfirm,
  TccInitiator,
  TccModule,
  TccParticipant,
  TccTransactional,
  TccTry,
  TCC_BARRIER_MIGRATIONS,
  UnsupportedDatabaseError,
  TransactionAbortedError,
} from '@tcc/client';
import { HttpCoordinatorClient } from '@tcc/client/client/http-coordinator.client';
import { resolveTccOptions } from '@tcc/client/tcc.options';
import { withTraceparent } from '@tcc/client/initiator/trace-context';
import { dataSourceOptions } from '@tcc/service-kit';
import { HttpTransport } from '@tcc/client/client/http.transport';
import type { TransactionView } from '@tcc/client';
import { createCoordinator } from './support/coordinator';
import { Http } from './support/http';
import { FAST_COORDINATOR } from './support/stack';
import { eventually } from '../support/wait';
import { bearer } from '../support/api-keys';
import { TEST_API_KEY } from '../support/api-keys';

const calls: string[] = [];
const ROLE = 'test:role';

class PaymentDeclined extends Error {}

@TccParticipant('ledger')
@Injectable()
class LedgerParticipant {
  @TccTry()
  async reserve(call: BranchCall, manager: EntityManager): Promise<{ reserved: true }> {
    expect(manager.queryRunner?.isTransactionActive).toBe(true);
    calls.push(`try:${call.gid}:${call.branchId}`);
    if ((call.payload as { refuse?: boolean } | null)?.refuse) throw new BranchRefusal('NOT_TODAY', 'refused on purpose', 422);
    return { reserved: true };
  }

  @TccConfirm()
  async settle(call: BranchCall): Promise<void> {
    calls.push(`confirm:${call.gid}:${call.branchId}`);
  }

  @TccCancel()
  async release(call: BranchCall): Promise<void> {
    calls.push(`cancel:${call.gid}:${call.branchId}`);
  }
}

@Injectable()
class CheckoutService {
  seenGids: string[] = [];
  recorder = '';
  /** This application's own base URL. */
  self = '';

  constructor(private readonly tcc: TccInitiator) {}

  @TccTransactional({ timeoutMs: 10_000 })
  @SetMetadata(ROLE, 'checkout')
  async succeed(): Promise<string> {
    await this.tcc.branch({ participant: 'ledger' });
    return this.tcc.gid;
  }

  @TccTransactional()
  async fail(): Promise<never> {
    this.seenGids.push(this.tcc.gid);
    await this.tcc.branch({ participant: 'ledger' });
    throw new PaymentDeclined('declined by the business');
  }

  @TccTransactional()
  async refuse(): Promise<void> {
    this.seenGids.push(this.tcc.gid);
    await this.tcc.branch({ participant: 'ledger', branchId: 'first' });
    await this.tcc.branch({ participant: 'ledger', branchId: 'second', payload: { refuse: true } });
  }

  @TccTransactional()
  async outer(): Promise<[string, string]> {
    const gid = this.tcc.gid;
    await this.tcc.branch({ participant: 'ledger', branchId: 'outer' });
    return [gid, await this.inner()];
  }

  @TccTransactional()
  async inner(): Promise<string> {
    await this.tcc.branch({ participant: 'ledger', branchId: 'inner' });
    return this.tcc.gid;
  }

  @TccTransactional({ timeoutMs: 300 })
  async slow(): Promise<void> {
    this.seenGids.push(this.tcc.gid);
    await this.tcc.branch({ participant: 'ledger' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
  }

  @TccTransactional({ timeoutMs: 300 })
  async lateBranch(): Promise<void> {
    this.seenGids.push(this.tcc.gid);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await this.tcc.branch({ participant: 'ledger' });
  }

  @TccTransactional()
  async unreachable(): Promise<void> {
    this.seenGids.push(this.tcc.gid);
    await this.tcc.branch({ participant: 'ledger', service: 'http://127.0.0.1:1' });
  }

  /** One branch at `path` of the recorder: its try answers there as the recorder decides. */
  @TccTransactional()
  async viaRecorder(path: string): Promise<void> {
    this.seenGids.push(this.tcc.gid);
    const base = `${this.recorder}/${path}`;
    await this.tcc.branch({
      participant: 'external',
      branchId: path,
      urls: { try: `${base}/try`, confirm: `${base}/confirm`, cancel: `${base}/cancel` },
    });
  }

  /** The branch's cancel reaches this application before its try, which then runs in-process. */
  @TccTransactional()
  async cancelledFirst(): Promise<void> {
    const gid = this.tcc.gid;
    this.seenGids.push(gid);
    const body = JSON.stringify({ gid, branchId: 'early', phase: 'cancel', payload: null });
    const res = await fetch(`${this.self}/tcc/ledger/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(((await res.json()) as { outcome: string }).outcome).toBe('empty-rollback');
    await this.tcc.branch({ participant: 'ledger', branchId: 'early' });
  }

  @TccTransactional()
  async external(): Promise<void> {
    const base = this.recorder;
    await this.tcc.branch({
      participant: 'external',
      branchId: 'ext-1',
      payload: { n: 1 },
      urls: { try: `${base}/try`, confirm: `${base}/confirm`, cancel: `${base}/cancel` },
    });
  }
}

describe('decorators against a real coordinator', () => {
  let dir: string;
  let coordinator: Awaited<ReturnType<typeof createCoordinator>>;
  let app: NestFastifyApplication;
  let checkout: CheckoutService;
  let recorder: Server;
  const recorded: Array<{ url: string; headers: IncomingHttpHeaders; body: unknown }> = [];
  const http = new Http();

  const transaction = async (gid: string): Promise<TransactionView> =>
    (await http.get<TransactionView>(`${coordinator.url}/v1/transactions/${gid}`, bearer())).body;
  /** The transaction once phase two has finished: rollbacks are not awaited by the initiator. */
  const finished = (gid: string): Promise<TransactionView> =>
    eventually(
      async () => {
        const view = await transaction(gid);
        return view.status === 'COMMITTED' || view.status === 'ROLLED_BACK' ? view : undefined;
      },
      { what: `${gid} to finish` },
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tcc-decorators-'));
    // A short wait bound: one test rolls back a branch whose cancel can never be delivered.
    coordinator = await createCoordinator({ ...FAST_COORDINATOR, TCC_COMMIT_WAIT_MS: '1500', TCC_SQLITE_PATH: join(dir, 'coordinator.sqlite') });

    recorder = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        const url = req.url ?? '';
        recorded.push({ url, headers: req.headers, body: JSON.parse(text) as unknown });
        // /broken: the try fails with a 500, and its cancel fails three times before it succeeds.
        if (url === '/broken/try') return void res.writeHead(500).end('{"error":"boom"}');
        if (url === '/broken/cancel' && recorded.filter((r) => r.url === url).length <= 3) return void res.writeHead(503).end();
        // /silent: the try never answers.
        if (url === '/silent/try') return;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));

    @Module({
      imports: [
        TypeOrmModule.forRoot({
          ...dataSourceOptions({ sqlitePath: join(dir, 'participant.sqlite'), migrations: TCC_BARRIER_MIGRATIONS }),
          migrationsRun: true,
        }),
        TccModule.forRootAsync({ useFactory: () => ({ coordinatorUrl: coordinator.url, apiKey: TEST_API_KEY, requestTimeoutMs: 3_000 }) }),
      ],
      providers: [LedgerParticipant, CheckoutService],
    })
    class TestAppModule {}

    app = await NestFactory.create<NestFastifyApplication>(TestAppModule, new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    checkout = app.get(CheckoutService);
    checkout.recorder = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
    checkout.self = await app.getUrl().then((url) => url.replace('[::1]', '127.0.0.1'));
  });

  afterAll(async () => {
    await app?.close();
    await coordinator?.close();
    recorder?.close();
    await http.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits a method that returns: its branches are confirmed', async () => {
    const gid = await checkout.succeed();
    expect(calls).toContain(`try:${gid}:ledger`);
    expect(calls).toContain(`confirm:${gid}:ledger`);
    expect(calls).not.toContain(`cancel:${gid}:ledger`);
    const view = await transaction(gid);
    expect(view.status).toBe('COMMITTED');
    expect(view.branches.map((b) => [b.branchId, b.status])).toEqual([['ledger', 'CONFIRMED']]);
  });

  it('rolls back a method that throws and rethrows its original error', async () => {
    const error = await checkout.fail().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaymentDeclined);
    expect((error as Error).message).toBe('declined by the business');
    const gid = checkout.seenGids.at(-1)!;
    expect((await finished(gid)).status).toBe('ROLLED_BACK');
    expect(calls).toContain(`cancel:${gid}:ledger`);
    expect(calls).not.toContain(`confirm:${gid}:ledger`);
  });

  it('rolls back when a try refuses, cancelling the branches that did try and the one that refused', async () => {
    const error = await checkout.refuse().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BranchRefusedError);
    expect(error).toMatchObject({ statusCode: 422, code: 'NOT_TODAY', branchId: 'second' });
    const gid = checkout.seenGids.at(-1)!;
    const view = await finished(gid);
    expect(view.status).toBe('ROLLED_BACK');
    expect(view.branches.map((b) => [b.branchId, b.status]).sort()).toEqual([
      ['first', 'CANCELLED'],
      ['second', 'CANCELLED'],
    ]);
    expect(calls).toContain(`cancel:${gid}:first`);
  });

  it('joins the current transaction in a nested decorated call', async () => {
    const [outerGid, innerGid] = await checkout.outer();
    expect(innerGid).toBe(outerGid);
    const view = await transaction(outerGid);
    expect(view.status).toBe('COMMITTED');
    expect(view.branches.map((b) => b.branchId).sort()).toEqual(['inner', 'outer']);
  });

  it('keeps the wrapped method name and its other metadata', () => {
    const method = CheckoutService.prototype.succeed;
    expect(method.name).toBe('succeed');
    expect(Reflect.getMetadata(ROLE, method)).toBe('checkout');
  });

  it('reports a transaction that timed out before its commit as aborted, and it is rolled back', async () => {
    const error = await checkout.slow().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionAbortedError);
    const gid = checkout.seenGids.at(-1)!;
    expect(['ROLLING_BACK', 'ROLLED_BACK']).toContain((await transaction(gid)).status);
  });

  it('reports a branch begun after the deadline as aborted, never calling its try', async () => {
    const error = await checkout.lateBranch().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionAbortedError);
    const gid = checkout.seenGids.at(-1)!;
    expect(calls.filter((c) => c.includes(gid))).toEqual([]);
    expect((await transaction(gid)).status).toBe('ROLLED_BACK');
  });

  it('rolls back when a try cannot be reached', async () => {
    const error = await checkout.unreachable().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BranchFailedError);
    const gid = checkout.seenGids.at(-1)!;
    expect((await transaction(gid)).status).toMatch(/^ROLL/);
  });

  it('throws at once when a try answers 500, without waiting for the rollback, which still converges', async () => {
    const started = Date.now();
    const error = await checkout.viaRecorder('broken').catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(BranchFailedError);
    expect((error as Error).message).toMatch(/500/);
    expect(elapsed).toBeLessThan(3_000 + 1_000);
    const gid = checkout.seenGids.at(-1)!;
    // The first cancel was refused with a 503, so the rollback cannot have finished when the call threw.
    expect(await finished(gid)).toMatchObject({ status: 'ROLLED_BACK', branches: [{ branchId: 'broken', status: 'CANCELLED' }] });
    expect(recorded.filter((r) => r.url === '/broken/cancel').length).toBeGreaterThanOrEqual(4);
  });

  it('throws within the request timeout plus a second when a try does not answer, and rolls back', async () => {
    const started = Date.now();
    const error = await checkout.viaRecorder('silent').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BranchFailedError);
    expect((error as Error).message).toMatch(/no answer within 3000 ms/);
    expect(Date.now() - started).toBeLessThan(3_000 + 1_000);
    expect((await finished(checkout.seenGids.at(-1)!)).status).toBe('ROLLED_BACK');
  });

  it('runs the try of a participant hosted here in-process, with the answers of its HTTP endpoint', async () => {
    const gid = await checkout.succeed();
    // The try ran (in this process, no HTTP call to ourselves), the coordinator confirmed over HTTP.
    expect(calls).toContain(`try:${gid}:ledger`);
    expect(calls).toContain(`confirm:${gid}:ledger`);
    // A try arriving after its cancel is refused exactly as over HTTP: 409 BRANCH_CANCELLED.
    const error = await checkout.cancelledFirst().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BranchRefusedError);
    expect(error).toMatchObject({ statusCode: 409, code: 'BRANCH_CANCELLED', branchId: 'early' });
    const late = checkout.seenGids.at(-1)!;
    expect(calls).not.toContain(`try:${late}:early`);
    expect((await finished(late)).status).toBe('ROLLED_BACK');
  });

  it('calls a try with the contract body and x-tcc headers', async () => {
    await checkout.external();
    const tried = recorded.find((r) => r.url === '/try')!;
    expect(tried.body).toEqual({ gid: expect.any(String), branchId: 'ext-1', phase: 'try', payload: { n: 1 } });
    const gid = (tried.body as { gid: string }).gid;
    expect(tried.headers).toMatchObject({ 'x-tcc-gid': gid, 'x-tcc-branch-id': 'ext-1', 'x-tcc-phase': 'try' });
    expect((await transaction(gid)).status).toBe('COMMITTED');
    expect(recorded.find((r) => r.url === '/confirm')?.body).toEqual({ gid, branchId: 'ext-1', phase: 'confirm', payload: { n: 1 } });
  });

  it('sends the current traceparent with the try, and the coordinator passes it on to the confirm', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    recorded.length = 0;
    await withTraceparent(traceparent, () => checkout.external());
    expect(recorded.find((r) => r.url === '/try')?.headers.traceparent).toBe(traceparent);
    expect(recorded.find((r) => r.url === '/confirm')?.headers.traceparent).toBe(traceparent);
  });

  it('surfaces coordinator answers as typed errors carrying the status', async () => {
    const client = app.get(CoordinatorClient);
    const begun = await client.begin({ timeoutMs: 5_000, metadata: { note: 'client test' } });
    expect(begun.status).toBe('TRYING');
    expect((await client.get(begun.gid)).metadata).toEqual({ note: 'client test' });
    expect(await client.rollback(begun.gid)).toEqual({ gid: begun.gid, status: 'ROLLED_BACK' });
    const conflict = await client.commit(begun.gid).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(CoordinatorError);
    expect(conflict).toMatchObject({ statusCode: 409, transactionStatus: 'ROLLED_BACK' });
    expect(await client.get('no-such-gid').catch((e: unknown) => e)).toMatchObject({ statusCode: 404 });
    const invalid = await client.begin({ gid: 'not a gid!' }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(CoordinatorError);
    expect((invalid as CoordinatorError).statusCode).toBe(400);

    const transport = new HttpTransport();
    const nowhere = new HttpCoordinatorClient(resolveTccOptions({ coordinatorUrl: 'http://127.0.0.1:1', requestTimeoutMs: 500 }), transport);
    await expect(nowhere.get('x')).rejects.toBeInstanceOf(CoordinatorUnavailableError);
    await transport.close();
  });

  it('refuses a branch outside any transaction', async () => {
    await expect(app.get(TccInitiator).branch({ participant: 'ledger' })).rejects.toBeInstanceOf(NoTransactionError);
  });
});

describe('participant explorer at start-up', () => {
  async function start(provider: new (...args: never[]) => unknown): Promise<unknown> {
    @Module({ imports: [TccModule.forRoot()], providers: [provider] })
    class BrokenModule {}
    const context = await NestFactory.createApplicationContext(BrokenModule, { logger: false, abortOnError: false }).catch(
      (e: unknown) => e,
    );
    if (!(context instanceof Error)) await (context as { close(): Promise<void> }).close();
    return context;
  }

  it('fails when a participant has no cancel partner, naming the class and the method', async () => {
    @TccParticipant('no-cancel')
    @Injectable()
    class NoCancelParticipant {
      @TccTry() reserve(): void {}
      @TccConfirm() settle(): void {}
    }
    const error = await start(NoCancelParticipant);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('NoCancelParticipant.reserve() (participant "no-cancel") has no @TccCancel() partner method in NoCancelParticipant');
  });

  it('fails when a participant has no confirm partner', async () => {
    @TccParticipant('no-confirm')
    @Injectable()
    class NoConfirmParticipant {
      @TccTry() reserve(): void {}
      @TccCancel() release(): void {}
    }
    expect(((await start(NoConfirmParticipant)) as Error).message).toMatch(/NoConfirmParticipant\.reserve\(\).*no @TccConfirm\(\) partner/);
  });

  it('fails when phase methods are marked on a class that is no participant', async () => {
    @Injectable()
    class Unnamed {
      @TccConfirm() settle(): void {}
    }
    expect(((await start(Unnamed)) as Error).message).toMatch(/Unnamed\.settle\(\) is marked @TccConfirm\(\) but Unnamed has no @TccParticipant/);
  });
});

describe('participant database at start-up', () => {
  @TccParticipant('stock')
  @Injectable()
  class StockParticipant {
    @TccTry() reserve(): void {}
    @TccConfirm() settle(): void {}
    @TccCancel() release(): void {}
  }

  it('stops a participant whose database the barrier does not speak, naming its type and the supported ones', async () => {
    // A DataSource of another type, never connected: the check needs only its options.
    const unsupported = new DataSource({ type: 'cockroachdb', host: '127.0.0.1', port: 1, username: 'nobody', timeTravelQueries: false });
    @Module({ imports: [TccModule.forRoot()], providers: [{ provide: DataSource, useValue: unsupported }, StockParticipant] })
    class CockroachModule {}
    const error = await NestFactory.createApplicationContext(CockroachModule, { logger: false, abortOnError: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedDatabaseError);
    expect((error as Error).message).toBe(
      'tcc barrier: unsupported database type "cockroachdb"; supported: postgres, mysql, mariadb, better-sqlite3, sqlite',
    );
  });

  it('needs no database at all in an application without participants', async () => {
    @Module({ imports: [TccModule.forRoot()] })
    class InitiatorOnlyModule {}
    const context = await NestFactory.createApplicationContext(InitiatorOnlyModule, { logger: false, abortOnError: false });
    expect(context.get(TccInitiator)).toBeDefined();
    await context.close();
  });
});
