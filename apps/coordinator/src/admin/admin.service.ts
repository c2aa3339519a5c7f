/**
 * Manual intervention (docs/contract.md §7): retry now, force a TRYING transaction to roll back, count a
 * branch as done by hand. Every action is audited in the same local transaction as its effect,
 * and goes through the same state machine and leases as everything else.
 */
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { GlobalStatus, TransactionMode, type DecisionResponse } from '@tcc/client/protocol';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { LifecycleStore } from '../store/lifecycle.store';
import { OperatorStore } from '../store/operator.store';
import { PhaseTwoDriver } from '../phase-two/phase-two.driver';
import { ReplicaIdentity } from '../store/replica.identity';
import { MetricsService } from '../metrics/metrics.service';
import { decide, isPhaseTwo, phaseTwoOf } from '../domain/transaction.state-machine';
import { TccError, TccErrorCode, transactionConflict, transactionNotFound } from '../domain/transaction.errors';

@Injectable()
export class AdminService implements OnModuleInit {
  private readonly logger = new Logger(AdminService.name);

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    private readonly store: LifecycleStore,
    private readonly operator: OperatorStore,
    private readonly driver: PhaseTwoDriver,
    private readonly replica: ReplicaIdentity,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    if (!this.config.adminToken) this.logger.warn('TCC_ADMIN_TOKEN is not set: the admin API (/admin/v1) refuses every request');
  }

  /**
   * Runs a phase-two round now instead of at the next retry time; answers the status after it.
   * Like every writer: write (the claim is the compare-and-set), then explain a loss.
   */
  async retryNow(gid: string, actor: string, reason: string | null): Promise<DecisionResponse> {
    if (await this.operator.retryNow(gid, actor, reason, this.replica.id, this.config.leaseMs)) {
      this.logger.log({ gid, msg: `retry now, by ${actor}` });
      const status = await this.driver.drive(gid);
      if (status) return { gid, status };
    }
    const tx = await this.store.findTransaction(gid);
    if (!tx) throw transactionNotFound(gid);
    if (!(isPhaseTwo(tx.status) || tx.status === GlobalStatus.PREPARED)) {
      throw transactionConflict(gid, tx.status, 'only a COMMITTING or ROLLING_BACK transaction (or a PREPARED message, asked again) can be retried');
    }
    if (tx.owner !== this.replica.id) {
      throw transactionConflict(gid, tx.status, `a phase-two round is under way on ${tx.owner ?? 'another replica'}; try again when it ends`);
    }
    return { gid, status: tx.status };
  }

  /**
   * Rolls back at once (409 otherwise): a TRYING TCC transaction, a COMMITTING saga (it
   * compensates; 409 while a replica is in the middle of one of its rounds), a PREPARED message
   * (aborted, nothing delivered). The mode is read first; the write is still the compare-and-set,
   * and a loss is explained after.
   */
  async forceRollback(gid: string, actor: string, reason: string): Promise<DecisionResponse> {
    const before = await this.store.findTransaction(gid);
    if (!before) throw transactionNotFound(gid);
    const mode = before.mode;
    if (!(await this.operator.forceRollback(gid, mode, actor, reason, this.replica.id, this.config.leaseMs))) {
      const tx = (await this.store.findTransaction(gid)) ?? before;
      const event = mode === TransactionMode.MESSAGE ? 'abort' : mode === TransactionMode.SAGA ? 'compensate' : 'rollback';
      if (decide(tx.status, event, mode).kind === 'transition') {
        throw transactionConflict(gid, tx.status, `a round of this saga is under way on ${tx.owner ?? 'another replica'}; try again when it ends`);
      }
      const which = { tcc: 'only a TRYING transaction', saga: 'only a COMMITTING saga', message: 'only a PREPARED message' }[mode];
      throw transactionConflict(gid, tx.status, `${which} can be forced to roll back`);
    }
    this.logger.warn({ gid, msg: `forced to roll back by ${actor}: ${reason}` });
    if (mode === TransactionMode.MESSAGE) {
      this.metrics.transactions.inc({ outcome: 'rolled_back', mode });
      return { gid, status: GlobalStatus.ROLLED_BACK };
    }
    const status = await this.driver.drive(gid, { mode, status: GlobalStatus.ROLLING_BACK, rounds: 0 });
    return { gid, status: status ?? GlobalStatus.ROLLING_BACK };
  }

  /**
   * Counts one branch as done by hand; the transaction finishes if it was the last one. The read
   * first learns which phase the branch is done for (confirmed or cancelled); the write is still
   * the compare-and-set (while the transaction is in that status), and a loss is explained after.
   */
  async resolveBranch(gid: string, branchId: string, actor: string, reason: string): Promise<DecisionResponse> {
    const tx = await this.store.findTransaction(gid);
    if (!tx) throw transactionNotFound(gid);
    const branch = await this.store.findBranch(gid, branchId);
    if (!branch) throw new TccError(TccErrorCode.NOT_FOUND, `branch ${branchId} of transaction ${gid} not found`);
    if (!isPhaseTwo(tx.status)) throw transactionConflict(gid, tx.status, 'branches can be resolved only while COMMITTING or ROLLING_BACK');
    const { branchDone } = phaseTwoOf(tx.status, tx.mode);
    if (!(await this.operator.resolveBranch(gid, branchId, branchDone, tx.status, actor, reason))) {
      const now = await this.store.findTransaction(gid);
      throw transactionConflict(gid, now?.status ?? tx.status, `branch ${branchId} is no longer waiting for its ${phaseTwoOf(tx.status, tx.mode).phase}`);
    }
    this.logger.warn({ gid, branchId, msg: `resolved by hand by ${actor}: ${reason}` });
    const finish = decide(tx.status, 'finish', tx.mode);
    if (finish.kind === 'transition' && (await this.store.finishIfNoPending(gid, null))) {
      this.metrics.transactions.inc({ outcome: finish.to === GlobalStatus.COMMITTED ? 'committed' : 'rolled_back', mode: tx.mode });
      return { gid, status: finish.to };
    }
    return { gid, status: tx.status };
  }
}
