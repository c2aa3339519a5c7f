/**
 * Saga participants (@SagaAction, @SagaCompensate), message handlers (@MessageHandler) and the
 * queryPrepared endpoint through real HTTP and gRPC calls to a Nest app, signed as the coordinator
 * signs them, made with the library's ParticipantCaller (the coordinator's way of calling) and plain
 * HTTP; and the explorer's start-up checks of the new kinds, naming class and method.
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
  BARRIER_TABLE,
  BranchRefusal,
  MessageHandler,
  ParticipantDefinitionError,
  ParticipantGrpcServer,
  PREPARED_BRANCH_ID,
  SagaAction,
  SagaCompensate,
  TCC_BARRIER_MIGRATIONS,
  TCC_HEADERS,
  TccCancel,
  TccConfirm,
  TccModule,
  TccParticipant,
  TccTry,
  participantGrpcService,
  participantGrpcTarget,
  queryPreparedGrpcTarget,
  runRead,
  signBranchCall,
  payloadText,
  type BranchCall,
  type BranchPhase,
  type JsonValue,
} from '@tcc/client';
import { ParticipantCaller, type ParticipantCallResult } from '@tcc/client/caller/participant.caller';
import { dataSourceOptions } from '@tcc/service-kit';
import { Http } from './support/http';

const SIGNING_KEY = 'saga-message-spec-signing-key-0001';
const ran: string[] = [];

@TccParticipant('ship-order')
@Injectable()
class ShipOrder {
  @SagaAction()
  async ship(call: BranchCall, manager: EntityManager): Promise<{ shipped: true }> {
    expect(manager.queryRunner?.isTransactionActive).toBe(true);
    if ((call.payload as { refuse?: boolean } | null)?.refuse) throw new BranchRefusal('NO_COURIER', 'no courier today', 409);
    ran.push(`action:${call.gid}`);
    return { shipped: true };
  }

  @SagaCompensate()
  async recall(call: BranchCall): Promise<void> {
    ran.push(`compensate:${call.gid}`);
  }
}

@TccParticipant('mailer')
@Injectable()
class Mailer {
  @MessageHandler()
  async send(call: BranchCall, manager: EntityManager): Promise<{ mailed: JsonValue | null }> {
    expect(manager.queryRunner?.isTransactionActive).toBe(true);
    ran.push(`message:${call.gid}:${call.branchId}`);
    return { mailed: call.payload };
  }
}

describe('saga participants, message handlers and queryPrepared over HTTP and gRPC', () => {
  let dir: string;
  let app: NestFastifyApplication;
  let url: string;
  let grpcAddress: string;
  let caller: ParticipantCaller;
  const http = new Http();
  let sequence = 0;
  const gid = (): string => `g-sm-${++sequence}-${Date.now()}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tcc-saga-message-'));
    @Module({
      imports: [
        TypeOrmModule.forRoot({
          ...dataSourceOptions({ sqlitePath: join(dir, 'participant.sqlite'), migrations: TCC_BARRIER_MIGRATIONS }),
          migrationsRun: true,
        }),
        TccModule.forRoot({ grpc: { port: 0, host: '127.0.0.1' }, signingKeys: [SIGNING_KEY] }),
      ],
      providers: [ShipOrder, Mailer],
    })
    class SagaMessageModule {}
    app = await NestFactory.create<NestFastifyApplication>(SagaMessageModule, new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    grpcAddress = app.get(ParticipantGrpcServer).address();
    caller = app.get(ParticipantCaller);
  });

  afterAll(async () => {
    await app?.close();
    await http.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function call(protocol: 'http' | 'grpc', participant: string, phase: BranchPhase, id: string, payload: JsonValue | null = null, branchId = 'step'): Promise<ParticipantCallResult> {
    return caller.call({
      protocol,
      target: protocol === 'http' ? `${url}/tcc/${participant}/${phase}` : participantGrpcTarget(grpcAddress, participant, phase as Exclude<BranchPhase, 'query' | 'callback' | 'reconcile'>),
      body: { gid: id, branchId, phase, payload },
      timeoutMs: 5_000,
      signingKey: SIGNING_KEY,
    });
  }

  /** A signed queryPrepared over HTTP, answered with its body (the caller reads no body of a non-try call before main's change). */
  async function queryHttp(id: string, key: string | null = SIGNING_KEY): Promise<{ status: number; body: Record<string, unknown> }> {
    const signature = key ? signBranchCall(key, { phase: 'query', gid: id, branchId: PREPARED_BRANCH_ID, payloadText: payloadText(null) }) : {};
    const headers = { [TCC_HEADERS.gid]: id, [TCC_HEADERS.branchId]: PREPARED_BRANCH_ID, [TCC_HEADERS.phase]: 'query', ...signature };
    return http.post(`${url}/tcc/query-prepared`, { gid: id, branchId: PREPARED_BRANCH_ID, phase: 'query', payload: null }, headers);
  }

  const barrierRows = async (id: string): Promise<string[]> =>
    (await runRead(app.get(DataSource), (manager) => manager.query(`SELECT branch_id, phase, reason FROM ${BARRIER_TABLE} WHERE gid = ?`, [id])) as Array<Record<string, string>>)
      .map((r) => `${r.branch_id}:${r.phase}:${r.reason}`)
      .sort();

  it('serves each participant over gRPC with the methods of its kind only', () => {
    expect(participantGrpcService('ship-order')).toBe('tcc.v1.participants.ShipOrder');
    expect(participantGrpcTarget(grpcAddress, 'ship-order', 'compensate')).toBe(`${grpcAddress}/tcc.v1.participants.ShipOrder/Compensate`);
    expect(participantGrpcTarget(grpcAddress, 'mailer', 'message')).toBe(`${grpcAddress}/tcc.v1.participants.Mailer/Message`);
    expect(queryPreparedGrpcTarget(grpcAddress)).toBe(`${grpcAddress}/tcc.v1.Initiator/QueryPrepared`);
  });

  it.each(['http', 'grpc'] as const)('runs a saga step over %s: action once, compensation once, repeats answered from the barrier', async (protocol) => {
    const id = gid();
    const action = await call(protocol, 'ship-order', 'action', id);
    expect(action.outcome).toBe('done');
    if (protocol === 'grpc') expect(action).toMatchObject({ outcome: 'done', body: { gid: id, branchId: 'step', phase: 'action', outcome: 'applied', result: { shipped: true } } });
    expect((await call(protocol, 'ship-order', 'action', id)).outcome).toBe('done');
    expect((await call(protocol, 'ship-order', 'compensate', id)).outcome).toBe('done');
    expect((await call(protocol, 'ship-order', 'compensate', id)).outcome).toBe('done');
    expect(ran.filter((r) => r.endsWith(id))).toEqual([`action:${id}`, `compensate:${id}`]);
    expect(await barrierRows(id)).toEqual(['step:cancel:cancel', 'step:try:try']);
  });

  it.each(['http', 'grpc'] as const)('refuses over %s an action the business refuses (409 NO_COURIER) and a late action after its compensation (409 BRANCH_CANCELLED)', async (protocol) => {
    const refusedId = gid();
    const refused = await call(protocol, 'ship-order', 'action', refusedId, { refuse: true });
    expect(refused).toMatchObject({ outcome: 'refused', statusCode: 409, code: 'NO_COURIER' });
    const lateId = gid();
    expect((await call(protocol, 'ship-order', 'compensate', lateId)).outcome).toBe('done');
    const late = await call(protocol, 'ship-order', 'action', lateId);
    expect(late).toMatchObject({ outcome: 'refused', statusCode: 409, code: 'BRANCH_CANCELLED' });
    expect(ran.filter((r) => r.endsWith(refusedId) || r.endsWith(lateId))).toEqual([]);
  });

  it.each(['http', 'grpc'] as const)('delivers a message step over %s once: a redelivery answers success without running', async (protocol) => {
    const id = gid();
    const first = await call(protocol, 'mailer', 'message', id, { to: 'a@example.test' }, 'welcome');
    const second = await call(protocol, 'mailer', 'message', id, { to: 'a@example.test' }, 'welcome');
    expect([first.outcome, second.outcome]).toEqual(['done', 'done']);
    if (protocol === 'grpc') expect([first, second]).toMatchObject([{ body: { outcome: 'applied' } }, { body: { outcome: 'duplicate' } }]);
    expect(ran.filter((r) => r.includes(id))).toEqual([`message:${id}:welcome`]);
    expect(await barrierRows(id)).toEqual(['welcome:msg:msg']);
  });

  it('answers a phase of another kind 404 over HTTP and NOT_FOUND / UNIMPLEMENTED over gRPC', async () => {
    const id = gid();
    expect(await call('http', 'ship-order', 'try', id)).toMatchObject({ outcome: 'refused', statusCode: 404 });
    expect(await call('http', 'mailer', 'compensate', id)).toMatchObject({ outcome: 'refused', statusCode: 404 });
    // A saga participant's gRPC service has no Try method at all.
    const grpcTry = await call('grpc', 'ship-order', 'try', id);
    expect(grpcTry.outcome).not.toBe('done');
    expect(ran.filter((r) => r.includes(id))).toEqual([]);
  });

  it('answers queryPrepared over HTTP and gRPC: ROLLED_BACK for a gid no local transaction prepared, the same when asked again', async () => {
    const id = gid();
    const overHttp = await queryHttp(id);
    expect([overHttp.status, overHttp.body]).toEqual([200, { status: 'ROLLED_BACK' }]);
    const overGrpc = await caller.call({
      protocol: 'grpc',
      target: queryPreparedGrpcTarget(grpcAddress),
      body: { gid: id, branchId: PREPARED_BRANCH_ID, phase: 'query', payload: null },
      timeoutMs: 5_000,
      signingKey: SIGNING_KEY,
    });
    expect(overGrpc).toEqual({ outcome: 'done', body: { status: 'ROLLED_BACK' } });
    expect(await barrierRows(id)).toEqual(['prepared:prepared:rollback']);
  });

  it('refuses an unsigned or wrongly signed queryPrepared (401 SIGNATURE_INVALID / UNAUTHENTICATED) before writing anything', async () => {
    const id = gid();
    const unsigned = await queryHttp(id, null);
    expect([unsigned.status, unsigned.body.error]).toEqual([401, 'SIGNATURE_INVALID']);
    const wrong = await queryHttp(id, 'another-signing-key-of-16-chars-or-more');
    expect([wrong.status, wrong.body.error]).toEqual([401, 'SIGNATURE_INVALID']);
    const overGrpc = await caller.call({
      protocol: 'grpc',
      target: queryPreparedGrpcTarget(grpcAddress),
      body: { gid: id, branchId: PREPARED_BRANCH_ID, phase: 'query', payload: null },
      timeoutMs: 5_000,
    });
    expect(overGrpc).toMatchObject({ outcome: 'refused', statusCode: 401, code: 'SIGNATURE_INVALID' });
    // A signature over another phase does not pass for a query.
    const signedAsTry = signBranchCall(SIGNING_KEY, { phase: 'try', gid: id, branchId: PREPARED_BRANCH_ID, payloadText: 'null' });
    const replayed = await http.post(`${url}/tcc/query-prepared`, { gid: id, branchId: PREPARED_BRANCH_ID, phase: 'query', payload: null }, signedAsTry);
    expect(replayed.status).toBe(401);
    expect(await barrierRows(id)).toEqual([]);
  });
});

