/**
 * Sagas (docs/contract.md §9): checks a saga, records it with all its steps in one write, and
 * hands it to the phase-two driver, which runs the actions (or the compensations) in order.
 */
import { Inject, Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { GlobalStatus, TransactionMode, type DecisionResponse } from '@tcc/client/protocol';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { LifecycleStore } from '../store/lifecycle.store';
import type { NewBranch } from '../store/records';
import { PhaseTwoDriver } from '../phase-two/phase-two.driver';
import { ReplicaIdentity } from '../store/replica.identity';
import { ShutdownState } from '../common/shutdown.state';
import { MetricsService } from '../metrics/metrics.service';
import { sagaDependencies } from '../domain/saga.plan';
import { invalidArgument, TccError, TccErrorCode, transactionConflict, transactionNotFound } from '../domain/transaction.errors';
import { StepChecks } from './step.checks';
import { owns, TransactionService, validTraceparent } from './transaction.service';
import type { SagaBody } from './request.validation';

@Injectable()
export class SagaService {
  private readonly checks: StepChecks;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    private readonly store: LifecycleStore,
    private readonly driver: PhaseTwoDriver,
    private readonly transactions: TransactionService,
    private readonly replica: ReplicaIdentity,
    private readonly shutdown: ShutdownState,
    private readonly metrics: MetricsService,
  ) {
    this.checks = new StepChecks(config);
  }

  /** Starts a saga for `client`; `created` false when the same client had started it already. */
  async start(body: SagaBody, client: string, traceparent?: string): Promise<{ created: boolean; body: DecisionResponse }> {
    if (this.shutdown.draining) throw new TccError(TccErrorCode.UNAVAILABLE, 'this coordinator replica is shutting down: start the saga on another one');
    const common = this.checks.common(body);
    const callback = this.checks.callback(body);
    this.checks.stepCount(body.steps.length);
    const ids = body.steps.map((s) => s.branchId);
    this.checks.distinct(ids);
    const deps = sagaDependencies(ids, body.concurrent ?? false, body.after);
    if ('invalid' in deps) throw invalidArgument('after', deps.invalid);
    const steps: NewBranch[] = body.steps.map((step, i) => {
      this.checks.target(`steps[${i}].action`, step.protocol, step.action);
      this.checks.target(`steps[${i}].compensate`, step.protocol, step.compensate);
      return {
        branchId: step.branchId,
        participant: step.participant ?? null,
        protocol: step.protocol,
        confirmTarget: step.action,
        cancelTarget: step.compensate,
        payload: this.checks.payload(`steps[${i}].payload`, step.payload),
        seq: i,
        after: deps.after[i],
      };
    });
    const gid = body.gid ?? uuidv7();
    const trace = validTraceparent(traceparent);
    const created = await this.store.createWithSteps({
      gid,
      mode: TransactionMode.SAGA,
      ...common,
      traceparent: trace,
      client,
      queryPrepared: null,
      steps,
      owner: this.replica.id,
      leaseMs: this.config.leaseMs,
      callback,
    });
    if (created.created) {
      this.metrics.begun.inc({ client, mode: TransactionMode.SAGA });
      const round = this.driver.drive(gid, { mode: TransactionMode.SAGA, status: GlobalStatus.COMMITTING, rounds: 0, traceparent: trace });
      return { created: true, body: { gid, status: body.wait ? await this.transactions.awaitFinal(gid, round) : GlobalStatus.COMMITTING } };
    }
    // The gid exists: the same client's saga again answers its status, anything else is taken.
    const tx = await this.store.findTransaction(gid);
    if (!tx) throw transactionNotFound(gid);
    if (!owns(tx, client)) throw new TccError(TccErrorCode.CONFLICT, `gid ${gid} is taken`);
    if (tx.mode !== TransactionMode.SAGA) throw transactionConflict(gid, tx.status, `gid ${gid} is a ${tx.mode} transaction, not a saga`);
    const running = this.driver.isDriving(gid) ? this.driver.drive(gid) : null;
    return { created: false, body: { gid, status: body.wait ? await this.transactions.awaitFinal(gid, running) : tx.status } };
  }
}
