/**
 * Admin REST of reconciliation (docs/contract.md §13), behind the admin token: start a run over a
 * window of finish times (202 with its id), list runs, one run with its findings (each with the
 * coordinator's view and the participant's answer).
 */
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { TccError, TccErrorCode, invalidArgument } from '../domain/transaction.errors';
import { ReconciliationRunner } from '../reconcile/reconciliation.runner';
import { ReconciliationStore, type FindingRecord, type RunRecord } from '../store/reconciliation.store';
import { AdminTokenGuard } from './admin-token.guard';
import { ListReconciliationsDto, RunFindingsDto, StartReconciliationDto } from './reconciliation.dto';

const RUN_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export interface RunView {
  id: string;
  trigger: string;
  requestedBy: string | null;
  state: string;
  from: string;
  to: string;
  /** Where the run is: the finish time and gid of the last transaction checked. */
  cursor: { at: string; gid: string } | null;
  checked: number;
  branches: number;
  mismatches: number;
  unreachable: number;
  expired: number;
  skipped: number;
  queries: number;
  owner: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  error: string | null;
}

export interface FindingView {
  gid: string;
  branchId: string;
  kind: string;
  coordinator: unknown;
  participant: unknown;
  foundAt: string;
}

function runView(r: RunRecord): RunView {
  return {
    id: r.id,
    trigger: r.trigger,
    requestedBy: r.requestedBy,
    state: r.state,
    from: new Date(r.from).toISOString(),
    to: new Date(r.to).toISOString(),
    cursor: r.cursor ? { at: new Date(r.cursor.at).toISOString(), gid: r.cursor.gid } : null,
    checked: r.checked,
    branches: r.branches,
    mismatches: r.mismatches,
    unreachable: r.unreachable,
    expired: r.expired,
    skipped: r.skipped,
    queries: r.queries,
    owner: r.owner,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
    finishedAt: iso(r.finishedAt),
    error: r.error,
  };
}

function findingView(f: FindingRecord): FindingView {
  return {
    gid: f.gid,
    branchId: f.branchId,
    kind: f.kind,
    coordinator: JSON.parse(f.coordinatorView) as unknown,
    participant: JSON.parse(f.participantView) as unknown,
    foundAt: new Date(f.createdAt).toISOString(),
  };
}

@ApiTags('admin')
@ApiBearerAuth()
@Controller('admin/v1/reconciliations')
@UseGuards(AdminTokenGuard)
export class ReconciliationsController {
  constructor(
    private readonly runner: ReconciliationRunner,
    private readonly store: ReconciliationStore,
  ) {}

  @Post()
  @HttpCode(202)
  async start(@Body() dto: StartReconciliationDto, @Headers('x-tcc-actor') actor?: string): Promise<RunView> {
    const from = Date.parse(dto.from);
    const to = Date.parse(dto.to);
    if (Number.isNaN(from)) throw invalidArgument('from', 'from is not a valid date');
    if (Number.isNaN(to)) throw invalidArgument('to', 'to is not a valid date');
    if (from >= to) throw invalidArgument('to', 'to must be later than from');
    if (actor !== undefined && actor !== '' && (actor.length > 128 || !/^[\x20-\x7e]+$/.test(actor))) {
      throw invalidArgument('x-tcc-actor', 'x-tcc-actor must be 1 to 128 printable ASCII characters');
    }
    const who = actor || 'admin';
    return runView(await this.runner.start(from, to, who));
  }

  @Get()
  async list(@Query() q: ListReconciliationsDto): Promise<{ items: RunView[] }> {
    return { items: (await this.store.listRuns(q.limit ?? 20)).map(runView) };
  }

  @Get(':id')
  async get(@Param('id') id: string, @Query() q: RunFindingsDto): Promise<RunView & { findings: FindingView[]; nextCursor: number | null }> {
    if (!RUN_ID.test(id)) throw invalidArgument('id', 'a run id is 1 to 64 characters of A-Z a-z 0-9 _ . : -');
    const run = await this.store.findRun(id);
    if (!run) throw new TccError(TccErrorCode.NOT_FOUND, `reconciliation run ${id} not found`);
    const limit = q.limit ?? 100;
    const rows = await this.store.findFindings(id, q.cursor ?? 0, limit + 1);
    const page = rows.slice(0, limit);
    return { ...runView(run), findings: page.map(findingView), nextCursor: rows.length > limit ? page[page.length - 1].id : null };
  }
}
