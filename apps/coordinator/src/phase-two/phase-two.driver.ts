/**
 * Drives phase two of one transaction that this replica holds the lease on: calls every
 * unfinished branch's confirm (or cancel) in parallel, then records the round in one local
 * transaction, either finishing the transaction or releasing it with the time of its next attempt.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ParticipantCaller } from '@tcc/client/caller';
import { BRANCH_NOT_TRIED, BranchStatus, type GlobalStatus, type JsonValue } from '@tcc/client/protocol';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { LifecycleStore } from '../store/lifecycle.store';
import { type BranchOutcome, type NewBranch } from '../store/records';
import { decide, isPhaseTwo, phaseTwoOf } from '../domain/transaction.state-machine';
import { ReplicaIdentity } from '../store/replica.identity';
import { MetricsService } from '../metrics/metrics.service';
import { AttentionNotifier } from './attention.notifier';
import { CompletionNotifier } from './completion.notifier';
import { retryDelayMs } from './retry.policy';

/** What the caller already knows about the transaction, saving a read. */
export interface KnownState {
  status: 'COMMITTING' | 'ROLLING_BACK';
  rounds: number;
  /** The W3C trace context to pass on, when known. */
  traceparent?: string | null;
  /** Every branch of the transaction, when the caller knows them all (none has been called yet). */
  branches?: NewBranch[];
}

@Injectable()
export class PhaseTwoDriver implements OnApplicationBootstrap {
  private readonly logger = new Logger(PhaseTwoDriver.name);
  /** Drives under way in this process, by gid: a second request for one joins the first. */
  private readonly inFlight = new Map<string, Promise<GlobalStatus | null>>();

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    private readonly store: LifecycleStore,
    private readonly caller: ParticipantCaller,
    private readonly completions: CompletionNotifier,
    private readonly replica: ReplicaIdentity,
    private readonly metrics: MetricsService,
    private readonly attention: AttentionNotifier,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.signingKeys.length === 0) {
      this.logger.warn('participant calls are unsigned: set TCC_SIGNING_KEYS (and the same keys on the participants) so that only this coordinator can confirm or cancel');
    }
  }

  get activeCount(): number {
    return this.inFlight.size;
  }

  isDriving(gid: string): boolean {
    return this.inFlight.has(gid);
  }

  /** Runs one round for `gid`; resolves with the status after it (null if it could not run). */
  drive(gid: string, known?: KnownState): Promise<GlobalStatus | null> {
    const running = this.inFlight.get(gid);
    if (running) return running;
    const round = this.round(gid, known)
      .catch((error: Error) => {
        // The lease expires and the scheduler (here or on another replica) takes over.
        this.logger.error({ gid, msg: `phase-two round failed: ${error.message}` });
        return null;
      })
      .finally(() => this.inFlight.delete(gid));
    this.inFlight.set(gid, round);
    return round;
  }

  /** Resolves when every drive under way has finished, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    const all = Promise.allSettled([...this.inFlight.values()]);
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  private async round(gid: string, known?: KnownState): Promise<GlobalStatus | null> {
    const owner = this.replica.id;
    let state = known;
    if (!state) {
      const tx = await this.store.findTransaction(gid);
      if (!tx) return null;
      if (!isPhaseTwo(tx.status) || tx.owner !== owner) return tx.status;
      state = { status: tx.status, rounds: tx.rounds, traceparent: tx.traceparent };
    }
    const { phase, branchDone } = phaseTwoOf(state.status);
    const finish = decide(state.status, 'finish');
    if (finish.kind !== 'transition') return state.status;
    const finalStatus = finish.to as 'COMMITTED' | 'ROLLED_BACK';

    const pending = state.branches
      ? state.branches.map((b) => ({ ...b, attempts: 0 }))
      : (await this.store.findBranches(gid)).filter((b) => b.status === BranchStatus.REGISTERED);
    if (pending.length === 0) {
      const finished = await this.store.finishIfNoPending(gid, owner);
      if (finished) this.finished(gid, finalStatus);
      return finished ? finalStatus : state.status;
    }

    const outcomes: (BranchOutcome & { attempts: number; notTried: boolean })[] = await Promise.all(
      pending.map(async (b) => {
        const started = performance.now();
        const result = await this.caller.call({
          protocol: b.protocol,
          target: phase === 'confirm' ? b.confirmTarget : b.cancelTarget,
          body: { gid, branchId: b.branchId, phase, payload: b.payload === null ? null : (JSON.parse(b.payload) as JsonValue) },
          timeoutMs: this.config.requestTimeoutMs,
          traceparent: state.traceparent ?? undefined,
          signingKey: this.config.signingKeys[0],
        });
        // Confirm and cancel must succeed: a refusal (4xx) is retried like any other failure, but a
        // participant saying the branch was never tried is a protocol violation a person must see.
        const ok = result.outcome === 'done';
        const notTried = result.outcome === 'refused' && result.code === BRANCH_NOT_TRIED;
        const error = result.outcome === 'done' ? undefined : result.error;
        const outcome = ok ? 'success' : 'failure';
        this.metrics.phaseTwoCalls.inc({ phase, outcome });
        this.metrics.phaseTwoLatency.observe({ phase, outcome }, (performance.now() - started) / 1000);
        if (!ok) this.logger.warn({ gid, branchId: b.branchId, msg: `${phase} failed (attempt ${b.attempts + 1}): ${error}` });
        return { branchId: b.branchId, ok, error, attempts: b.attempts + 1, notTried };
      }),
    );
    const allDone = outcomes.every((o) => o.ok);
    const notTried = outcomes.find((o) => o.notTried);
    const finished = await this.store.completeRound({
      gid,
      owner,
      branchDone,
      phase: phase as 'confirm' | 'cancel',
      outcomes,
      allDone,
      // Not blindly: a branch that was never tried is asked again only at the slowest pace, until
      // its try lands late or an operator resolves it.
      retryDelayMs: notTried ? this.config.retry.maxMs : retryDelayMs(state.rounds + 1, this.config.retry),
    });
    if (finished) {
      this.finished(gid, finalStatus);
      return finalStatus;
    }
    if (!allDone) {
      const worst = notTried ?? outcomes.filter((o) => !o.ok).sort((a, b) => b.attempts - a.attempts)[0];
      await this.attention
        .afterFailedRound(gid, state.status, { branchId: worst.branchId, lastError: worst.error ?? 'failed', attempts: worst.attempts, notTried: !!notTried })
        .catch((error: Error) => this.logger.warn({ gid, msg: `attention check failed: ${error.message}` }));
    }
    return state.status;
  }

  private finished(gid: string, status: 'COMMITTED' | 'ROLLED_BACK'): void {
    this.metrics.transactions.inc({ outcome: status === 'COMMITTED' ? 'committed' : 'rolled_back' });
    this.completions.finished(gid, status);
  }
}
