/**
 * Reconciliation runs (docs/contract.md §13): pages through the finished transactions of a window,
 * asks each branch's participant what it did (signed `phase: "reconcile"` calls, at most
 * TCC_RECONCILE_RATE a second), judges each answer (domain/reconciliation.rules.ts) and writes the
 * page's findings with the cursor in one local transaction. A run is held under a lease: a replica
 * killed mid-run loses it, and whichever replica claims it next resumes from the cursor, so no
 * transaction is counted twice. It reads and reports; it never changes a transaction.
 */
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { ParticipantCaller } from '@tcc/client/caller';
import { BUSINESS_STATES, reconcileTargetOf, type JsonValue, type ReconcileAnswer } from '@tcc/client/protocol';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { isCheckable, judge, UNREACHABLE } from '../domain/reconciliation.rules';
import { invalidArgument } from '../domain/transaction.errors';
import { MetricsService } from '../metrics/metrics.service';
import { AttentionNotifier } from '../phase-two/attention.notifier';
import { isTransient } from '../store/database';
import type { BranchRecord } from '../store/records';
import { ReconciliationStore, type FinishedTransaction, type NewFinding, type RunCursor, type RunRecord } from '../store/reconciliation.store';
import { ReplicaIdentity } from '../store/replica.identity';
import { TokenBucket } from './token.bucket';

/** Queries of one run in flight at once (the bucket bounds their rate). */
const CONCURRENCY = 16;
/** Attempts of one query before the branch is reported UNREACHABLE. */
const ATTEMPTS = 3;
/** Scheduled windows a replica inserts at most in one go, catching up after a busy while. */
const MAX_CATCH_UP = 24;

type Check = { finding?: NewFinding; expired?: boolean; skipped?: boolean; queries: number };

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The answer, if it has the shape of a ReconcileAnswer (§13); a participant is not trusted to. */
function asAnswer(body: JsonValue | undefined): ReconcileAnswer | undefined {
  const a = body as Partial<ReconcileAnswer> | undefined;
  if (!a || typeof a !== 'object' || !Array.isArray(a.rows) || typeof a.retentionMs !== 'number' || typeof a.now !== 'number') return undefined;
  if (!a.rows.every((r) => r && typeof r === 'object' && typeof r.phase === 'string' && typeof r.reason === 'string')) return undefined;
  if (a.business !== null && a.business !== undefined && !BUSINESS_STATES.includes((a.business as { state: never }).state)) return undefined;
  return { ...a, business: a.business ?? null } as ReconcileAnswer;
}

