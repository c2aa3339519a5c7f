/**
 * Sends completion callbacks (docs/contract.md §11): claims an owed callback under a lease, sends
 * the finished transaction's view (the body of GET /v1/transactions/:gid) as a signed
 * participant-shaped call with phase "callback", and records the outcome: DELIVERED, or the error
 * and the next attempt after an exponential backoff with jitter. At least once: the claim is
 * written before the send, the outcome after; a crash in between leaves the lease to expire and
 * another replica (or this one restarted) sends it again.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ParticipantCaller } from '@tcc/client/caller';
import { CALLBACK_BRANCH_ID, CALLBACK_PHASE, type GlobalStatus, type JsonValue } from '@tcc/client/protocol';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { CallbackStore } from '../store/callback.store';
import { LifecycleStore } from '../store/lifecycle.store';
import type { CallbackRecord } from '../store/records';
import { ReplicaIdentity } from '../store/replica.identity';
import { MetricsService } from '../metrics/metrics.service';
import { CompletionNotifier } from '../phase-two/completion.notifier';
import { retryDelayMs } from '../phase-two/retry.policy';
import { isFinal } from '../domain/transaction.state-machine';
import { toView } from '../transactions/transaction.service';

/** How long finishes are gathered before one look-up of which of them have a callback. */
const FINISHED_BATCH_MS = 5;
/** At most this many gids per look-up (an IN list). */
const FINISHED_BATCH_MAX = 500;

@Injectable()
export class CallbackSender implements OnApplicationBootstrap {
  private readonly logger = new Logger(CallbackSender.name);
  /** Deliveries under way in this process, by gid: a callback is sent by one of them at a time. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Transactions finished in this process, waiting for the next batched look-up of their callbacks. */
  private readonly justFinished = new Set<string>();
  private flushTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    private readonly callbacks: CallbackStore,
    private readonly lifecycle: LifecycleStore,
    private readonly caller: ParticipantCaller,
    private readonly replica: ReplicaIdentity,
    private readonly metrics: MetricsService,
    private readonly completions: CompletionNotifier,
  ) {}

  /** A transaction finished here: its callback (if it has one) is sent at once rather than at the next scan. */
  onApplicationBootstrap(): void {
    this.completions.onFinished((gid: string, status: GlobalStatus) => {
      if (!isFinal(status) || this.stopped) return;
      this.justFinished.add(gid);
      this.flushTimer ??= setTimeout(() => void this.flushFinished(), FINISHED_BATCH_MS);
    });
  }

  /**
   * The transactions finished here in the last few milliseconds, looked up together: one read tells
   * which of them have a callback (most have none), and only those are claimed and sent.
   */
  private async flushFinished(): Promise<void> {
    this.flushTimer = null;
    const gids = [...this.justFinished].slice(0, FINISHED_BATCH_MAX);
    for (const gid of gids) this.justFinished.delete(gid);
    if (this.justFinished.size > 0) this.flushTimer = setTimeout(() => void this.flushFinished(), FINISHED_BATCH_MS);
    try {
      await this.deliver(await this.callbacks.undelivered(gids));
    } catch (error) {
      this.logger.warn({ msg: `${gids.length} callbacks not sent now (the scan retries them): ${(error as Error).message}` });
    }
  }

  get activeCount(): number {
    return this.inFlight.size;
  }

  /** Claims the owed callbacks among `gids` and sends each; resolves when every send is recorded. */
  async deliver(gids: readonly string[]): Promise<number> {
    const free = gids.filter((gid) => !this.inFlight.has(gid));
    if (free.length === 0 || this.stopped) return 0;
    const claimed = await this.callbacks.claim(free, this.replica.id, this.config.leaseMs);
    const sends = claimed.filter((c) => !this.inFlight.has(c.gid)).map((c) => {
      const send = this.send(c)
        .catch((error: Error) => this.logger.error({ gid: c.gid, msg: `callback attempt not recorded (its lease expires and it is sent again): ${error.message}` }))
        .finally(() => this.inFlight.delete(c.gid));
      this.inFlight.set(c.gid, send);
      return send;
    });
    await Promise.all(sends);
    return sends.length;
  }

  /** Stops taking callbacks, waits for those under way (at most `timeoutMs`), and hands back every lease held. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const all = Promise.allSettled([...this.inFlight.values()]);
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    await this.callbacks.releaseAll(this.replica.id).catch((error: Error) => this.logger.warn(`could not release callback leases (they expire in TCC_LEASE_MS): ${error.message}`));
  }

  private async send(c: CallbackRecord): Promise<void> {
    const owner = this.replica.id;
    const [tx, branches] = await Promise.all([this.lifecycle.findTransaction(c.gid), this.lifecycle.findBranches(c.gid)]);
    if (!tx || !isFinal(tx.status)) return;
    const view = toView(tx, branches);
    const result = await this.caller.call({
      protocol: c.protocol,
      target: c.target,
      body: { gid: c.gid, branchId: CALLBACK_BRANCH_ID, phase: CALLBACK_PHASE, payload: view as unknown as JsonValue },
      timeoutMs: this.config.callback.timeoutMs,
      traceparent: tx.traceparent ?? undefined,
      signingKey: this.config.signingKeys[0],
    });
    if (result.outcome === 'done') {
      const recorded = await this.callbacks.recordDelivered(c.gid, owner);
      this.metrics.callbacks.inc({ outcome: 'delivered' });
      this.logger.log({ gid: c.gid, msg: `callback delivered (${tx.status}, attempt ${c.attempts + 1})${recorded ? '' : '; its lease had passed to another replica'}` });
      return;
    }
    const delay = retryDelayMs(c.attempts + 1, this.config.callback.retry);
    await this.callbacks.recordFailed(c.gid, owner, result.error, delay);
    this.metrics.callbacks.inc({ outcome: 'failed' });
    this.logger.warn({ gid: c.gid, msg: `callback attempt ${c.attempts + 1} failed, next in ${delay} ms: ${result.error}` });
  }
}
