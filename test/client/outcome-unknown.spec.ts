/**
 * The initiator never guesses a commit's outcome: with a real coordinator behind a proxy that cuts
 * the commit's (and the settling rollback's) connection before or after forwarding it, the method
 * throws TransactionOutcomeUnknownError with the gid, and TccInitiator.waitForOutcome then answers
 * the final status the coordinator reached (COMMITTED when the commit landed, ROLLED_BACK when the
 * deadline rolled it back). When the rollback does answer, the outcome is known and said.
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
  BranchCall,
  CoordinatorError,
  TccCancel,
  TccConfirm,
  TccInitiator,
  TccModule,
  TccParticipant,
  TccTransactional,
  TccTry,
  TCC_BARRIER_MIGRATIONS,
  TransactionAbortedError,
  TransactionOutcomeUnknownError,
  type TransactionView,
} from '@tcc/client';
import { dataSourceOptions } from '@tcc/service-kit';
import { createCoordinator } from './support/coordinator';
import { startCuttingProxy, type Cut, type CuttingProxy } from './support/cutting-proxy';
import { Http } from './support/http';
import { FAST_COORDINATOR } from './support/stack';
import { bearer, TEST_API_KEY } from '../support/api-keys';

const phases: string[] = [];

@TccParticipant('seat')
@Injectable()
class SeatParticipant {
  @TccTry()
  async hold(call: BranchCall): Promise<void> {
    phases.push(`try:${call.gid}`);
  }

  @TccConfirm()
  async book(call: BranchCall): Promise<void> {
    phases.push(`confirm:${call.gid}`);
  }

  @TccCancel()
  async release(call: BranchCall): Promise<void> {
    phases.push(`cancel:${call.gid}`);
  }
}

@Injectable()
class BookingService {
  constructor(private readonly tcc: TccInitiator) {}

  @TccTransactional({ timeoutMs: 1_500 })
  async book(): Promise<string> {
    await this.tcc.branch({ participant: 'seat' });
    return this.tcc.gid;
  }
}

/** Cuts the decision calls (commit, rollback) as told; everything else passes. */
const decisions =
  (commit: Cut, rollback: Cut) =>
  (method: string, path: string): Cut => {
    if (method === 'POST' && path.endsWith('/commit')) return commit;
    if (method === 'POST' && path.endsWith('/rollback')) return rollback;
    return 'pass';
  };

