/**
 * Drives one transaction that this replica holds the lease on, by mode (docs/contract.md §2, §9,
 * §10). TCC and message deliveries: calls every unfinished branch (confirm, cancel, or the
 * message's delivery) in parallel, then records the round in one local transaction, either
 * finishing the transaction or releasing it with the time of its next attempt. Sagas: rounds of
 * the actions (or compensations) whose turn it is, each recorded before the next. A prepared
 * message past its timeout: asks its initiator (queryPrepared) and records the answer.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { inSpan, modeOfPhase, ParticipantCaller, TCC_ATTRIBUTES } from '@tcc/client/caller';
import type { ParticipantCallResult } from '@tcc/client/caller';
import {
  BRANCH_NOT_TRIED,
  BranchStatus,
  GlobalStatus,
  PREPARED_BRANCH_ID,
  TransactionMode,
  type BranchCallBody,
  type BranchPhase,
  type JsonValue,
} from '@tcc/client/protocol';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { LifecycleStore } from '../store/lifecycle.store';
import { type BranchOutcome, type BranchRecord, type NewBranch } from '../store/records';
import { decide, isPhaseTwo, phaseTwoOf } from '../domain/transaction.state-machine';
import { actionsDue, compensationsDue } from '../domain/saga.plan';
import { ReplicaIdentity } from '../store/replica.identity';
import { MetricsService } from '../metrics/metrics.service';
import { AttentionNotifier } from './attention.notifier';
import { CompletionNotifier } from './completion.notifier';
import { retryDelayMs } from './retry.policy';
import { BrokerPublisher } from './brokers/broker.publisher';
import { brokerMessage } from './brokers/broker-message';

/** What the caller already knows about the transaction, saving a read. */
export interface KnownState {
  /** Unset: TCC. */
  mode?: TransactionMode;
  status: 'COMMITTING' | 'ROLLING_BACK' | 'PREPARED';
  rounds: number;
  /** The W3C trace context to pass on, when known. */
  traceparent?: string | null;
  /**
   * Not driven within a request (recovery): the round gets a new trace linked to `traceparent`
   * instead of joining it (docs/contract.md §12).
   */
  redrive?: boolean;
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
    private readonly brokers: BrokerPublisher,
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
    if (known && !known.redrive) return this.roundOf(gid, known);
    let state = known;
    if (!state) {
      const tx = await this.store.findTransaction(gid);
      if (!tx) return null;
      if (!(isPhaseTwo(tx.status) || tx.status === GlobalStatus.PREPARED) || tx.owner !== this.replica.id) return tx.status;
      state = { mode: tx.mode, status: tx.status, rounds: tx.rounds, traceparent: tx.traceparent };
    }
    const stored = state;
    // A re-drive (recovery, a replica taking over, an operator's retry) is not part of any request:
    // a new trace, linked to the one the transaction began in (docs/contract.md §12). Without a
    // tracer the stored traceparent is passed on as before.
    const attributes = { [TCC_ATTRIBUTES.gid]: gid, [TCC_ATTRIBUTES.mode]: stored.mode ?? TransactionMode.TCC, 'tcc.status': stored.status, 'tcc.rounds': stored.rounds };
    return inSpan('tcc.coordinator.redrive', { kind: 'internal', parent: null, links: [stored.traceparent], attributes }, (span) =>
      this.roundOf(gid, { ...stored, redrive: false, traceparent: span.traceparent ?? stored.traceparent }),
    );
  }

  private async roundOf(gid: string, state: KnownState): Promise<GlobalStatus | null> {
    const owner = this.replica.id;
    const mode = state.mode ?? TransactionMode.TCC;
    if (state.status === GlobalStatus.PREPARED) return this.queryRound(gid, state);
    if (mode === TransactionMode.SAGA) return this.sagaRounds(gid, { ...state, status: state.status });
    const { phase, branchDone } = phaseTwoOf(state.status, mode);
    const finish = decide(state.status, 'finish', mode);
    if (finish.kind !== 'transition') return state.status;
    const finalStatus = finish.to as 'COMMITTED' | 'ROLLED_BACK';

    const pending = state.branches
      ? state.branches.map((b) => ({ ...b, attempts: 0 }))
      : (await this.store.findBranches(gid)).filter((b) => b.status === BranchStatus.REGISTERED);
    if (pending.length === 0) {
      const finished = await this.store.finishIfNoPending(gid, owner);
      if (finished) this.finished(gid, finalStatus, mode);
      return finished ? finalStatus : state.status;
    }

    const outcomes: (BranchOutcome & { attempts: number; notTried: boolean })[] = await Promise.all(
      pending.map(async (b) => {
        const result = await this.send(gid, b, phase, state.traceparent);
        // Confirm, cancel and deliveries must succeed: a refusal (4xx) is retried like any other
        // failure, but a participant saying the branch was never tried is a protocol violation a
        // person must see.
        const ok = result.outcome === 'done';
        const notTried = phase === 'confirm' && result.outcome === 'refused' && result.code === BRANCH_NOT_TRIED;
        const error = result.outcome === 'done' ? undefined : result.error;
        return { branchId: b.branchId, ok, error, attempts: b.attempts + 1, notTried };
      }),
    );
    const allDone = outcomes.every((o) => o.ok);
    const notTried = outcomes.find((o) => o.notTried);
    const { finished, parked } = await this.store.completeRound({
      gid,
      owner,
      branchDone,
      phase,
      outcomes,
      allDone,
      // Not blindly: a branch that was never tried is asked again only at the slowest pace, until
      // its try lands late or an operator resolves it.
      retryDelayMs: notTried ? this.config.retry.maxMs : retryDelayMs(state.rounds + 1, this.config.retry),
      budgetDefaults: this.config.retryBudget,
    });
    if (finished) {
      this.finished(gid, finalStatus, mode);
      return finalStatus;
    }
    if (parked) {
      this.attention.budgetSpent(gid, state.status, mode, parked);
      return state.status;
    }
    if (!allDone) {
      const worst = notTried ?? outcomes.filter((o) => !o.ok).sort((a, b) => b.attempts - a.attempts)[0];
      await this.afterFailedRound(gid, state.status, { ...worst, notTried: !!notTried });
    }
    return state.status;
  }

  /**
   * A saga's rounds (docs/contract.md §9): the actions whose turn it is (or, rolling back, the
   * compensations), called in parallel and recorded in one local transaction before the next
   * round is planned from what is stored. Ends when the saga finishes, waits for a retry, or the
   * lease is lost.
   */
  private async sagaRounds(gid: string, state: KnownState & { status: 'COMMITTING' | 'ROLLING_BACK' }): Promise<GlobalStatus | null> {
    const owner = this.replica.id;
    let status = state.status;
    let rounds = state.rounds;
    for (;;) {
      const steps = await this.store.findBranches(gid);
      const due = status === GlobalStatus.COMMITTING ? actionsDue(steps) : compensationsDue(steps);
      if (due.length === 0) {
        const finished = await this.store.finishIfNoPending(gid, owner);
        const final = status === GlobalStatus.COMMITTING ? GlobalStatus.COMMITTED : GlobalStatus.ROLLED_BACK;
        if (finished) this.finished(gid, final, TransactionMode.SAGA);
        return finished ? final : status;
      }
      const { phase } = phaseTwoOf(status, TransactionMode.SAGA);
      const byId = new Map(steps.map((s) => [s.branchId, s]));
      const outcomes = await Promise.all(
        due.map(async (branchId) => {
          const result = await this.send(gid, byId.get(branchId)!, phase, state.traceparent);
          return { branchId, result: result.outcome, error: result.outcome === 'done' ? undefined : result.error };
        }),
      );
      const next = await this.store.recordSagaRound({
        gid,
        owner,
        status,
        outcomes,
        retryDelayMs: retryDelayMs(rounds + 1, this.config.retry),
        leaseMs: this.config.leaseMs,
        budgetDefaults: this.config.retryBudget,
      });
      rounds += 1;
      if (typeof next === 'object') {
        this.attention.budgetSpent(gid, status, TransactionMode.SAGA, next.parked);
        return status;
      }
      switch (next) {
        case 'finished': {
          const final = status === GlobalStatus.COMMITTING ? GlobalStatus.COMMITTED : GlobalStatus.ROLLED_BACK;
          this.finished(gid, final, TransactionMode.SAGA);
          return final;
        }
        case 'compensating':
          this.logger.log({ gid, msg: 'saga compensating' });
          status = GlobalStatus.ROLLING_BACK;
          rounds = 0;
          break;
        case 'continue':
          break;
        case 'released': {
          const failed = outcomes.filter((o) => o.result !== 'done');
          const worst = failed[0];
          await this.afterFailedRound(gid, status, { branchId: worst.branchId, error: worst.error, attempts: (byId.get(worst.branchId)?.attempts ?? 0) + 1, notTried: false });
          return status;
        }
        case 'lost':
          return status;
      }
    }
  }

  /**
   * A message still PREPARED past its timeout (docs/contract.md §10): asks the initiator's
   * queryPrepared, then submits (and delivers), aborts, or asks again later.
   */
  private async queryRound(gid: string, state: KnownState): Promise<GlobalStatus | null> {
    const tx = await this.store.findTransaction(gid);
    if (!tx || tx.status !== GlobalStatus.PREPARED || tx.owner !== this.replica.id || !tx.queryPrepared) return tx?.status ?? null;
    const protocol = /^https?:\/\//.test(tx.queryPrepared) ? 'http' : 'grpc';
    const result = await this.caller.call({
      protocol,
      target: tx.queryPrepared,
      body: { gid, branchId: PREPARED_BRANCH_ID, phase: 'query', payload: null },
      timeoutMs: this.config.requestTimeoutMs,
      traceparent: state.traceparent ?? undefined,
      signingKey: this.config.signingKeys[0],
    });
    const answer = preparedAnswer(result);
    this.metrics.phaseTwoCalls.inc({ phase: 'query', outcome: answer ? 'success' : 'failure' });
    const error = answer ? undefined : result.outcome === 'done' ? `queryPrepared answered ${JSON.stringify(result.body ?? null).slice(0, 200)}` : result.error;
    if (!answer) this.logger.warn({ gid, msg: `queryPrepared gave no decision (round ${state.rounds + 1}): ${error}` });
    const status = await this.store.recordQueryAnswer({
      gid,
      owner: this.replica.id,
      answer,
      error,
      retryDelayMs: retryDelayMs(state.rounds + 1, this.config.retry),
      leaseMs: this.config.leaseMs,
    });
    if (status === null) {
      // Lost: the initiator's submit (or abort) won meanwhile. A submit on this replica joined this
      // round instead of starting its own (one drive per gid), so the delivery is this round's to make.
      const now = await this.store.findTransaction(gid);
      if (now && now.owner === this.replica.id && now.status === GlobalStatus.COMMITTING) {
        return this.round(gid, { mode: TransactionMode.MESSAGE, status: now.status, rounds: now.rounds, traceparent: state.traceparent ?? now.traceparent });
      }
      return now?.status ?? null;
    }
    if (status === GlobalStatus.ROLLED_BACK) this.finished(gid, GlobalStatus.ROLLED_BACK, TransactionMode.MESSAGE);
    if (status === GlobalStatus.COMMITTING) {
      this.logger.log({ gid, msg: 'queryPrepared answered COMMITTED: delivering' });
      return this.round(gid, { mode: TransactionMode.MESSAGE, status, rounds: 0, traceparent: state.traceparent });
    }
    return status;
  }

  /** One call of a branch in `phase`: to the participant, or published to a broker. */
  private async send(gid: string, b: NewBranch | BranchRecord, phase: BranchPhase, traceparent: string | null | undefined): Promise<ParticipantCallResult> {
    const started = performance.now();
    const body: BranchCallBody = { gid, branchId: b.branchId, phase, payload: b.payload === null ? null : (JSON.parse(b.payload) as JsonValue) };
    const target = phase === 'cancel' || phase === 'compensate' ? b.cancelTarget : b.confirmTarget;
    const result =
      b.protocol === 'http' || b.protocol === 'grpc'
        ? await this.caller.call({
            protocol: b.protocol,
            target,
            body,
            timeoutMs: this.config.requestTimeoutMs,
            traceparent: traceparent ?? undefined,
            signingKey: this.config.signingKeys[0],
          })
        : await this.publish(b.protocol, target, body, traceparent);
    const outcome = result.outcome === 'done' ? 'success' : 'failure';
    this.metrics.phaseTwoCalls.inc({ phase, outcome });
    this.metrics.phaseTwoLatency.observe({ phase, outcome }, (performance.now() - started) / 1000);
    if (result.outcome !== 'done') this.logger.warn({ gid, branchId: b.branchId, msg: `${phase} failed: ${result.error}` });
    return result;
  }

  /** A message step published to its broker (docs/contract.md §10), signed like a participant call. */
  private publish(protocol: 'amqp' | 'nats', action: string, body: BranchCallBody, traceparent: string | null | undefined): Promise<ParticipantCallResult> {
    // Its client span, like a participant call's; the message carries the span's traceparent (docs/contract.md §12).
    const attributes = {
      [TCC_ATTRIBUTES.gid]: body.gid,
      [TCC_ATTRIBUTES.branchId]: body.branchId,
      [TCC_ATTRIBUTES.phase]: body.phase,
      [TCC_ATTRIBUTES.mode]: modeOfPhase(body.phase),
      'messaging.system': protocol === 'amqp' ? 'rabbitmq' : 'nats',
      'messaging.operation.type': 'send',
      'messaging.destination.name': action.slice(0, 200),
    };
    return inSpan(`tcc.call.${body.phase}`, { kind: 'client', parent: traceparent ?? undefined, attributes }, async (span) => {
      const message = brokerMessage(body, { signingKey: this.config.signingKeys[0], traceparent: span.traceparent ?? traceparent ?? undefined });
      const result = await this.brokers.publish({ protocol, action, ...message, timeoutMs: this.config.requestTimeoutMs });
      if (result.outcome !== 'done') span.fail(result.error);
      return result;
    });
  }

  private async afterFailedRound(gid: string, status: GlobalStatus, worst: { branchId: string; error?: string; attempts: number; notTried: boolean }): Promise<void> {
    await this.attention
      .afterFailedRound(gid, status, { branchId: worst.branchId, lastError: worst.error ?? 'failed', attempts: worst.attempts, notTried: worst.notTried })
      .catch((error: Error) => this.logger.warn({ gid, msg: `attention check failed: ${error.message}` }));
  }

  private finished(gid: string, status: 'COMMITTED' | 'ROLLED_BACK', mode: TransactionMode = TransactionMode.TCC): void {
    this.metrics.transactions.inc({ outcome: status === 'COMMITTED' ? 'committed' : 'rolled_back', mode });
    this.completions.finished(gid, status);
  }
}

/** The decision a queryPrepared answer carries, or null for "ask again later". */
function preparedAnswer(result: ParticipantCallResult): 'COMMITTED' | 'ROLLED_BACK' | null {
  if (result.outcome !== 'done') return null;
  // Over gRPC the caller has already read BranchReply.result, the same JSON, into body.
  const body: unknown = result.body;
  const status = body && typeof body === 'object' ? (body as { status?: unknown }).status : undefined;
  return status === 'COMMITTED' || status === 'ROLLED_BACK' ? status : null;
}
