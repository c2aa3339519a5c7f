/**
 * Bounded periodic removal of old barrier rows. A row must outlive every retry of its branch, so the
 * retention is long (days); each run deletes at most `batchSize * maxBatches` rows in short
 * transactions so it never holds locks that participant calls wait on for long.
 */
import type { BarrierDatabase } from './barrier.adapter';
import { BarrierStore } from './barrier.store';
import { runLocalRead, runLocalTransaction } from '../sql/local-transaction.runner';

export interface BarrierCleanupSettings {
  /** Rows older than this are removed. */
  retentionMs: number;
  /** Pause between runs; 0 disables the periodic run. */
  intervalMs: number;
  batchSize: number;
  maxBatches: number;
}

export const DEFAULT_BARRIER_CLEANUP: BarrierCleanupSettings = {
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  intervalMs: 60 * 60 * 1000,
  batchSize: 500,
  maxBatches: 20,
};

export class BarrierCleanup {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private readonly store: BarrierStore;

  constructor(
    private readonly database: BarrierDatabase,
    private readonly settings: BarrierCleanupSettings,
    private readonly onError: (error: unknown) => void,
  ) {
    this.store = new BarrierStore(database.dialect);
  }

  start(): void {
    if (this.settings.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      if (!this.running) this.runOnce().catch(this.onError);
    }, this.settings.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One bounded pass; answers how many rows it removed. */
  runOnce(now = Date.now()): Promise<number> {
    this.running ??= this.sweep(now - this.settings.retentionMs).finally(() => (this.running = undefined));
    return this.running;
  }

  private async sweep(olderThan: number): Promise<number> {
    let removed = 0;
    for (let batch = 0; batch < this.settings.maxBatches; batch++) {
      const ids = await runLocalRead(this.database, (sql) => this.store.oldIds(sql, olderThan, this.settings.batchSize));
      if (ids.length === 0) break;
      removed += await runLocalTransaction(this.database, (sql) => this.store.deleteIds(sql, ids));
      if (ids.length < this.settings.batchSize) break;
    }
    return removed;
  }
}
