/** Admin REST for inspection (docs/contract.md §7): every route needs the admin token. */
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { BRANCH_ID_MAX_LENGTH, ID_PATTERN, type DecisionResponse, type TransactionView } from '@tcc/client/protocol';
import { invalidArgument } from '../domain/transaction.errors';
import { AdminService } from './admin.service';
import { ReasonDto, RetryDto } from './admin-action.dto';
import { LifecycleStore } from '../store/lifecycle.store';
import { OperatorStore } from '../store/operator.store';
import { QueryStore } from '../store/query.store';
import { CallbackStore } from '../store/callback.store';
import type { CallbackState } from '../store/records';
import { isFinal } from '../domain/transaction.state-machine';
import { toView } from '../transactions/transaction.service';
import { transactionNotFound } from '../domain/transaction.errors';
import { GidPipe } from '../transactions/gid.pipe';
import { AdminTokenGuard } from './admin-token.guard';
import { ListTransactionsDto } from './list-transactions.dto';

export interface AdminTransactionSummary {
  gid: string;
  /** tcc, saga or message. */
  mode: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  decidedAt: string | null;
  attentionAt: string | null;
  attentionReason: string | null;
  /** The API client that began it (null: begun before clients were recorded). */
  client: string | null;
  /** The replica holding its lease. */
  owner: string | null;
  nextAttemptAt: string | null;
  rounds: number;
  reason: string | null;
}

/** Who acted: the `x-tcc-actor` header when given, otherwise the holder of the admin token. */
function actorOf(header: string | undefined): string {
  if (header === undefined || header === '') return 'admin';
  if (header.length > 128 || !/^[\x20-\x7e]+$/.test(header)) throw invalidArgument('x-tcc-actor', 'x-tcc-actor must be 1 to 128 printable ASCII characters');
  return header;
}

function branchIdOf(value: string): string {
  if (value.length < 1 || value.length > BRANCH_ID_MAX_LENGTH || !ID_PATTERN.test(value)) {
    throw invalidArgument('branchId', `branchId must be 1 to ${BRANCH_ID_MAX_LENGTH} characters of A-Z a-z 0-9 _ . : -`);
  }
  return value;
}

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export interface AdminTransactionDetail extends TransactionView {
  reason: string | null;
  decidedAt: string | null;
  attentionAt: string | null;
  attentionReason: string | null;
  client: string | null;
  owner: string | null;
  nextAttemptAt: string | null;
  rounds: number;
  failures: { branchId: string; phase: string; attempt: number; error: string; createdAt: string }[];
  audit: { action: string; actor: string; reason: string | null; branchId: string | null; createdAt: string }[];
  /** Its completion callback (docs/contract.md §11); null when none was asked for. */
  callback: AdminCallbackView | null;
}

/** A completion callback as the admin sees it. `state` DUE also for one never attempted whose transaction is final. */
export interface AdminCallbackView {
  target: string;
  protocol: string;
  state: CallbackState;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  /** The replica sending it now, if any. */
  owner: string | null;
}

/** Failed attempts shown with a transaction: the newest ones. */
const FAILURES_SHOWN = 50;

@ApiTags('admin')
@ApiBearerAuth()
@Controller('admin/v1')
@UseGuards(AdminTokenGuard)
export class AdminController {
  constructor(
    private readonly store: LifecycleStore,
    private readonly operator: OperatorStore,
    private readonly queries: QueryStore,
    private readonly admin: AdminService,
    private readonly callbacks: CallbackStore,
  ) {}

  @Get('transactions')
  async list(@Query() q: ListTransactionsDto): Promise<{ items: AdminTransactionSummary[]; nextCursor: string | null }> {
    const limit = q.limit ?? 50;
    const rows = await this.queries.listTransactions({
      mode: q.mode,
      status: q.status,
      participant: q.participant,
      client: q.client,
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
        mode: t.mode,
        status: t.status,
        createdAt: new Date(t.createdAt).toISOString(),
        updatedAt: new Date(t.updatedAt).toISOString(),
        expiresAt: new Date(t.expiresAt).toISOString(),
        decidedAt: isoOrNull(t.decidedAt),
        attentionAt: isoOrNull(t.attentionAt),
        attentionReason: t.attentionReason,
        client: t.client,
        owner: t.owner,
        nextAttemptAt: isoOrNull(t.nextAttemptAt),
        rounds: t.rounds,
        reason: t.reason,
      })),
      nextCursor: rows.length > limit ? page[page.length - 1].gid : null,
    };
  }

  @Get('transactions/:gid')
  async get(@Param('gid', GidPipe) gid: string): Promise<AdminTransactionDetail> {
    const tx = await this.store.findTransaction(gid);
    if (!tx) throw transactionNotFound(gid);
    const [branches, failures, audit, callback] = await Promise.all([
      this.store.findBranches(gid),
      this.operator.findFailures(gid, FAILURES_SHOWN),
      this.operator.findAudit(gid),
      this.callbacks.find(gid),
    ]);
    return {
      ...toView(tx, branches),
      reason: tx.reason,
      decidedAt: isoOrNull(tx.decidedAt),
      attentionAt: isoOrNull(tx.attentionAt),
      attentionReason: tx.attentionReason,
      client: tx.client,
      owner: tx.owner,
      nextAttemptAt: isoOrNull(tx.nextAttemptAt),
      rounds: tx.rounds,
      failures: failures.map((f) => ({ ...f, createdAt: new Date(f.createdAt).toISOString() })),
      audit: audit.map((a) => ({ action: a.action, actor: a.actor, reason: a.reason, branchId: a.branchId, createdAt: new Date(a.createdAt).toISOString() })),
      callback: callback && {
        target: callback.target,
        protocol: callback.protocol,
        state: callback.state === 'WAITING' && isFinal(tx.status) ? 'DUE' : callback.state,
        attempts: callback.attempts,
        lastError: callback.lastError,
        nextAttemptAt: callback.state === 'DELIVERED' ? null : isoOrNull(callback.nextAttemptAt),
        deliveredAt: isoOrNull(callback.deliveredAt),
        owner: callback.owner,
      },
    };
  }

  @Post('transactions/:gid/retry')
  @HttpCode(200)
  retry(@Param('gid', GidPipe) gid: string, @Body() dto: RetryDto, @Headers('x-tcc-actor') actor?: string): Promise<DecisionResponse> {
    return this.admin.retryNow(gid, actorOf(actor), dto?.reason ?? null);
  }

  @Post('transactions/:gid/force-rollback')
  @HttpCode(200)
  forceRollback(@Param('gid', GidPipe) gid: string, @Body() dto: ReasonDto, @Headers('x-tcc-actor') actor?: string): Promise<DecisionResponse> {
    return this.admin.forceRollback(gid, actorOf(actor), dto.reason);
  }

  @Post('transactions/:gid/branches/:branchId/resolve')
  @HttpCode(200)
  resolve(
    @Param('gid', GidPipe) gid: string,
    @Param('branchId') branchId: string,
    @Body() dto: ReasonDto,
    @Headers('x-tcc-actor') actor?: string,
  ): Promise<DecisionResponse> {
    return this.admin.resolveBranch(gid, branchIdOf(branchId), actorOf(actor), dto.reason);
  }
}
