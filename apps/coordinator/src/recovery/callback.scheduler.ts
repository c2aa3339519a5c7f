/**
 * The callback scan (docs/contract.md §11): finds completion callbacks owed (transaction final, not
 * delivered) whose next attempt has come and whose lease is free, and hands them to the sender,
 * which claims them with a lease in the database, so two replicas never send one at once and a
 * dead replica's callback is sent by another once its lease expires. With Redis, only the scan
 * leader scans, as for transactions.
 */
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { CallbackStore } from '../store/callback.store';
import { CallbackSender } from '../callbacks/callback.sender';
import { ReplicaCoordinator } from './replica.coordinator';
import { ScanLoop } from './scan.loop';

@Injectable()
export class CallbackScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(CallbackScheduler.name);
  private stopped = false;
  private readonly loop: ScanLoop;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    private readonly store: CallbackStore,
    private readonly sender: CallbackSender,
    private readonly coordination: ReplicaCoordinator,
  ) {
    this.loop = new ScanLoop('callback scan', this.config.scan.intervalMs, () => this.scan(), this.logger);
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.loop.stop();
    await this.sender.stop(this.config.shutdownGraceMs);
  }

  /** One scan; answers true when it filled its batch (more may be due right away). */
  async scan(): Promise<boolean> {
    const free = this.config.phaseTwoConcurrency - this.sender.activeCount;
    if (free <= 0 || this.stopped) return false;
    if (!(await this.coordination.scanPermit())) return false;
    const limit = Math.min(this.config.scan.batch, free);
    const due = await this.store.findDue(limit);
    if (due.length === 0) return false;
    // Sent in the background: the next scan skips those still under way.
    void this.sender.deliver(due).catch((error: Error) => this.logger.warn(`callback delivery failed: ${error.message}`));
    return due.length >= limit;
  }
}
