/**
 * Reliable messages (docs/contract.md §10): prepare (record PREPARED with every step), submit
 * (PREPARED -> COMMITTING, then every step delivered until it succeeds) and abort (PREPARED ->
 * ROLLED_BACK). Each is a compare-and-set through the state machine, written before anything is
 * delivered; the loser of a race re-reads and answers with the winner's status.
 */
import { Inject, Injectable } from '@nestjs/common';
import { GlobalStatus, TransactionMode, type BeginResponse, type DecisionResponse } from '@tcc/client/protocol';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { LifecycleStore } from '../store/lifecycle.store';
import type { NewBranch } from '../store/records';
import { PhaseTwoDriver } from '../phase-two/phase-two.driver';
import { CompletionNotifier } from '../phase-two/completion.notifier';
import { ReplicaIdentity } from '../store/replica.identity';
import { ShutdownState } from '../common/shutdown.state';
import { MetricsService } from '../metrics/metrics.service';
import { decide } from '../domain/transaction.state-machine';
import { invalidArgument, TccError, TccErrorCode, transactionConflict, transactionNotFound } from '../domain/transaction.errors';
import { StepChecks } from './step.checks';
import { owns, TransactionService, validTraceparent } from './transaction.service';
import type { MessageBody } from './request.validation';
import { BrokerTargets } from '../phase-two/brokers/broker.targets';

const iso = (ms: number): string => new Date(ms).toISOString();

@Injectable()
export class MessageService {
  private readonly checks: StepChecks;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    private readonly store: LifecycleStore,
    private readonly driver: PhaseTwoDriver,
    private readonly transactions: TransactionService,
    private readonly completions: CompletionNotifier,
    private readonly replica: ReplicaIdentity,
    private readonly shutdown: ShutdownState,
    private readonly metrics: MetricsService,
    private readonly brokers: BrokerTargets,
  ) {
    this.checks = new StepChecks(config);
  }

  async prepare(body: MessageBody, client: string, traceparent?: string): Promise<{ created: boolean; body: BeginResponse }> {
    if (this.shutdown.draining) throw new TccError(TccErrorCode.UNAVAILABLE, 'this coordinator replica is shutting down: prepare the message on another one');
    const common = this.checks.common(body);
    const callback = this.checks.callback(body);
    this.checks.stepCount(body.steps.length);
    this.checks.distinct(body.steps.map((s) => s.branchId));
    this.checks.target('queryPrepared', /^https?:\/\//i.test(body.queryPrepared) ? 'http' : 'grpc', body.queryPrepared);
    const steps: NewBranch[] = body.steps.map((step, i) => {
      const field = `steps[${i}].action`;
      if (step.protocol === 'http' || step.protocol === 'grpc') this.checks.target(field, step.protocol, step.action);
      else {
        const problem = this.brokers.problem(step.protocol, step.action);
        if (problem) throw invalidArgument(field, `${field} ${problem}`);
      }
      return {
        branchId: step.branchId,
        participant: step.participant ?? null,
        protocol: step.protocol,
        confirmTarget: step.action,
        cancelTarget: '',
        payload: this.checks.payload(`steps[${i}].payload`, step.payload),
        seq: i,
      };
    });
    const created = await this.store.createWithSteps({
      gid: body.gid,
      mode: TransactionMode.MESSAGE,
      ...common,
      traceparent: validTraceparent(traceparent),
      client,
      queryPrepared: body.queryPrepared,
      steps,
      owner: this.replica.id,
      leaseMs: this.config.leaseMs,
      callback,
    });
    if (created.created) {
      this.metrics.begun.inc({ client, mode: TransactionMode.MESSAGE });
      return { created: true, body: { gid: body.gid, status: GlobalStatus.PREPARED, createdAt: iso(created.createdAt), expiresAt: iso(created.expiresAt) } };
    }
    const tx = await this.store.findTransaction(body.gid);
    if (!tx) throw transactionNotFound(body.gid);
    if (!owns(tx, client)) throw new TccError(TccErrorCode.CONFLICT, `gid ${body.gid} is taken`);
    if (tx.mode !== TransactionMode.MESSAGE) throw transactionConflict(body.gid, tx.status, `gid ${body.gid} is a ${tx.mode} transaction, not a message`);
    return { created: false, body: { gid: tx.gid, status: tx.status, createdAt: iso(tx.createdAt), expiresAt: iso(tx.expiresAt) } };
  }

  /** PREPARED -> COMMITTING for `client`, then delivers (write first; a loss is explained after). */
  async submit(gid: string, client: string, wait: boolean, traceparent?: string): Promise<DecisionResponse> {
    const trace = validTraceparent(traceparent);
    const { won } = await this.store.recordDecisionCounting(gid, 'submit', { owner: this.replica.id, leaseMs: this.config.leaseMs, reason: null, client }, false);
    if (won) {
      const round = this.driver.drive(gid, { mode: TransactionMode.MESSAGE, status: GlobalStatus.COMMITTING, rounds: 0, traceparent: trace });
      return { gid, status: wait ? await this.transactions.awaitFinal(gid, round) : GlobalStatus.COMMITTING };
    }
    const tx = await this.store.findTransaction(gid);
    if (!tx) throw transactionNotFound(gid);
    if (!owns(tx, client)) throw this.transactions.notTheOwner(gid);
    const decision = decide(tx.status, 'submit', tx.mode);
    if (decision.kind !== 'already') throw transactionConflict(gid, tx.status, tx.mode === TransactionMode.MESSAGE ? 'cannot submit' : `${gid} is not a message`);
    if (!wait || tx.status === GlobalStatus.COMMITTED) return { gid, status: tx.status };
    return { gid, status: await this.transactions.awaitFinal(gid, this.driver.isDriving(gid) ? this.driver.drive(gid) : null) };
  }

  /** PREPARED -> ROLLED_BACK for `client`: nothing is delivered. */
  async abort(gid: string, client: string, reason: string | undefined): Promise<DecisionResponse> {
    if (await this.store.close(gid, client, reason ?? 'aborted by the initiator')) {
      this.metrics.transactions.inc({ outcome: 'rolled_back', mode: TransactionMode.MESSAGE });
      this.completions.finished(gid, GlobalStatus.ROLLED_BACK);
      return { gid, status: GlobalStatus.ROLLED_BACK };
    }
    const tx = await this.store.findTransaction(gid);
    if (!tx) throw transactionNotFound(gid);
    if (!owns(tx, client)) throw this.transactions.notTheOwner(gid);
    const decision = decide(tx.status, 'abort', tx.mode);
    if (decision.kind === 'already') return { gid, status: tx.status };
    throw transactionConflict(gid, tx.status, tx.mode === TransactionMode.MESSAGE ? 'a message can be aborted only while PREPARED' : `${gid} is not a message`);
  }
}