describe('participant explorer at start-up: saga and message participants', () => {
  async function start(provider: new (...args: never[]) => unknown): Promise<unknown> {
    @Module({ imports: [TccModule.forRoot()], providers: [provider] })
    class BrokenModule {}
    const context = await NestFactory.createApplicationContext(BrokenModule, { logger: false, abortOnError: false }).catch((e: unknown) => e);
    if (!(context instanceof Error)) await (context as { close(): Promise<void> }).close();
    return context;
  }

  it('fails for a saga participant without its compensation, naming the class and the method', async () => {
    @TccParticipant('no-undo')
    @Injectable()
    class NoUndo {
      @SagaAction() ship(): void {}
    }
    const error = await start(NoUndo);
    expect(error).toBeInstanceOf(ParticipantDefinitionError);
    expect((error as Error).message).toBe('NoUndo.ship() (participant "no-undo") has no @SagaCompensate() partner method in NoUndo');
  });

  it('fails for a compensation without its action', async () => {
    @TccParticipant('undo-only')
    @Injectable()
    class UndoOnly {
      @SagaCompensate() recall(): void {}
    }
    expect(((await start(UndoOnly)) as Error).message).toBe('UndoOnly.recall() (participant "undo-only") has no @SagaAction() partner method in UndoOnly');
  });

  it('fails for a class mixing kinds, naming both methods', async () => {
    @TccParticipant('mixed')
    @Injectable()
    class Mixed {
      @TccTry() reserve(): void {}
      @TccConfirm() settle(): void {}
      @TccCancel() release(): void {}
      @MessageHandler() consume(): void {}
    }
    const error = await start(Mixed);
    expect(error).toBeInstanceOf(ParticipantDefinitionError);
    expect((error as Error).message).toMatch(/^Mixed\.consume\(\) is marked @MessageHandler\(\) but Mixed \(participant "mixed"\) is a TCC participant \(reserve\(\) is marked @TccTry\(\)\)/);
  });

  it('fails for a saga action beside a message handler, and for two message handlers', async () => {
    @TccParticipant('half')
    @Injectable()
    class Half {
      @SagaAction() act(): void {}
      @SagaCompensate() undo(): void {}
      @MessageHandler() consume(): void {}
    }
    expect(((await start(Half)) as Error).message).toMatch(/Half\.consume\(\) is marked @MessageHandler\(\) but Half \(participant "half"\) is a saga participant/);
    @TccParticipant('twice')
    @Injectable()
    class Twice {
      @MessageHandler() one(): void {}
      @MessageHandler() two(): void {}
    }
    expect(((await start(Twice)) as Error).message).toBe('Twice: both one() and two() are marked @MessageHandler(); a participant has one of each');
  });

  it('fails for a participant with no marked method, and for marks on a class that is no participant', async () => {
    @TccParticipant('empty')
    @Injectable()
    class Empty {
      nothing(): void {}
    }
    expect(((await start(Empty)) as Error).message).toMatch(/^Empty \(participant "empty"\) has no marked method: it must be a TCC participant/);
    @Injectable()
    class Unnamed {
      @SagaAction() act(): void {}
    }
    expect(((await start(Unnamed)) as Error).message).toBe('Unnamed.act() is marked @SagaAction() but Unnamed has no @TccParticipant(name)');
  });
});
