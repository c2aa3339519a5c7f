/**
 * HTTP and gRPC in one transaction, driven by the library: an initiator talking to the coordinator
 * over gRPC runs three branches, one on a real HTTP participant, one on a real gRPC participant
 * (explicit targets) and one on its own @TccParticipant served over gRPC by the library; committed,
 * every branch gets its try and its confirm over its own protocol; rolled back, every branch its
 * cancel and no confirm. A gRPC refusal reaches the business code as BranchRefusedError. Then a
 * gRPC participant answering UNAVAILABLE a few times: the coordinator retries until OK and the
 * transaction commits, attempts recorded. Real coordinator, servers and MariaDB.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { EntityManager } from 'typeorm';
import {
  BranchCall,
  BranchFailedError,
  BranchRefusal,
  BranchRefusedError,
  ParticipantGrpcServer,
  TccCancel,
  TccConfirm,
  TccInitiator,
  TccModule,
  TccParticipant,
  TccTransactional,
  TccTry,
  TCC_BARRIER_MIGRATIONS,
  participantGrpcService,
  type JsonValue,
} from '@tcc/client';
import { withTraceparent } from '@tcc/client/initiator/trace-context';
import { dataSourceOptions } from '@tcc/service-kit';
import { createCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap';
import { CoordinatorApi } from '../support/coordinator.api';
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { eventually, randomSuffix } from '../support/wait';
import { GrpcCoordinatorApi } from './support/grpc-coordinator.api';
import { GrpcParticipantServer } from './support/grpc-participant.server';
import { TEST_API_KEY, TEST_API_KEYS } from '../support/api-keys';

const LEDGER = 'tcc.test.Ledger';
const STOCK = 'stock-reserve';
const stockCalls: string[] = [];

@TccParticipant(STOCK)
@Injectable()
class StockParticipant {
  @TccTry()
  async reserve(call: BranchCall, manager: EntityManager): Promise<{ reserved: number }> {
    expect(manager.queryRunner?.isTransactionActive).toBe(true);
    stockCalls.push(`try:${call.gid}:${call.branchId}`);
    const payload = call.payload as { units?: number } | null;
    if ((payload?.units ?? 0) > 10) throw new BranchRefusal('OUT_OF_STOCK', 'only 10 units left', 409);
    return { reserved: payload?.units ?? 0 };
  }

  @TccConfirm()
  async ship(call: BranchCall): Promise<void> {
    stockCalls.push(`confirm:${call.gid}:${call.branchId}`);
  }

  @TccCancel()
  async release(call: BranchCall): Promise<void> {
    stockCalls.push(`cancel:${call.gid}:${call.branchId}`);
  }
}

class ChangedMind extends Error {}

interface Endpoints {
  http: ParticipantServer;
  grpc: GrpcParticipantServer;
}

@Injectable()
class ShopService {
  endpoints!: Endpoints;
  answers: Array<JsonValue | undefined> = [];

  constructor(private readonly tcc: TccInitiator) {}

  private async threeBranches(units: number): Promise<void> {
    const { http, grpc } = this.endpoints;
    this.answers = [];
    this.answers.push(
      await this.tcc.branch({
        participant: 'payments',
        branchId: 'pay',
        payload: { amount: 10 },
        urls: { try: http.url('/pay/try'), ...http.branch('pay') },
      }),
    );
    this.answers.push(
      await this.tcc.branch({
        participant: 'ledger',
        branchId: 'ledger',
        protocol: 'grpc',
        payload: { entry: 'x' },
        targets: { try: grpc.target(LEDGER, 'Try'), ...grpc.branch(LEDGER) },
      }),
    );
    // Its own participant over gRPC: the target is derived from the name and this server's address.
    this.answers.push(await this.tcc.branch({ participant: STOCK, branchId: 'stock', protocol: 'grpc', payload: { units } }));
  }

  @TccTransactional({ timeoutMs: 10_000 })
  async buy(units: number): Promise<string> {
    await this.threeBranches(units);
    return this.tcc.gid;
  }

  @TccTransactional({ timeoutMs: 10_000 })
  async buyThenChangeMind(gids: string[]): Promise<void> {
    gids.push(this.tcc.gid);
    await this.threeBranches(1);
    throw new ChangedMind('changed my mind');
  }

  @TccTransactional({ timeoutMs: 10_000 })
  async buyTooMuch(gids: string[]): Promise<void> {
    gids.push(this.tcc.gid);
    await this.threeBranches(11);
  }

  @TccTransactional({ timeoutMs: 10_000 })
  async ledgerDown(gids: string[]): Promise<void> {
    gids.push(this.tcc.gid);
    const { grpc } = this.endpoints;
    await this.tcc.branch({ participant: 'ledger', branchId: 'ledger', protocol: 'grpc', targets: { try: grpc.target(LEDGER, 'Try'), ...grpc.branch(LEDGER) } });
  }
}

describe('HTTP and gRPC branches in one transaction (MariaDB)', () => {
  let coordinatorDb: TestDatabase | undefined;
  let shopDb: TestDatabase | undefined;
  let coordinator: RunningCoordinator | undefined;
  let http: ParticipantServer;
  let grpc: GrpcParticipantServer;
  let app: NestFastifyApplication | undefined;
  let shop: ShopService;
  let api: CoordinatorApi;
  let rpc: GrpcCoordinatorApi;

  beforeAll(async () => {
    http = await ParticipantServer.start();
    grpc = await GrpcParticipantServer.start([LEDGER]);
    coordinatorDb = await createTestDatabase();
    shopDb = await createTestDatabase();
    coordinator = await createCoordinator({
      TCC_HOST: '127.0.0.1',
      TCC_HTTP_PORT: '0',
      TCC_GRPC_PORT: '0',
      TCC_MIGRATE_ON_START: 'true',
      TCC_LOG_LEVEL: 'error',
      TCC_DB_URL: coordinatorDb.url,
      TCC_RETRY_BASE_MS: '50',
      TCC_RETRY_MAX_MS: '200',
      TCC_SCAN_INTERVAL_MS: '100',
      TCC_REQUEST_TIMEOUT_MS: '2000',
      TCC_COMMIT_WAIT_MS: '8000',
      TCC_API_KEYS: TEST_API_KEYS,
    });
    api = new CoordinatorApi(coordinator.url);
    rpc = new GrpcCoordinatorApi(coordinator.grpcAddress);
    const grpcAddress = coordinator.grpcAddress;
    const shopUrl = shopDb.url;

    @Module({
      imports: [
        TypeOrmModule.forRoot({ ...dataSourceOptions({ url: shopUrl, sqlitePath: 'unused', poolSize: 5, migrations: TCC_BARRIER_MIGRATIONS }), migrationsRun: true }),
        TccModule.forRoot({
          transport: 'grpc',
          coordinatorGrpcAddress: grpcAddress,
          coordinatorUrl: 'http://127.0.0.1:1',
          apiKey: TEST_API_KEY,
          requestTimeoutMs: 3_000,
          grpc: { port: 0, host: '127.0.0.1' },
        }),
      ],
      providers: [StockParticipant, ShopService],
    })
    class ShopModule {}

    app = await NestFactory.create<NestFastifyApplication>(ShopModule, new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    shop = app.get(ShopService);
    shop.endpoints = { http, grpc };
  });

  afterAll(async () => {
    await app?.close();
    rpc?.close();
    await api?.close();
    await coordinator?.close();
    await http?.close();
    await grpc?.close();
    await shopDb?.drop();
    await coordinatorDb?.drop();
  });

  it("serves its own participant at tcc.v1.participants.<Name> on the library's gRPC server", () => {
    const server = app!.get(ParticipantGrpcServer);
    expect(server.address()).toBe(`127.0.0.1:${server.port}`);
    expect(participantGrpcService(STOCK)).toBe('tcc.v1.participants.StockReserve');
  });

  it('commits: every branch gets its try from the initiator and its confirm from the coordinator, each over its protocol', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const gid = await withTraceparent(traceparent, () => shop.buy(3));

    const view = await api.view(gid);
    expect(view.status).toBe('COMMITTED');
    expect(view.branches.map((b) => [b.branchId, b.protocol, b.status, b.attempts])).toEqual([
      ['pay', 'http', 'CONFIRMED', 1],
      ['ledger', 'grpc', 'CONFIRMED', 1],
      ['stock', 'grpc', 'CONFIRMED', 1],
    ]);

    expect(http.callsFor(gid).map((c) => `${c.path}`)).toEqual(['/pay/try', '/pay/confirm']);
    const [httpTry] = http.callsFor(gid, 'pay', 'try');
    expect(httpTry.body).toEqual({ gid, branchId: 'pay', phase: 'try', payload: { amount: 10 } });
    expect(httpTry.headers.traceparent).toBe(traceparent);

    const ledger = grpc.callsFor(gid);
    expect(ledger.map((c) => c.path)).toEqual([`/${LEDGER}/Try`, `/${LEDGER}/Confirm`]);
    for (const call of ledger) {
      const phase = call.path.endsWith('Try') ? 'try' : 'confirm';
      expect(call.request).toEqual({ gid, branchId: 'ledger', phase, payload: JSON.stringify({ entry: 'x' }) });
      expect(call.metadata).toMatchObject({ 'x-tcc-gid': gid, 'x-tcc-branch-id': 'ledger', 'x-tcc-phase': phase, traceparent });
    }

    expect(stockCalls.filter((c) => c.includes(gid))).toEqual([`try:${gid}:stock`, `confirm:${gid}:stock`]);
    // The try's answer is the same over both protocols for a participant built with the library.
    expect(shop.answers[2]).toEqual({ gid, branchId: 'stock', phase: 'try', outcome: 'applied', result: { reserved: 3 } });
    expect(shop.answers[1]).toEqual({ ok: true });
    expect((await rpc.view(gid)).status).toBe('COMMITTED');
  });

  it('rolls back when the method throws: every branch gets its cancel and none a confirm', async () => {
    const gids: string[] = [];
    await expect(shop.buyThenChangeMind(gids)).rejects.toBeInstanceOf(ChangedMind);
    const [gid] = gids;
    const view = await api.view(gid);
    expect(view.status).toBe('ROLLED_BACK');
    expect(view.branches.map((b) => [b.branchId, b.status])).toEqual([
      ['pay', 'CANCELLED'],
      ['ledger', 'CANCELLED'],
      ['stock', 'CANCELLED'],
    ]);
    expect(http.callsFor(gid).map((c) => c.path)).toEqual(['/pay/try', '/pay/cancel']);
    expect(grpc.callsFor(gid).map((c) => c.path)).toEqual([`/${LEDGER}/Try`, `/${LEDGER}/Cancel`]);
    expect(stockCalls.filter((c) => c.includes(gid))).toEqual([`try:${gid}:stock`, `cancel:${gid}:stock`]);
  });

  it("rolls back on a gRPC participant's refusal, which reaches the caller as BranchRefusedError with its code", async () => {
    const gids: string[] = [];
    const error = await shop.buyTooMuch(gids).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BranchRefusedError);
    expect(error).toMatchObject({ branchId: 'stock', statusCode: 409, code: 'OUT_OF_STOCK' });
    const [gid] = gids;
    expect((await api.view(gid)).status).toBe('ROLLED_BACK');
    // The refused try's local transaction rolled back with its barrier row, so the cancel that
    // followed was an empty rollback: answered OK without reaching the business method.
    expect(stockCalls.filter((c) => c.includes(gid))).toEqual([`try:${gid}:stock`]);
    expect((await api.view(gid)).branches.map((b) => [b.branchId, b.status])).toEqual([
      ['pay', 'CANCELLED'],
      ['ledger', 'CANCELLED'],
      ['stock', 'CANCELLED'],
    ]);
    expect(http.callsFor(gid, 'pay', 'cancel')).toHaveLength(1);
    expect(grpc.callsFor(gid, 'ledger', 'cancel')).toHaveLength(1);
  });

  it('rolls back when a gRPC try answers UNAVAILABLE: BranchFailedError, the branch is cancelled', async () => {
    grpc.behave(LEDGER, 'Try', { kind: 'fail', code: GrpcStatus.UNAVAILABLE, times: 1 });
    const gids: string[] = [];
    const error = await shop.ledgerDown(gids).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BranchFailedError);
    expect((error as Error).message).toContain('UNAVAILABLE');
    const [gid] = gids;
    // A failed try does not wait for the rollback: it converges on its own.
    await eventually(async () => (await api.view(gid)).status === 'ROLLED_BACK', { what: `${gid} to be rolled back` });
    expect(grpc.callsFor(gid).map((c) => c.path)).toEqual([`/${LEDGER}/Try`, `/${LEDGER}/Cancel`]);
  });

  it('a gRPC participant answering UNAVAILABLE three times and then OK: the commit retries it to success', async () => {
    grpc.behave(LEDGER, 'Confirm', { kind: 'fail', code: GrpcStatus.UNAVAILABLE, times: 3 });
    const gid = `flaky-${randomSuffix()}`;
    expect((await rpc.begin({ gid })).codeName).toBe('OK');
    expect((await rpc.register({ gid, branchId: 'ledger', protocol: 'grpc', ...grpc.branch(LEDGER), payload: '{"n":1}' })).codeName).toBe('OK');
    expect((await rpc.register({ gid, branchId: 'pay', protocol: 'http', ...http.branch('flaky-pay') })).codeName).toBe('OK');
    const res = await rpc.commit({ gid, wait: true });
    expect(res).toMatchObject({ codeName: 'OK', reply: { gid, status: 'COMMITTED' } });

    const confirms = grpc.callsFor(gid, 'ledger', 'confirm');
    expect(confirms.map((c) => GrpcStatus[c.answer])).toEqual(['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE', 'OK']);
    // Backoff between the attempts, not a tight loop.
    for (let i = 1; i < confirms.length; i++) expect(confirms[i].at - confirms[i - 1].at).toBeGreaterThanOrEqual(20);
    const view = await api.view(gid);
    const ledger = view.branches.find((b) => b.branchId === 'ledger');
    expect(ledger).toMatchObject({ protocol: 'grpc', status: 'CONFIRMED', attempts: 4 });
    expect(view.branches.find((b) => b.branchId === 'pay')).toMatchObject({ status: 'CONFIRMED', attempts: 1 });
    expect(http.callsFor(gid, 'pay', 'confirm')).toHaveLength(1);
  });

  it('a cancel answering UNAVAILABLE twice and then OK: the rollback retries it to success', async () => {
    grpc.behave(LEDGER, 'Cancel', { kind: 'fail', code: GrpcStatus.UNAVAILABLE, times: 2 });
    const gid = `flaky-c-${randomSuffix()}`;
    await rpc.begin({ gid });
    await rpc.register({ gid, branchId: 'ledger', protocol: 'grpc', ...grpc.branch(LEDGER) });
    expect(await rpc.rollback({ gid, wait: true })).toMatchObject({ codeName: 'OK', reply: { status: 'ROLLED_BACK' } });
    expect(grpc.callsFor(gid, 'ledger', 'cancel').map((c) => GrpcStatus[c.answer])).toEqual(['UNAVAILABLE', 'UNAVAILABLE', 'OK']);
    expect((await api.view(gid)).branches[0]).toMatchObject({ status: 'CANCELLED', attempts: 3 });
    grpc.behave(LEDGER, 'Cancel', { kind: 'ok' });
  });
});
