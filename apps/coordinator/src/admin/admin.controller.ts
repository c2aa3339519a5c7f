/** Admin REST for inspection (DESIGN.md §7): every route needs the admin token. */
import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import type { TransactionView } from '@tcc/client';
import { TransactionStore } from '../store/transaction.store';
import { toView } from '../transactions/transaction.service';
import { transactionNotFound } from '../transactions/transaction.errors';
import { GidPipe } from '../transactions/gid.pipe';
import { AdminTokenGuard } from './admin-token.guard';
import { ListTransactionsDto } from './list-transactions.dto';

export interface AdminTransactionSummary {
  gid: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  decidedAt: string | null;
  attentionAt: string | null;
  owner: string | null;
  nextAttemptAt: string | null;
  rounds: number;
  reason: string | null;
}

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

@Controller('admin/v1')
@UseGuards(AdminTokenGuard)
export class AdminController {
  constructor(private readonly store: TransactionStore) {}

  @Get('transactions')
  async list(@Query() q: ListTransactionsDto): Promise<{ items: AdminTransactionSummary[]; nextCursor: string | null }> {
    const limit = q.limit ?? 50;
    const rows = await this.store.listTransactions({
      status: q.status,
      participant: q.participant,
      attention: q.attention,
      createdFrom: q.createdFrom ? Date.parse(q.createdFrom) : undefined,
      createdTo: q.createdTo ? Date.parse(q.createdTo) : undefined,
      after: q.cursor,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    return {
      items: page.map((t) => ({
        gid: t.gid,
        status: t.status,
        createdAt: new Date(t.createdAt).toISOString(),
        updatedAt: new Date(t.updatedAt).toISOString(),
        expiresAt: new Date(t.expiresAt).toISOString(),
        decidedAt: isoOrNull(t.decidedAt),
        attentionAt: isoOrNull(t.attentionAt),
        owner: t.owner,
        nextAttemptAt: isoOrNull(t.nextAttemptAt),
        rounds: t.rounds,
        reason: t.reason,
      })),
      nextCursor: rows.length > limit ? page[page.length - 1].gid : null,
    };
  }

  @Get('transactions/:gid')
  async get(@Param('gid', GidPipe) gid: string): Promise<TransactionView & { reason: string | null; attentionAt: string | null; owner: string | null }> {
    const tx = await this.store.findTransaction(gid);
    if (!tx) throw transactionNotFound(gid);
    const branches = await this.store.findBranches(gid);
    return { ...toView(tx, branches), reason: tx.reason, attentionAt: isoOrNull(tx.attentionAt), owner: tx.owner };
  }
}
