/**
 * The scheduler: finds transactions whose next attempt is due (a TRYING one past its deadline,
 * a phase-two one whose retry time or lease expiry has come), claims them in a batch of point
 * updates, and drives each. A plain read finds candidates and updates by primary key claim them,
 * so a scan never locks a range of rows and cannot deadlock with the API's writes. With Redis,
 * only the scan leader scans, and its claims carry its fencing epoch.
 */
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { GlobalStatus } from '@tcc/client/protocol';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { LeaseStore } from '../store/lease.store';
import { PhaseTwoDriver } from '../phase-two/phase-two.driver';
import { MetricsService } from '../metrics/metrics.service';
import { ReplicaIdentity } from '../store/replica.identity';
import { ReplicaCoordinator } from './replica.coordinator';
import { ShutdownState } from '../common/shutdown.state';
import { ScanLoop } from './scan.loop';

@Injectable()
export class RecoveryScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(RecoveryScheduler.name);
  private stopped = false;
  private readonly loop: ScanLoop;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    private readonly store: LeaseStore,
    private readonly driver: PhaseTwoDriver,
    private readonly replica: ReplicaIdentity,
    private readonly coordination: ReplicaCoordinator,
    private readonly metrics: MetricsService,
    private readonly shutdown: ShutdownState,
  ) {
    this.loop = new ScanLoop('recovery scan', this.config.scan.intervalMs, () => this.scan(), this.logger);
  }

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  private stopping: Promise<void> | null = null;

  /**
   * Graceful shutdown: take no new transactions, stop scanning, let phase-two calls in flight
   * finish (up to TCC_SHUTDOWN_GRACE_MS), then hand every lease still held back to the others.
   * Runs before anything is torn down (bootstrap's close() calls it first); idempotent.
   */
  drainAndRelease(): Promise<void> {
    this.stopping ??= this.stop();
    return this.stopping;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.drainAndRelease();
  }

  private async stop(): Promise<void> {
    this.shutdown.draining = true;
    this.stopped = true;
    await this.loop.stop();
    await this.driver.drain(this.config.shutdownGraceMs);
    const released = await this.store.releaseAllLeases(this.replica.id).catch((error: Error) => {
      this.logger.warn(`could not release leases (they expire in TCC_LEASE_MS): ${error.message}`);
      return 0;
    });
    this.logger.log(`shut down: ${this.driver.activeCount} rounds still in flight, ${released} leases released`);
  }

  /** One scan; answers true when it filled its batch (more may be due right away). */
  async scan(): Promise<boolean> {
    const free = this.config.phaseTwoConcurrency - this.driver.activeCount;
    if (free <= 0 || this.stopped) return false;
    const permit = await this.coordination.scanPermit();
    if (!permit) return false;
    const limit = Math.min(this.config.scan.batch, free);
    const due = (await this.store.findDue(limit)).filter((d) => !this.driver.isDriving(d.gid));
    this.metrics.recoveryScans.inc();
    if (due.length === 0) return false;
    const claimed = await this.store.claimDue(
      due.map((d) => d.gid),
      this.replica.id,
      this.config.leaseMs,
      permit.fence,
    );
    const timedOut = new Set(due.filter((d) => d.status === GlobalStatus.TRYING).map((d) => d.gid));
    for (const c of claimed) {
      if (this.stopped) break;
      const kind = timedOut.has(c.gid) ? 'timeout' : c.status === GlobalStatus.PREPARED ? 'query' : 'retry';
      this.metrics.recoveryClaims.inc({ kind });
      if (kind === 'timeout') this.logger.log({ gid: c.gid, msg: `try phase timed out: rolling back` });
      void this.driver.drive(c.gid, { mode: c.mode, status: c.status, rounds: c.rounds, traceparent: c.traceparent, redrive: true });
    }
    return due.length >= limit;
  }
}
