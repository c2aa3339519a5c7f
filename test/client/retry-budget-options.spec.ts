/**
 * The initiator's retry budget (docs/contract.md §2.1) through the library, over HTTP and gRPC: per
 * transaction on @TccTransactional and per branch on TccInitiator.branch, per saga and per step on
 * the saga builder, per message and per step on TccMessages.send. A real coordinator (in this
 * process, on a SQLite file) records them, and its GET shows the budget that applies to each
 * branch: its own, else its transaction's.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoordinatorClient,
  CoordinatorError,
  MessageHandler,
  SagaAction,
  SagaCompensate,
  TCC_BARRIER_MIGRATIONS,
  TccCancel,
  TccConfirm,
  TccInitiator,
  TccMessages,
  TccModule,
  TccParticipant,
  TccSagas,
  TccTransactional,
  TccTry,
  type BranchCall,
} from '@tcc/client';
import { createCoordinator } from './support/coordinator';
import { FAST_COORDINATOR } from './support/stack';
import { TEST_API_KEY } from '../support/api-keys';
import { closeAll, randomSuffix } from '../support/wait';

@TccParticipant('ledger')
@Injectable()
class Ledger {
  @TccTry()
  async hold(): Promise<void> {}

  @TccConfirm()
  async settle(): Promise<void> {}

  @TccCancel()
  async release(): Promise<void> {}
}

@TccParticipant('stock')
@Injectable()
class Stock {
  @SagaAction()
  async take(): Promise<void> {}

  @SagaCompensate()
  async putBack(): Promise<void> {}
}

@TccParticipant('points')
@Injectable()
class Points {
  @MessageHandler()
  async award(_call: BranchCall): Promise<void> {}
}

@Injectable()
class Checkout {
  constructor(readonly initiator: TccInitiator) {}

  @TccTransactional({ timeoutMs: 10_000, retryFor: 60_000, maxAttempts: 5 })
  async pay(): Promise<string> {
    await this.initiator.branch({ participant: 'ledger', branchId: 'own', maxAttempts: 9 });
    await this.initiator.branch({ participant: 'ledger', branchId: 'inherits' });
    return this.initiator.gid;
  }

  @TccTransactional({ maxAttempts: -1 })
  async refused(): Promise<void> {}
}

describe.each(['http', 'grpc'] as const)('retry budget options through the library over %s', (transport) => {
  let dir: string;
  let coordinator: Awaited<ReturnType<typeof createCoordinator>>;
  let app: NestFastifyApplication;
  let client: CoordinatorClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tcc-budget-options-'));
    coordinator = await createCoordinator({ ...FAST_COORDINATOR, TCC_SQLITE_PATH: join(dir, 'coordinator.sqlite') });
    @Module({
      imports: [
        TypeOrmModule.forRoot({ type: 'better-sqlite3', database: join(dir, 'participant.sqlite'), migrations: TCC_BARRIER_MIGRATIONS, migrationsRun: true }),
        TccModule.forRoot({
          transport,
          coordinatorUrl: coordinator.url,
          coordinatorGrpcAddress: coordinator.grpcAddress,
          apiKey: TEST_API_KEY,
          requestTimeoutMs: 5_000,
          barrierCleanup: { intervalMs: 0 },
        }),
      ],
      providers: [Ledger, Stock, Points, Checkout],
    })
    class ShopModule {}
    app = await NestFactory.create<NestFastifyApplication>(ShopModule, new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    client = app.get(CoordinatorClient);
  });

  afterAll(() =>
    closeAll(
      () => app?.close(),
      () => coordinator?.close(),
      () => rmSync(dir, { recursive: true, force: true }),
    ),
  );

  it("sends the transaction's budget from @TccTransactional and a branch's own from branch()", async () => {
    const gid = await app.get(Checkout).pay();
    const view = await client.get(gid);
    expect(view.status).toBe('COMMITTED');
    expect(view.retryBudget).toEqual({ retryFor: 60_000, maxAttempts: 5, spentAt: null });
    expect(view.branches.map((b) => [b.branchId, b.retryBudget])).toEqual([
      ['own', { retryFor: null, maxAttempts: 9, failures: 0, spentAt: null }],
      ['inherits', { retryFor: 60_000, maxAttempts: 5, failures: 0, spentAt: null }],
    ]);
  });

  it('sends a saga budget and a step budget from the saga builder', async () => {
    const saga = app.get(TccSagas).saga({ maxAttempts: 4 }).step({ participant: 'stock', branchId: 's1', retryFor: 1_234 }).step({ participant: 'stock', branchId: 's2' });
    expect((await saga.submit({ wait: true })).status).toBe('COMMITTED');
    const view = await client.get(saga.gid);
    expect(view.retryBudget).toEqual({ retryFor: null, maxAttempts: 4, spentAt: null });
    expect(view.branches.map((b) => b.retryBudget)).toEqual([
      { retryFor: 1_234, maxAttempts: null, failures: 0, spentAt: null },
      { retryFor: null, maxAttempts: 4, failures: 0, spentAt: null },
    ]);
  });

  it('sends a message budget and a step budget from TccMessages.send', async () => {
    const gid = `budget-msg-${randomSuffix(8)}`;
    await app.get(TccMessages).send({ gid, retryFor: 5_000, steps: [{ participant: 'points', branchId: 'p1', maxAttempts: 2 }, { participant: 'points', branchId: 'p2' }], wait: true }, async () => 'ok');
    const view = await client.get(gid);
    expect(view.status).toBe('COMMITTED');
    expect(view.branches.map((b) => b.retryBudget)).toEqual([
      { retryFor: null, maxAttempts: 2, failures: 0, spentAt: null },
      { retryFor: 5_000, maxAttempts: null, failures: 0, spentAt: null },
    ]);
  });

  it('gets the coordinator\'s 400 naming the field for a bad budget', async () => {
    const error = await app.get(Checkout).refused().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CoordinatorError);
    expect((error as CoordinatorError).statusCode).toBe(400);
    expect((error as CoordinatorError).fields).toEqual(['maxAttempts']);
  });
});
