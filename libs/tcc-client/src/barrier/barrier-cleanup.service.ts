/**
 * Starts the barrier cleanup with the application when it hosts participants (or when it first
 * sends a reliable message, whose prepared rows are barrier rows too), and stops it before shutdown.
 */
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ResolvedTccOptions, TCC_OPTIONS } from '../tcc.options';
import { ParticipantDatabase } from '../participant/participant-database.provider';
import { ParticipantRegistry } from '../participant/participant.registry';
import { BarrierCleanup } from './barrier-cleanup.job';

@Injectable()
export class BarrierCleanupService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('TccBarrierCleanup');
  private cleanup: BarrierCleanup | undefined;

  constructor(
    @Inject(TCC_OPTIONS) private readonly options: ResolvedTccOptions,
    private readonly registry: ParticipantRegistry,
    private readonly database: ParticipantDatabase,
  ) {}

  onApplicationBootstrap(): void {
    if (this.registry.size > 0) this.ensureStarted();
  }

  /** Starts the periodic cleanup unless it runs: at bootstrap with participants, at the first message sent without. */
  ensureStarted(): void {
    if (this.cleanup) return;
    this.cleanup = new BarrierCleanup(this.database.get(), this.options.barrierCleanup, (error) =>
      this.logger.warn({ msg: 'barrier cleanup failed', error: error instanceof Error ? error.message : String(error) }),
    );
    this.cleanup.start();
  }

  /** One bounded pass now; answers how many rows it removed. */
  runOnce(now?: number): Promise<number> {
    if (!this.cleanup) return Promise.resolve(0);
    return this.cleanup.runOnce(now);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.cleanup?.stop();
  }
}
