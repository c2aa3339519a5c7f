/**
 * The library's side of completion callbacks (docs/contract.md §11), in real Nest apps with
 * TccModule against a real coordinator: a provider method marked @OnTransactionFinished() receives
 * the final view of the transactions, sagas and messages the app began, which ask for the callback
 * on their own (HTTP `POST /tcc/callback`, or gRPC `tcc.v1.Initiator/Finished` with
 * `callbackProtocol: 'grpc'`); a handler that throws gets it again; a call whose signature is not
 * good is refused before the handler runs; `callback: false` opts out.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityManager } from 'typeorm';
import {
  BranchCall,
  MessageHandler,
  OnTransactionFinished,
  SagaAction,
  SagaCompensate,
  TccCancel,
  TccConfirm,
  TccInitiator,
  TccMessages,
  TccModule,
  TccParticipant,
  TccSagas,
  TccTransactional,
  TccTry,
  TCC_BARRIER_MIGRATIONS,
  signBranchCall,
  payloadText,
  type TransactionFinished,
  type TccModuleOptions,
} from '@tcc/client';
import { dataSourceOptions } from '@tcc/service-kit';
import { createStore, SERVER, startCoordinator, type RunningCoordinator, type TestStore } from '../support/coordinator.in-process';
import { TEST_API_KEY } from '../support/api-keys';
import { closeAll, eventually, randomSuffix } from '../support/wait';

const SIGNING_KEY = 'library-callback-signing-key-01';
const ADMIN_TOKEN = 'library-callback-admin-token-01';

@TccParticipant('ledger')
@Injectable()
class Ledger {
  @TccTry()
  async reserve(_call: BranchCall, _tx: EntityManager): Promise<void> {}

  @TccConfirm()
  async settle(): Promise<void> {}

  @TccCancel()
  async release(): Promise<void> {}
}

@TccParticipant('shipping')
@Injectable()
class Shipping {
  @SagaAction()
  async ship(): Promise<void> {}

  @SagaCompensate()
  async unship(): Promise<void> {}
}

@TccParticipant('mailer')
@Injectable()
class Mailer {
  @MessageHandler()
  async mail(): Promise<void> {}
}

/** What the app does when its transactions finish: records each, throwing on the first `failures` calls. */
@Injectable()
class Outcomes {
  readonly received: TransactionFinished[] = [];
  failures = 0;
  attempts = 0;

  @OnTransactionFinished()
  async finished(event: TransactionFinished): Promise<void> {
    this.attempts++;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('the outcome store is down');
    }
    this.received.push(event);
  }

  of(gid: string): TransactionFinished[] {
    return this.received.filter((e) => e.gid === gid);
  }
}

class Declined extends Error {}

@Injectable()
class Checkout {
  constructor(
    private readonly tcc: TccInitiator,
    private readonly sagas: TccSagas,
    private readonly messages: TccMessages,
  ) {}

  @TccTransactional()
  async pay(): Promise<string> {
    await this.tcc.branch({ participant: 'ledger' });
    return this.tcc.gid;
  }

  gids: string[] = [];

  @TccTransactional()
  async decline(): Promise<void> {
    this.gids.push(this.tcc.gid);
    await this.tcc.branch({ participant: 'ledger' });
    throw new Declined('no');
  }

  @TccTransactional({ callback: false })
  async quiet(): Promise<string> {
    await this.tcc.branch({ participant: 'ledger' });
    return this.tcc.gid;
  }

  async ship(): Promise<string> {
    const saga = await this.sagas.saga().step({ participant: 'shipping' }).submit({ wait: true });
    return saga.gid;
  }

  async notify(): Promise<string> {
    const sent = await this.messages.send({ steps: [{ participant: 'mailer' }], wait: true }, async () => 'ok');
    return sent.gid;
  }
}

async function startApp(dir: string, name: string, options: TccModuleOptions): Promise<NestFastifyApplication> {
  @Module({
    imports: [
      TypeOrmModule.forRoot({ ...dataSourceOptions({ sqlitePath: join(dir, `${name}.sqlite`), migrations: TCC_BARRIER_MIGRATIONS }), migrationsRun: true }),
      TccModule.forRoot({ apiKey: TEST_API_KEY, signingKeys: [SIGNING_KEY], requestTimeoutMs: 5_000, ...options }),
    ],
    providers: [Ledger, Shipping, Mailer, Outcomes, Checkout],
  })
  class AppModule {}
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  return app;
}

