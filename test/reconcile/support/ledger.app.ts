/**
 * A real participant service built with the library for the reconciliation specs: two TCC
 * participants (`stock`, `wallet`) whose try/confirm/cancel keep a business row in `ledger_holds`
 * (TRIED -> CONFIRMED | CANCELLED) next to the barrier, on a test server database, each with a
 * @TccReconcile() view of that row; and an initiator whose `pay` runs one global transaction over
 * both (the wallet refuses when asked to, so the transaction rolls back). Every reconcile query
 * is counted with its time, so a spec can check the rate the coordinator keeps to.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { EntityManager } from 'typeorm';
import {
  BranchRefusal,
  TccCancel,
  TccConfirm,
  TccInitiator,
  TccModule,
  TccParticipant,
  TccReconcile,
  TccTransactional,
  TccTry,
  TCC_BARRIER_MIGRATIONS,
  type BranchCall,
  type BusinessView,
} from '@tcc/client';
import { dataSourceOptions } from '@tcc/service-kit';
import { createTestDatabase, type TestDatabase } from '../../support/test.database';
import { TEST_API_KEY } from '../../support/api-keys';

export const SIGNING_KEY = 'reconcile-spec-signing-key-0001';

/** Times (Date.now()) of every reconcile query answered, per participant. */
export const reconcileQueries: number[] = [];

let postgres = false;
const p = (i: number): string => (postgres ? `$${i}` : '?');

const STATE_VIEW: Record<string, BusinessView['state']> = { TRIED: 'tried', CONFIRMED: 'confirmed', CANCELLED: 'cancelled' };

abstract class Holds {
  protected abstract readonly name: string;

  protected async tryHold(call: BranchCall, manager: EntityManager): Promise<void> {
    if ((call.payload as { refuse?: boolean } | null)?.refuse) throw new BranchRefusal('REFUSED', 'refused on purpose', 422);
    await manager.query(`INSERT INTO ledger_holds (gid, branch_id, participant, state) VALUES (${p(1)}, ${p(2)}, ${p(3)}, 'TRIED')`, [call.gid, call.branchId, this.name]);
  }

  protected async settle(call: BranchCall, manager: EntityManager, state: 'CONFIRMED' | 'CANCELLED'): Promise<void> {
    await manager.query(`UPDATE ledger_holds SET state = ${p(1)} WHERE gid = ${p(2)} AND branch_id = ${p(3)} AND participant = ${p(4)}`, [state, call.gid, call.branchId, this.name]);
  }

  protected async view(call: BranchCall, manager: EntityManager): Promise<BusinessView> {
    reconcileQueries.push(Date.now());
    const rows = (await manager.query(`SELECT state FROM ledger_holds WHERE gid = ${p(1)} AND branch_id = ${p(2)} AND participant = ${p(3)}`, [
      call.gid,
      call.branchId,
      this.name,
    ])) as { state: string }[];
    return rows.length ? { state: STATE_VIEW[rows[0].state] ?? 'none', detail: { row: rows[0].state } } : { state: 'none' };
  }
}

@TccParticipant('stock')
@Injectable()
class StockParticipant extends Holds {
  protected readonly name = 'stock';
  @TccTry() reserve(call: BranchCall, m: EntityManager): Promise<void> {
    return this.tryHold(call, m);
  }
  @TccConfirm() confirm(call: BranchCall, m: EntityManager): Promise<void> {
    return this.settle(call, m, 'CONFIRMED');
  }
  @TccCancel() cancel(call: BranchCall, m: EntityManager): Promise<void> {
    return this.settle(call, m, 'CANCELLED');
  }
  @TccReconcile() reconcile(call: BranchCall, m: EntityManager): Promise<BusinessView> {
    return this.view(call, m);
  }
}

@TccParticipant('wallet')
@Injectable()
class WalletParticipant extends Holds {
  protected readonly name = 'wallet';
  @TccTry() reserve(call: BranchCall, m: EntityManager): Promise<void> {
    return this.tryHold(call, m);
  }
  @TccConfirm() confirm(call: BranchCall, m: EntityManager): Promise<void> {
    return this.settle(call, m, 'CONFIRMED');
  }
  @TccCancel() cancel(call: BranchCall, m: EntityManager): Promise<void> {
    return this.settle(call, m, 'CANCELLED');
  }
  @TccReconcile() reconcile(call: BranchCall, m: EntityManager): Promise<BusinessView> {
    return this.view(call, m);
  }
}

@Injectable()
export class Checkout {
  constructor(private readonly tcc: TccInitiator) {}

  /** One global transaction over stock then wallet (and `remote`, a participant elsewhere); answers its gid and whether it committed. */
  async pay(refuse: boolean, remote?: string): Promise<{ gid: string; committed: boolean }> {
    const holder: { gid?: string } = {};
    try {
      await this.run(holder, refuse, remote);
      return { gid: holder.gid as string, committed: true };
    } catch (error) {
      if (!holder.gid) throw error;
      return { gid: holder.gid, committed: false };
    }
  }

  @TccTransactional({ timeoutMs: 60_000 })
  private async run(holder: { gid?: string }, refuse: boolean, remote?: string): Promise<void> {
    holder.gid = this.tcc.gid;
    await this.tcc.branch({ participant: 'stock' });
    await this.tcc.branch({ participant: 'wallet', payload: { refuse } });
    if (remote) await this.tcc.branch({ participant: 'remote', branchId: 'remote', urls: { try: `${remote}/try`, confirm: `${remote}/confirm`, cancel: `${remote}/cancel` } });
  }
}

export interface LedgerApp {
  url: string;
  grpcAddress: string;
  app: NestFastifyApplication;
  checkout: Checkout;
  database: TestDatabase;
  /** SQL with `?` placeholders on the participants' database. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** `retentionMs`: the barrier cleanup's retention (its periodic run off: a spec runs it). */
export async function startLedgerApp(coordinatorUrl: string, options: { retentionMs?: number } = {}): Promise<LedgerApp> {
  const database = await createTestDatabase();
  postgres = database.engine === 'postgres';
  await database.query(
    `CREATE TABLE ledger_holds (gid VARCHAR(128) NOT NULL, branch_id VARCHAR(64) NOT NULL, participant VARCHAR(32) NOT NULL, state VARCHAR(16) NOT NULL, PRIMARY KEY (gid, branch_id, participant))`,
  );

  @Module({
    imports: [
      TypeOrmModule.forRoot({ ...dataSourceOptions({ url: database.url, sqlitePath: 'unused', poolSize: 20, migrations: TCC_BARRIER_MIGRATIONS }), migrationsRun: true }),
      TccModule.forRoot({
        coordinatorUrl,
        apiKey: TEST_API_KEY,
        signingKeys: [SIGNING_KEY],
        requestTimeoutMs: 10_000,
        grpc: { port: 0, host: '127.0.0.1' },
        ...(options.retentionMs ? { barrierCleanup: { retentionMs: options.retentionMs, intervalMs: 0 } } : {}),
      }),
    ],
    providers: [StockParticipant, WalletParticipant, Checkout],
  })
  class LedgerModule {}

  const app = await NestFactory.create<NestFastifyApplication>(LedgerModule, new FastifyAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const { ParticipantGrpcServer } = await import('@tcc/client');
  return {
    url,
    grpcAddress: app.get(ParticipantGrpcServer).address(),
    app,
    checkout: app.get(Checkout),
    database,
    query: (sql, params = []) => database.query(sql, params) as never,
    async close() {
      try {
        await app.close();
      } finally {
        await database.drop();
      }
    },
  };
}