describe('a commit whose answer is lost (real coordinator behind a cutting proxy)', () => {
  let dir: string;
  let coordinator: Awaited<ReturnType<typeof createCoordinator>>;
  let proxy: CuttingProxy;
  let app: NestFastifyApplication;
  let booking: BookingService;
  let tcc: TccInitiator;
  const http = new Http();

  /** The transaction as the coordinator has it, read around the proxy. */
  const view = async (gid: string): Promise<TransactionView> =>
    (await http.get<TransactionView>(`${coordinator.url}/v1/transactions/${gid}`, bearer())).body;
  const outcomeOf = async (run: () => Promise<unknown>): Promise<unknown> => run().then((value) => ({ returned: value }), (error: unknown) => error);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tcc-outcome-'));
    coordinator = await createCoordinator({ ...FAST_COORDINATOR, TCC_SQLITE_PATH: join(dir, 'coordinator.sqlite') });
    proxy = await startCuttingProxy(coordinator.url);

    @Module({
      imports: [
        TypeOrmModule.forRoot({
          ...dataSourceOptions({ sqlitePath: join(dir, 'participant.sqlite'), migrations: TCC_BARRIER_MIGRATIONS }),
          migrationsRun: true,
        }),
        TccModule.forRootAsync({
          useFactory: () => ({ coordinatorUrl: proxy.url, apiKey: TEST_API_KEY, requestTimeoutMs: 2_000, decisionTimeoutMs: 2_000 }),
        }),
      ],
      providers: [SeatParticipant, BookingService],
    })
    class OutcomeAppModule {}

    app = await NestFactory.create<NestFastifyApplication>(OutcomeAppModule, new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    booking = app.get(BookingService);
    tcc = app.get(TccInitiator);
  });

  afterEach(() => {
    proxy.rule = () => 'pass';
  });

  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await coordinator?.close();
    await http.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commit done but its answer lost, the settling rollback unanswered too: outcome unknown, then COMMITTED', async () => {
    proxy.rule = decisions('after', 'after');
    const error = await outcomeOf(() => booking.book());
    expect(error).toBeInstanceOf(TransactionOutcomeUnknownError);
    const { gid, cause } = error as TransactionOutcomeUnknownError;
    expect(gid).toMatch(/.+/);
    expect((cause as Error).name).toBe('CoordinatorUnavailableError');
    // What the proxy saw: every commit forwarded and every rollback too, no answer passed on.
    const decided = proxy.calls.filter((c) => c.path.includes(gid) && c.method === 'POST' && /\/(commit|rollback)$/.test(c.path));
    expect(decided.map((c) => [c.path.split('/').pop(), c.answered])).toEqual([
      ['commit', 200],
      ['commit', 200],
      ['commit', 200],
      ['rollback', 409],
      ['rollback', 409],
      ['rollback', 409],
    ]);

    proxy.rule = () => 'pass';
    expect(await tcc.waitForOutcome(gid, { timeoutMs: 10_000 })).toBe('COMMITTED');
    expect((await view(gid)).branches.map((b) => b.status)).toEqual(['CONFIRMED']);
    expect(phases).toContain(`confirm:${gid}`);
    expect(phases).not.toContain(`cancel:${gid}`);
  });

  it('commit never arrived and the rollback neither: outcome unknown, then ROLLED_BACK by the deadline', async () => {
    proxy.rule = decisions('before', 'before');
    const error = await outcomeOf(() => booking.book());
    expect(error).toBeInstanceOf(TransactionOutcomeUnknownError);
    const { gid } = error as TransactionOutcomeUnknownError;
    expect((await view(gid)).status).toBe('TRYING');

    proxy.rule = () => 'pass';
    expect(await tcc.waitForOutcome(gid, { timeoutMs: 10_000 })).toBe('ROLLED_BACK');
    expect(phases).toContain(`cancel:${gid}`);
    expect(phases).not.toContain(`confirm:${gid}`);
  });

  it('commit answer lost but the rollback answers 409 COMMITTED: the method returns, no error', async () => {
    proxy.rule = decisions('after', 'pass');
    const result = (await outcomeOf(() => booking.book())) as { returned: string };
    expect(result.returned).toMatch(/.+/);
    expect((await view(result.returned)).status).toBe('COMMITTED');
  });

  it('commit never arrived and the rollback answers: known rolled back (TransactionAbortedError)', async () => {
    proxy.rule = decisions('before', 'pass');
    const error = await outcomeOf(() => booking.book());
    expect(error).toBeInstanceOf(TransactionAbortedError);
    expect(['ROLLING_BACK', 'ROLLED_BACK']).toContain((error as TransactionAbortedError).status);
    expect(await tcc.waitForOutcome((error as TransactionAbortedError).gid, { timeoutMs: 10_000 })).toBe('ROLLED_BACK');
  });

  it('waitForOutcome says unknown again, with the last status read, when it cannot read a final one in time', async () => {
    proxy.rule = decisions('before', 'before');
    const { gid } = (await outcomeOf(() => booking.book())) as TransactionOutcomeUnknownError;
    // Still TRYING (its deadline is 1.5 s away) when the wait gives up.
    proxy.rule = () => 'pass';
    const early = await outcomeOf(() => tcc.waitForOutcome(gid, { timeoutMs: 200, intervalMs: 50 }));
    expect(early).toBeInstanceOf(TransactionOutcomeUnknownError);
    expect((early as TransactionOutcomeUnknownError).lastStatus).toBe('TRYING');

    // No read answers at all: unknown, bounded by timeoutMs although each read retries.
    proxy.rule = () => 'before';
    const started = Date.now();
    const blind = await outcomeOf(() => tcc.waitForOutcome(gid, { timeoutMs: 600 }));
    expect(blind).toBeInstanceOf(TransactionOutcomeUnknownError);
    expect((blind as TransactionOutcomeUnknownError).lastStatus).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2_000);

    proxy.rule = () => 'pass';
    expect(await tcc.waitForOutcome(gid, { timeoutMs: 10_000 })).toBe('ROLLED_BACK');
  });

  it('waitForOutcome of a gid the coordinator does not know throws its 404 at once', async () => {
    const error = await outcomeOf(() => tcc.waitForOutcome('no-such-gid', { timeoutMs: 5_000 }));
    expect(error).toBeInstanceOf(CoordinatorError);
    expect((error as CoordinatorError).statusCode).toBe(404);
  });
});
