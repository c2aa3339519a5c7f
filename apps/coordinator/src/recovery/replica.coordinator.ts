/**
 * Coordination between replicas through Redis (TCC_REDIS_URL): one replica leads the scans under
 * a lease renewed in Redis, fenced by an epoch written to the database, and a replica that
 * finishes a transaction publishes its gid so whichever replica waits on it answers at once.
 * Correctness never depends on Redis: without it, or while it is down, every replica scans and
 * the database leases alone keep two replicas from driving one transaction. Only a replica that
 * reaches its database leads: a leader whose database stops answering gives the lease up.
 */
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import type { GlobalStatus } from '@tcc/client/protocol';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { LeaseStore } from '../store/lease.store';
import { QueryStore } from '../store/query.store';
import { CompletionNotifier, type CompletionRelay } from '../phase-two/completion.notifier';
import { MetricsService } from '../metrics/metrics.service';
import { ReplicaIdentity } from '../store/replica.identity';

/** Renews only our own lease: compare the value, then extend. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/** Gives up only our own lease. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface ScanPermit {
  /** Fencing epoch the claims must carry; null when scanning on database leases alone. */
  fence: number | null;
}

@Injectable()
export class ReplicaCoordinator implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ReplicaCoordinator.name);
  private client: Redis | null = null;
  private subscriber: Redis | null = null;
  private up = false;
  private epoch: number | null = null;
  /** performance.now() until which our leadership is certainly still valid. */
  private leaderUntil = 0;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private stopped = false;
  /** performance.now() of the last answer from our database (a ping, or the fence taken). */
  private databaseAnsweredAt = Number.NEGATIVE_INFINITY;
  /** Whether we last found our database answering (only to log the changes once). */
  private databaseReachable = true;
  private readonly leaderKey: string;
  private readonly channel: string;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    private readonly store: LeaseStore,
    private readonly queries: QueryStore,
    private readonly notifier: CompletionNotifier,
    private readonly metrics: MetricsService,
    private readonly replica: ReplicaIdentity,
  ) {
    const prefix = config.redis.prefix;
    this.leaderKey = `${prefix}scan-leader`;
    this.channel = `${prefix}finished`;
  }

  /** Finishes of this replica go out on the Redis channel, those of others come in from it. */
  onModuleInit(): void {
    const relay: CompletionRelay = { publish: (gid, status) => this.publishFinished(gid, status), isConnected: () => this.up };
    this.notifier.attach(relay);
  }

  /** Period of the leadership loop: a third of the leader lease. */
  private get tickMs(): number {
    return Math.max(100, Math.floor(this.config.redis.leaderLeaseMs / 3));
  }

  get configured(): boolean {
    return !!this.config.redis.url;
  }

  /** True while Redis is configured and this replica reaches it. */
  get redisUp(): boolean {
    return this.up;
  }

  isLeader(): boolean {
    return this.epoch !== null && performance.now() < this.leaderUntil;
  }

  /**
   * Whether this replica may scan now, and under which fence. A leader checks that its epoch is
   * still the one in the database: if a newer leader fenced it out, it steps down at once.
   */
  async scanPermit(): Promise<ScanPermit | null> {
    if (!this.configured || !this.up) return { fence: null };
    if (!this.isLeader()) return null;
    const epoch = this.epoch as number;
    if ((await this.store.currentFence()) !== epoch) {
      this.logger.warn(`scan leadership epoch ${epoch} was fenced out by a newer leader: stepping down`);
      await this.stepDown();
      return null;
    }
    return this.isLeader() ? { fence: epoch } : null;
  }

  onApplicationBootstrap(): void {
    if (!this.configured) {
      this.metrics.scanLeader.set(1);
      return;
    }
    this.metrics.redisUp.set(0);
    const options = {
      // Fail fast while disconnected: nothing waits on Redis.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      retryStrategy: (times: number) => Math.min(times * 200, 2_000),
      lazyConnect: false,
    };
    this.client = new Redis(this.config.redis.url as string, options);
    this.subscriber = new Redis(this.config.redis.url as string, { ...options, enableOfflineQueue: true });
    this.client.on('ready', () => this.setUp(true));
    this.client.on('close', () => this.setUp(false));
    this.client.on('error', () => this.setUp(false));
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (_channel: string, message: string) => this.onFinished(message));
    void this.subscriber.subscribe(this.channel).catch(() => undefined);
    this.timer = setInterval(() => void this.tick(), this.tickMs);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.client && this.epoch !== null && this.up) {
      await this.client.eval(RELEASE, 1, this.leaderKey, this.replica.id).catch(() => undefined);
    }
    this.epoch = null;
    this.client?.disconnect();
    this.subscriber?.disconnect();
  }

  /** Tells every replica that `gid` finished (best effort: waiters also poll the database). */
  private publishFinished(gid: string, status: GlobalStatus): void {
    if (!this.client || !this.up) return;
    this.client.publish(this.channel, JSON.stringify({ gid, status })).catch(() => undefined);
  }

  private onFinished(message: string): void {
    try {
      const { gid, status } = JSON.parse(message) as { gid: string; status: GlobalStatus };
      if (typeof gid === 'string') this.notifier.arrived(gid, status);
    } catch {
      // Not ours: ignore.
    }
  }

  private setUp(up: boolean): void {
    if (up === this.up) return;
    this.up = up;
    this.metrics.redisUp.set(up ? 1 : 0);
    if (up) {
      this.logger.log('Redis coordination is up: one replica leads the scans');
      void this.tick();
    } else {
      this.logger.warn('Redis is unavailable: falling back to database leases alone (every replica scans)');
      this.loseLeadership();
    }
  }

  /** Stops leading and hands the Redis lease back, so another replica takes it at its next tick. */
  private async stepDown(): Promise<void> {
    this.loseLeadership();
    await this.client?.eval(RELEASE, 1, this.leaderKey, this.replica.id).catch(() => undefined);
  }

  /** One cheap `SELECT 1`; an answer, whenever it comes, is recorded. Never rejects. */
  private pingDatabase(): Promise<boolean> {
    return this.queries.ping().then(
      () => {
        this.databaseAnsweredAt = performance.now();
        return true;
      },
      () => false,
    );
  }

  /** Whether the database answers a ping within `timeoutMs`. */
  private async databaseAnswersWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([this.pingDatabase(), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Logs when our database stops or starts answering (once per change). */
  private noteDatabase(reachable: boolean, detail: string): void {
    if (reachable === this.databaseReachable) return;
    this.databaseReachable = reachable;
    if (reachable) this.logger.log('the database answers again: this replica may lead the scans');
    else this.logger.warn(`the database does not answer (${detail}): this replica does not lead the scans`);
  }

  private loseLeadership(): void {
    if (this.epoch !== null) this.logger.log(`scan leadership (epoch ${this.epoch}) lost`);
    this.epoch = null;
    this.leaderUntil = 0;
    this.metrics.scanLeader.set(0);
  }

  /**
   * Renews our leadership, or tries to take it when nobody holds it. Leading needs the database
   * as well as Redis: a leader pings its database every tick and steps down once it has not
   * answered for a whole leader lease (the time a crashed leader would take to be replaced), and
   * a replica stands for leadership only just after its database answered a ping.
   */
  private async tick(): Promise<void> {
    if (this.ticking || this.stopped || !this.client || !this.up) return;
    this.ticking = true;
    const started = performance.now();
    const leaseMs = this.config.redis.leaderLeaseMs;
    // Leadership is trusted until a little before the lease could have expired in Redis.
    const validFor = leaseMs * 0.8;
    try {
      if (this.epoch !== null) {
        if (started >= this.leaderUntil) {
          this.loseLeadership();
          return;
        }
        // Not waited for: a slow database must not hold up the renewal.
        void this.pingDatabase();
        const silentMs = started - this.databaseAnsweredAt;
        if (silentMs >= leaseMs) {
          this.noteDatabase(false, `no answer for ${Math.round(silentMs)} ms`);
          this.logger.warn(`giving up scan leadership (epoch ${this.epoch}): the database has not answered for ${Math.round(silentMs)} ms`);
          await this.stepDown();
          return;
        }
        const renewed = await this.client.eval(RENEW, 1, this.leaderKey, this.replica.id, leaseMs);
        if (renewed === 1) this.leaderUntil = started + validFor;
        else this.loseLeadership();
        return;
      }
      if (await this.client.exists(this.leaderKey)) return;
      // Standing for leadership with a database we cannot reach would only hold the lease
      // from a replica that can scan.
      const answered = await this.databaseAnswersWithin(this.tickMs);
      this.noteDatabase(answered, `no answer to a ping within ${this.tickMs} ms`);
      if (!answered) return;
      const taken = await this.client.set(this.leaderKey, this.replica.id, 'PX', this.config.redis.leaderLeaseMs, 'NX');
      if (taken !== 'OK') return;
      // The epoch lives in the database, next to the rows it fences: a Redis that lost its data
      // cannot hand out an old epoch again.
      const epoch = await this.store.advanceFence(this.replica.id).catch(async (error: Error) => {
        // Our database failed us after all: let the lease go now rather than when it expires.
        await this.client?.eval(RELEASE, 1, this.leaderKey, this.replica.id).catch(() => undefined);
        throw error;
      });
      if (epoch === null) {
        await this.client.eval(RELEASE, 1, this.leaderKey, this.replica.id).catch(() => undefined);
        return;
      }
      this.epoch = epoch;
      this.databaseAnsweredAt = performance.now();
      this.leaderUntil = started + validFor;
      this.metrics.scanLeader.set(1);
      this.logger.log(`scan leadership taken (epoch ${epoch})`);
    } catch (error) {
      this.logger.debug?.(`leadership tick failed: ${(error as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }
}
