/**
 * The scheduler: finds transactions whose next attempt is due (a TRYING one past its deadline,
 * a phase-two one whose retry time or lease expiry has come), takes each with a compare-and-set
 * on its own row, and drives it. A plain read finds candidates and point updates claim them, so
 * the scan never locks a range of rows and cannot deadlock with the API's writes.
 */
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { GlobalStatus } from '@tcc/client';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { TransactionStore } from '../store/transaction.store';
import { PhaseTwoDriver } from '../phase-two/phase-two.driver';
import { isPhaseTwo } from '../transactions/transaction.state-machine';
import { ReplicaIdentity } from './replica.identity';

@Injectable()
export class RecoveryScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(RecoveryScheduler.name);
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private scanning: Promise<void> | null = null;
  /** Scans completed since start, for tests and metrics. */
  scans = 0;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    private readonly store: TransactionStore,
    private readonly driver: PhaseTwoDriver,
    private readonly replica: ReplicaIdentity,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.scanning;
    await this.driver.drain(this.config.requestTimeoutMs + 1000);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.scanning = this.scan()
        .then((full) => this.schedule(full ? 0 : this.config.scan.intervalMs))
        .catch((error: Error) => {
          this.logger.error(`recovery scan failed, next in ${this.config.scan.intervalMs} ms: ${error.message}`);
          this.schedule(this.config.scan.intervalMs);
        });
    }, delayMs);
  }

  /** One scan; answers true when it filled its batch (more may be due right away). */
  async scan(): Promise<boolean> {
    const free = this.config.phaseTwoConcurrency - this.driver.activeCount;
    if (free <= 0) return false;
    const limit = Math.min(this.config.scan.batch, free);
    const due = (await this.store.findDue(limit)).filter((d) => !this.driver.isDriving(d.gid));
    const owner = this.replica.id;
    const lease = this.config.leaseMs;
    await Promise.all(
      due.map(async ({ gid, status }) => {
        let won = false;
        if (status === GlobalStatus.TRYING) {
          won = await this.store.decide(gid, GlobalStatus.ROLLING_BACK, { owner, leaseMs: lease, deadline: 'past', reason: 'timeout' });
          if (won) this.logger.log(`gid=${gid} try phase timed out: rolling back`);
        } else if (isPhaseTwo(status)) {
          won = await this.store.claim(gid, owner, lease);
        }
        if (won && !this.stopped) void this.driver.drive(gid);
      }),
    );
    this.scans++;
    return due.length >= limit;
  }
}
