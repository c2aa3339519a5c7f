/**
 * A token bucket bounding reconciliation's participant queries (TCC_RECONCILE_RATE per second):
 * `burst` tokens at most, refilled continuously; callers wait their turn in order. So in any
 * second at most rate + burst queries start. Rate 0: unthrottled.
 */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly rate: number,
    readonly burst = Math.max(1, Math.min(rate, Math.ceil(rate / 10))),
  ) {
    this.tokens = burst;
  }

  /** Resolves when the caller may send one query. */
  acquire(): Promise<void> {
    if (this.rate <= 0) return Promise.resolve();
    const turn = this.queue.then(() => this.take());
    this.queue = turn;
    return turn;
  }

  private async take(): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.rate))));
    }
  }
}
