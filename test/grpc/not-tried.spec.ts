/**
 * A confirm with no try before it, at a participant built with the library (SQLite barrier), over
 * HTTP and gRPC: refused as 409 BRANCH_NOT_TRIED / FAILED_PRECONDITION with the library's
 * trailers, so the library's ParticipantCaller (the coordinator's way of calling) reports it as
 * `refused`; the business method does not run and no barrier row stays, so once the try has run
 * the same confirm applies.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import {
  BARRIER_TABLE,
  BRANCH_NOT_TRIED,
  BranchCall,
  ParticipantGrpcServer,
  participantGrpcTarget,
  runRead,
  TccCancel,
  TccConfirm,
  TccModule,
  TccParticipant,
  TccTry,
  TCC_BARRIER_MIGRATIONS,
  type ParticipantPhase,
} from '@tcc/client';
import { ParticipantCaller, type ParticipantCallResult } from '@tcc/client/caller/participant.caller';
import { dataSourceOptions } from '@tcc/service-kit';

const ran: string[] = [];

@TccParticipant('stock')
@Injectable()
class StockParticipant {
  @TccTry() reserve(call: BranchCall): void {
    ran.push(`try:${call.gid}`);
  }

  @TccConfirm() settle(call: BranchCall): void {
    ran.push(`confirm:${call.gid}`);
  }

  @TccCancel() release(call: BranchCall): void {
    ran.push(`cancel:${call.gid}`);
  }
}

describe('a confirm with no try before it (participant over HTTP and gRPC)', () => {
  let dir: string;
  let app: NestFastifyApplication;
  let url: string;
  let caller: ParticipantCaller;
  let grpcAddress: string;
  let sequence = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tcc-not-tried-'));
    @Module({
      imports: [
        TypeOrmModule.forRoot({
          ...dataSourceOptions({ sqlitePath: join(dir, 'participant.sqlite'), migrations: TCC_BARRIER_MIGRATIONS }),
          migrationsRun: true,
        }),
        TccModule.forRoot({ grpc: { port: 0, host: '127.0.0.1' } }),
      ],
      providers: [StockParticipant],
    })
    class StockModule {}
    app = await NestFactory.create<NestFastifyApplication>(StockModule, new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    caller = app.get(ParticipantCaller);
    grpcAddress = app.get(ParticipantGrpcServer).address();
  });

  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const gid = (): string => `g-not-tried-${++sequence}-${Date.now()}`;

  function call(protocol: 'http' | 'grpc', phase: ParticipantPhase, id: string): Promise<ParticipantCallResult> {
    return caller.call({
      protocol,
      target: protocol === 'http' ? `${url}/tcc/stock/${phase}` : participantGrpcTarget(grpcAddress, 'stock', phase),
      body: { gid: id, branchId: 'stock', phase, payload: { sku: 'A-1' } },
      timeoutMs: 5_000,
    });
  }

  const barrierRows = (id: string): Promise<Array<{ phase: string }>> =>
    runRead(app.get(DataSource), (manager) => manager.query(`SELECT phase FROM ${BARRIER_TABLE} WHERE gid = ?`, [id]));

  it('answers HTTP 409 BRANCH_NOT_TRIED, running nothing and keeping no barrier row', async () => {
    const id = gid();
    const response = await fetch(`${url}/tcc/stock/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ gid: id, branchId: 'stock', phase: 'confirm', payload: null }),
    });
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({ statusCode: 409, error: BRANCH_NOT_TRIED, message: `confirm of ${id}/stock arrived with no try before it` });
    expect(ran.filter((r) => r.endsWith(id))).toEqual([]);
    expect(await barrierRows(id)).toEqual([]);
  });

  it.each(['http', 'grpc'] as const)('is refused with BRANCH_NOT_TRIED 409 as the coordinator calls it over %s, then applies once the try ran', async (protocol) => {
    const id = gid();
    const refused = await call(protocol, 'confirm', id);
    expect(refused).toMatchObject({ outcome: 'refused', code: BRANCH_NOT_TRIED, statusCode: 409 });
    if (protocol === 'grpc') {
      // FAILED_PRECONDITION, named by the tcc-error-code trailer, 409 by tcc-http-status.
      expect(refused).toMatchObject({ body: { error: BRANCH_NOT_TRIED, grpcCode: 'FAILED_PRECONDITION' } });
    }
    expect(ran.filter((r) => r.endsWith(id))).toEqual([]);
    expect(await barrierRows(id)).toEqual([]);

    expect(await call(protocol, 'try', id)).toMatchObject({ outcome: 'done' });
    expect(await call(protocol, 'confirm', id)).toMatchObject({ outcome: 'done' });
    expect(await call(protocol, 'confirm', id)).toMatchObject({ outcome: 'done' });
    expect(ran.filter((r) => r.endsWith(id))).toEqual([`try:${id}`, `confirm:${id}`]);
  });

  it.each(['http', 'grpc'] as const)('refuses a confirm after an empty rollback over %s, never running it', async (protocol) => {
    const id = gid();
    expect(await call(protocol, 'cancel', id)).toMatchObject({ outcome: 'done' });
    expect(await call(protocol, 'confirm', id)).toMatchObject({ outcome: 'refused', code: BRANCH_NOT_TRIED, statusCode: 409 });
    expect(ran.filter((r) => r.endsWith(id))).toEqual([]);
    expect((await barrierRows(id)).map((r) => r.phase).sort()).toEqual(['cancel', 'try']);
  });
});