@Injectable()
export class ReconciliationRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Reconciliation');
  private readonly bucket: TokenBucket;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;
  /** The end of the last window this replica scheduled, so it inserts each scheduled run once. */
  private scheduledTo = 0;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    private readonly store: ReconciliationStore,
    private readonly caller: ParticipantCaller,
    private readonly attention: AttentionNotifier,
    private readonly metrics: MetricsService,
    private readonly replica: ReplicaIdentity,
  ) {
    this.bucket = new TokenBucket(config.reconcile.rate);
  }

  onApplicationBootstrap(): void {
    this.wake(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.loop?.catch(() => undefined);
  }

  /**
   * Records a run over [from, to) asked for by `actor` and answers it; a window reaching past the
   * database's now is cut there, since transactions finishing later would land behind the cursor.
   */
  async start(from: number, to: number, actor: string): Promise<RunRecord> {
    const now = await this.store.clock();
    const end = Math.min(to, now);
    if (from >= end) throw invalidArgument('from', `from must be earlier than to and than now (${new Date(now).toISOString()})`);
    const id = `rec-${now}-${randomBytes(4).toString('hex')}`;
    await this.store.createRun({ id, trigger: 'admin', requestedBy: actor, from, to: end });
    this.wake(0);
    return (await this.store.findRun(id)) as RunRecord;
  }

  /** Checks for work now (or after `delayMs`) unless a run is under way. */
  private wake(delayMs: number): void {
    if (this.stopped || this.loop) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.loop = this.tick()
        .catch((error: Error) => this.logger.warn(`reconciliation: ${error.message}`))
        .finally(() => {
          this.loop = null;
          this.wake(this.config.scan.intervalMs);
        });
    }, delayMs);
  }

  private async tick(): Promise<void> {
    await this.schedule();
    for (;;) {
      if (this.stopped) return;
      const run = await this.store.claimRun(this.replica.id, this.config.leaseMs);
      if (!run) return;
      await this.execute(run);
    }
  }

  /**
   * The scheduled runs of the whole periods ending TCC_RECONCILE_LAG_MS ago: at start the latest
   * one, then every period since (up to MAX_CATCH_UP, so a replica busy for a while skips none).
   * A run's id names its window, so every replica inserts the same run and only one row exists;
   * one replica claims it.
   */
  private async schedule(): Promise<void> {
    const { intervalMs, lagMs } = this.config.reconcile;
    if (intervalMs <= 0) return;
    const now = await this.store.clock();
    const latest = Math.floor((now - lagMs) / intervalMs) * intervalMs;
    if (latest <= this.scheduledTo || latest - intervalMs < 0) return;
    const first = this.scheduledTo > 0 ? Math.max(this.scheduledTo + intervalMs, latest - (MAX_CATCH_UP - 1) * intervalMs) : latest;
    for (let to = first; to <= latest; to += intervalMs) {
      if (await this.store.createRun({ id: `sched-${to}`, trigger: 'schedule', requestedBy: null, from: to - intervalMs, to })) {
        this.logger.log(`scheduled reconciliation of ${iso(to - intervalMs)} .. ${iso(to)}`);
      }
    }
    this.scheduledTo = latest;
  }

  private async execute(run: RunRecord): Promise<void> {
    const owner = this.replica.id;
    this.logger.log({ runId: run.id, msg: `reconciliation ${run.cursor ? 'resumed' : 'started'}: ${iso(run.from)} .. ${iso(run.to)}` });
    let lost = false;
    // The lease outlives a page only if renewed while the page's queries wait on the rate.
    const heartbeat = setInterval(() => {
      void this.store.renewLease(run.id, owner, this.config.leaseMs).then(
        (held) => (lost ||= !held),
        () => undefined,
      );
    }, Math.max(50, Math.floor(this.config.leaseMs / 3)));
    let cursor: RunCursor | null = run.cursor;
    let found = run.mismatches;
    try {
      for (;;) {
        if (this.stopped || lost) {
          if (!lost) await this.store.releaseRun(run.id, owner);
          return;
        }
        const page = await this.store.page(run.from, run.to, cursor, this.config.reconcile.batch);
        if (page.length === 0) break;
        const checks = await this.checkPage(page);
        const last = page[page.length - 1];
        const next = { at: last.finishedAt, gid: last.gid };
        const counts = { checked: page.length, branches: 0, expired: 0, skipped: 0, queries: 0 };
        for (const c of checks) {
          counts.queries += c.queries;
          if (c.skipped) counts.skipped++;
          else counts.branches++;
          if (c.expired) counts.expired++;
        }
        const findings = checks.flatMap((c) => (c.finding ? [c.finding] : []));
        const inserted = await this.store.commitPage(run.id, owner, this.config.leaseMs, cursor, next, counts, findings);
        if (inserted === null) {
          this.logger.warn({ runId: run.id, msg: 'reconciliation run taken over by another replica: stopping here' });
          return;
        }
        cursor = next;
        this.metrics.reconciliationChecked.inc(page.length);
        for (const f of inserted) {
          if (f.kind === UNREACHABLE) {
            this.metrics.reconciliationUnreachable.inc();
            continue;
          }
          found++;
          this.metrics.reconciliationMismatches.inc({ kind: f.kind });
          this.attention.reconciliationMismatch({
            runId: run.id,
            gid: f.gid,
            branchId: f.branchId,
            mismatch: f.kind,
            coordinator: JSON.parse(f.coordinatorView) as unknown,
            participant: JSON.parse(f.participantView) as unknown,
          });
        }
      }
      if (await this.store.finishRun(run.id, owner, 'DONE', null)) {
        this.metrics.reconciliationRuns.inc({ outcome: found > 0 ? 'mismatches' : 'clean' });
        this.logger.log({ runId: run.id, msg: `reconciliation done: ${found} mismatches` });
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (isTransient(error)) {
        // The database is down or not ready: the run stays RUNNING at its cursor and is resumed.
        this.logger.warn({ runId: run.id, msg: `reconciliation paused (database): ${message}` });
        await this.store.releaseRun(run.id, owner).catch(() => undefined);
        return;
      }
      this.logger.error({ runId: run.id, msg: `reconciliation failed: ${message}` });
      if (await this.store.finishRun(run.id, owner, 'FAILED', message).catch(() => false)) this.metrics.reconciliationRuns.inc({ outcome: 'failed' });
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Every branch of the page checked, CONCURRENCY at a time. */
  private async checkPage(page: FinishedTransaction[]): Promise<Check[]> {
    const work = page.flatMap((t) => t.branches.map((b) => [t, b] as const));
    const out: Check[] = new Array(work.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < work.length) {
        const i = next++;
        out[i] = await this.checkBranch(work[i][0], work[i][1]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, work.length) }, worker));
    return out;
  }

  private async checkBranch(t: FinishedTransaction, b: BranchRecord): Promise<Check> {
    const target = reconcileTargetOf(b.protocol, b.confirmTarget);
    if (!target || !isCheckable(t.mode, t.status, b.status)) return { skipped: true, queries: 0 };
    const coordinator = {
      mode: t.mode,
      status: t.status,
      branchStatus: b.status,
      participant: b.participant,
      target,
      createdAt: iso(t.createdAt),
      decidedAt: iso(t.decidedAt),
      finishedAt: iso(t.finishedAt),
      attempts: b.attempts,
      lastError: b.lastError,
    };
    let queries = 0;
    let error = '';
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      await this.bucket.acquire();
      queries++;
      const result = await this.caller.call({
        protocol: b.protocol === 'grpc' ? 'grpc' : 'http',
        target,
        body: { gid: t.gid, branchId: b.branchId, phase: 'reconcile', payload: null },
        timeoutMs: this.config.requestTimeoutMs,
        signingKey: this.config.signingKeys[0],
      });
      if (result.outcome === 'done') {
        const answer = asAnswer(result.body);
        if (answer) {
          const verdict = judge({ mode: t.mode, status: t.status, branchStatus: b.status, createdAt: t.createdAt }, answer);
          if (verdict.kind === 'agree') return { queries };
          if (verdict.kind === 'expired') return { expired: true, queries };
          return { queries, finding: this.finding(t, b, verdict.mismatch, { ...coordinator, expected: verdict.why }, answer) };
        }
        error = 'the answer is not a reconcile answer (docs/contract.md §13)';
        break;
      }
      error = result.error;
      // A refusal (no such endpoint, a signature refused) will not change by asking again.
      if (result.outcome === 'refused') break;
      if (attempt < ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
    return { queries, finding: this.finding(t, b, UNREACHABLE, coordinator, { error }) };
  }

  private finding(t: FinishedTransaction, b: BranchRecord, kind: string, coordinator: unknown, participant: unknown): NewFinding {
    return { gid: t.gid, branchId: b.branchId, kind, coordinatorView: JSON.stringify(coordinator), participantView: JSON.stringify(participant) };
  }
}
