/**
 * The callback scan (docs/contract.md §11): finds completion callbacks owed (transaction final, not
 * delivered) whose next attempt has come and whose lease is free, and hands them to the sender,
 * which claims them with a lease in the database, so two replicas never send one at once and a
 * dead replica's callback is sent by another once its lease expires. With Redis, only the scan
 * leader scans, as for transactions.
 */
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { isTransient } from '../store/database';
import { CallbackStore } from '../store/callback.store';
import { CallbackSender } from '../callbacks/callback.sender';
import { ReplicaCoordinator } from './replica.coordinator';

@Injectable()
export class CallbackScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(CallbackScheduler.name);
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private scanning: Promise<unknown> | null = null;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    private readonly store: CallbackStore,
    private readonly sender: CallbackSender,
    private readonly coordination: ReplicaCoordinator,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.scanning;
    await this.sender.stop(this.config.shutdownGraceMs);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.scanning = this.scan()
        .then((full) => this.schedule(full ? 0 : this.config.scan.intervalMs))
        .catch((error: Error) => {
          const line = `callback scan failed, next in ${this.config.scan.intervalMs} ms: ${error.message}`;
          if (isTransient(error)) this.logger.warn(line);
          else this.logger.error(line);
          this.schedule(this.config.scan.intervalMs);
        });
    }, delayMs);
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
