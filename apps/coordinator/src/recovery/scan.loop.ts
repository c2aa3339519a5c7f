/**
 * A scan that runs again and again: at once after a scan that filled its batch (more may be due),
 * otherwise after the scan interval; a failed scan is logged (a warning when the database is only
 * down or not ready, or a Galera node rejoining, which is expected to pass: the scan already retried it) and tried again after the interval. `stop` ends the
 * loop and waits for the scan under way. The transaction scan and the callback scan both run on it.
 */
import type { Logger } from '@nestjs/common';
import { isTransient } from '../store/database';

export class ScanLoop {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private scanning: Promise<void> | null = null;

  /** `scan` answers true when it filled its batch. */
  constructor(
    private readonly what: string,
    private readonly intervalMs: number,
    private readonly scan: () => Promise<boolean>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.scanning;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.scanning = this.scan()
        .then((full) => this.schedule(full ? 0 : this.intervalMs))
        .catch((error: Error) => {
          const line = `${this.what} failed, next in ${this.intervalMs} ms: ${error.message}`;
          if (isTransient(error)) this.logger.warn(line);
          else this.logger.error(line);
          this.schedule(this.intervalMs);
        });
    }, delayMs);
  }
}