describe(`the @OnTransactionFinished() handler of an initiator (coordinator on ${SERVER})`, () => {
  let dir: string;
  let store: TestStore | undefined;
  let coordinator: RunningCoordinator | undefined;
  let httpApp: NestFastifyApplication | undefined;
  let grpcApp: NestFastifyApplication | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tcc-callback-lib-'));
    store = await createStore(SERVER);
    coordinator = await startCoordinator(store, {
      TCC_SIGNING_KEYS: SIGNING_KEY,
      TCC_ADMIN_TOKEN: ADMIN_TOKEN,
      TCC_RETRY_BASE_MS: '20',
      TCC_RETRY_MAX_MS: '200',
      TCC_CALLBACK_RETRY_BASE_MS: '50',
      TCC_CALLBACK_RETRY_MAX_MS: '200',
      TCC_SCAN_INTERVAL_MS: '100',
    });
    httpApp = await startApp(dir, 'http', { coordinatorUrl: coordinator.url });
    grpcApp = await startApp(dir, 'grpc', { coordinatorUrl: coordinator.url, grpc: { port: 0, host: '127.0.0.1' }, callbackProtocol: 'grpc', transport: 'grpc', coordinatorGrpcAddress: coordinator.grpcAddress });
  });

  afterAll(async () => {
    await closeAll(
      () => httpApp?.close(),
      () => grpcApp?.close(),
      () => coordinator?.close(),
      () => store?.dispose(),
      () => rmSync(dir, { recursive: true, force: true }),
    );
  });

  const received = (app: NestFastifyApplication, gid: string): Promise<TransactionFinished> =>
    eventually(() => app.get(Outcomes).of(gid)[0], { timeoutMs: 20_000, what: `the handler to receive ${gid}` });

  async function adminCallback(gid: string): Promise<{ state: string; attempts: number; lastError: string | null; protocol: string; target: string } | null> {
    const res = await coordinator!.api.send<{ callback: { state: string; attempts: number; lastError: string | null; protocol: string; target: string } | null }>({
      method: 'GET',
      path: `/admin/v1/transactions/${gid}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    return res.body.callback;
  }

  const deliveredRecord = (gid: string) =>
    eventually(
      async () => {
        const cb = await adminCallback(gid);
        return cb?.state === 'DELIVERED' ? cb : undefined;
      },
      { what: `${gid} recorded DELIVERED` },
    );

  it('receives a committed and a rolled-back transaction, a saga and a message, each once, over HTTP', async () => {
    const checkout = httpApp!.get(Checkout);
    const paid = await checkout.pay();
    await expect(checkout.decline()).rejects.toBeInstanceOf(Declined);
    const declined = checkout.gids.at(-1)!;
    const shipped = await checkout.ship();
    const notified = await checkout.notify();

    const events = {
      [paid]: await received(httpApp!, paid),
      [declined]: await received(httpApp!, declined),
      [shipped]: await received(httpApp!, shipped),
      [notified]: await received(httpApp!, notified),
    };
    expect(events[paid]).toMatchObject({ gid: paid, mode: 'tcc', status: 'COMMITTED', branches: [{ branchId: 'ledger', status: 'CONFIRMED' }] });
    expect(events[declined]).toMatchObject({ gid: declined, mode: 'tcc', status: 'ROLLED_BACK' });
    expect(events[shipped]).toMatchObject({ gid: shipped, mode: 'saga', status: 'COMMITTED' });
    expect(events[notified]).toMatchObject({ gid: notified, mode: 'message', status: 'COMMITTED', branches: [{ branchId: 'mailer', status: 'SUCCEEDED' }] });
    for (const gid of [paid, declined, shipped, notified]) {
      const cb = await deliveredRecord(gid);
      expect(cb.protocol).toBe('http');
      expect(cb.target).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/tcc\/callback$/);
      expect(httpApp!.get(Outcomes).of(gid)).toHaveLength(1);
    }
  });

  it('gets the callback again when the handler threw, and the coordinator records the failed attempt', async () => {
    const outcomes = httpApp!.get(Outcomes);
    outcomes.failures = 2;
    const gid = await httpApp!.get(Checkout).pay();
    const event = await received(httpApp!, gid);
    expect(event.status).toBe('COMMITTED');
    const cb = await deliveredRecord(gid);
    expect(cb.attempts).toBe(3);
    expect(cb.lastError).toMatch(/HTTP 500.*the outcome store is down/);
    expect(outcomes.of(gid)).toHaveLength(1);
  });

  it('asks for no callback with callback: false', async () => {
    const gid = await httpApp!.get(Checkout).quiet();
    expect(await adminCallback(gid)).toBeNull();
  });

  it('refuses a callback whose signature is wrong or missing before the handler runs', async () => {
    const url = `${(await httpApp!.getUrl()).replace('[::1]', '127.0.0.1')}/tcc/callback`;
    const gid = `forged-${randomSuffix()}`;
    const payload = { gid, mode: 'tcc', status: 'COMMITTED', createdAt: '', updatedAt: '', expiresAt: '', metadata: null, branches: [] };
    const body = JSON.stringify({ gid, branchId: 'callback', phase: 'callback', payload });
    const forged = signBranchCall('not-the-shared-signing-key-000', { phase: 'callback', gid, branchId: 'callback', payloadText: payloadText(payload) });
    const before = httpApp!.get(Outcomes).attempts;
    for (const headers of [forged, {}]) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: string }).error).toBe('SIGNATURE_INVALID');
    }
    const good = signBranchCall(SIGNING_KEY, { phase: 'callback', gid, branchId: 'callback', payloadText: payloadText(payload) });
    const wrongShape = JSON.stringify({ gid, branchId: 'prepared', phase: 'callback', payload });
    expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...good }, body: wrongShape })).status).toBe(400);
    expect(httpApp!.get(Outcomes).attempts).toBe(before);
  });

  it('receives it over gRPC (tcc.v1.Initiator/Finished) with callbackProtocol grpc', async () => {
    const gid = await grpcApp!.get(Checkout).pay();
    const event = await received(grpcApp!, gid);
    expect(event).toMatchObject({ gid, status: 'COMMITTED', mode: 'tcc' });
    const cb = await deliveredRecord(gid);
    expect(cb.protocol).toBe('grpc');
    expect(cb.target).toMatch(/^127\.0\.0\.1:\d+\/tcc\.v1\.Initiator\/Finished$/);
    expect(httpApp!.get(Outcomes).of(gid)).toHaveLength(0);
  });
});
