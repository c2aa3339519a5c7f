/**
 * Group commit on MySQL and PostgreSQL: the writes of concurrent requests (begins, branch registrations,
 * decisions, finished rounds) are gathered while earlier batches are being written, then written
 * together: one packet, one local transaction, one durable commit for all of them. Every write
 * keeps its own statements and its own compare-and-set, so each request learns its own outcome
 * from its own affected-row counts, and none is answered before the commit that holds its write.
 *
 * The batch starts by reading the database's clock (sql.dialect.ts: `clock`), the instant every
 * statement of it uses (times come from the database, and a begin knows its createdAt without
 * reading it back).
 * Statements run in the order of their gids, so concurrent batches take their row locks in one
 * order. A transient failure retries the whole batch (Database.batch); any other failure retries
 * each write alone, so one bad write fails only its own request.
 */
import type { Database, Row } from './database';
import type { Statement } from './sql.dialect';

export type { Statement };

/** One request's write: its statements (using the dialect's batchNow), and how to read its outcome from their results. */
export interface BatchedWrite<T> {
  gid: string;
  statements: Statement[];
  read(results: Array<Row[] | number>, nowMs: number): T;
}

export interface BatchSettings {
  /** Batches written at the same time, each on its own connection. */
  concurrency: number;
  /** How long the first write of a batch waits for others; 0: only those of the same event-loop turn. */
  windowMs: number;
  /** Writes in one batch at most. */
  maxWrites?: number;
}

/**
 * Bytes of SQL in one batch at most, well under MySQL's default max_allowed_packet (16 MiB
 * before 8.0, 64 MiB after): payloads of up to TCC_MAX_PAYLOAD_BYTES each make a batch of large
 * registrations big.
 */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** About how many bytes a write adds to the packet. */
function sizeOf(write: BatchedWrite<unknown>): number {
  let bytes = 0;
  for (const statement of write.statements) {
    bytes += statement.sql.length;
    for (const param of statement.params) bytes += typeof param === 'string' ? param.length * 2 + 2 : 24;
  }
  return bytes;
}

interface Pending {
  write: BatchedWrite<unknown>;
  bytes: number;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export class WriteBatcher {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  /** Batches written and writes in them since start, for the benchmark and the tests. */
  readonly stats = { batches: 0, writes: 0 };

  private readonly concurrency: number;
  private readonly windowMs: number;
  private readonly maxWrites: number;

  constructor(
    private readonly db: Database,
    settings: BatchSettings,
  ) {
    this.concurrency = settings.concurrency;
    this.windowMs = settings.windowMs;
    this.maxWrites = settings.maxWrites ?? 200;
  }

  submit<T>(write: BatchedWrite<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, bytes: sizeOf(write), resolve: resolve as (value: unknown) => void, reject });
      // Requests that arrive in the same turn of the event loop (or the window) go in the same batch.
      if (!this.scheduled) {
        this.scheduled = true;
        const go = (): void => {
          this.scheduled = false;
          this.pump();
        };
        if (this.windowMs > 0) setTimeout(go, this.windowMs);
        else setImmediate(go);
      }
    });
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.queue.length > 0) {
      let count = 0;
      let bytes = 0;
      while (count < this.queue.length && count < this.maxWrites && (count === 0 || bytes + this.queue[count].bytes <= MAX_BATCH_BYTES)) {
        bytes += this.queue[count].bytes;
        count++;
      }
      const batch = this.queue.splice(0, count);
      this.inFlight++;
      void this.write(batch, true).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async write(batch: Pending[], mayDivide: boolean): Promise<void> {
    const ordered = batch.length > 1 ? [...batch].sort((a, b) => (a.write.gid < b.write.gid ? -1 : a.write.gid > b.write.gid ? 1 : 0)) : batch;
    const clock = this.db.sql.clock;
    const statements = [...clock];
    for (const pending of ordered) statements.push(...pending.write.statements);
    let results: Array<Row[] | number>;
    try {
      results = await this.db.batch(statements);
    } catch (error) {
      if (mayDivide && ordered.length > 1) {
        // Find the write that fails: each alone, so the others still succeed.
        await Promise.all(ordered.map((pending) => this.write([pending], false)));
        return;
      }
      for (const pending of ordered) pending.reject(error);
      return;
    }
    this.stats.batches++;
    this.stats.writes += ordered.length;
    const nowMs = Number((results[clock.length - 1] as Row[])[0].now_ms);
    let offset = clock.length;
    for (const pending of ordered) {
      const count = pending.write.statements.length;
      try {
        pending.resolve(pending.write.read(results.slice(offset, offset + count), nowMs));
      } catch (error) {
        pending.reject(error);
      }
      offset += count;
    }
  }
}
