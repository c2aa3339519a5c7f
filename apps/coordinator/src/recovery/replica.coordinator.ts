/**
 * Coordination between replicas through Redis (TCC_REDIS_URL): one replica leads the scans under
 * a lease renewed in Redis, fenced by an epoch written to the database, and a replica that
 * finishes a transaction publishes its gid so whichever replica waits on it answers at once.
 * Correctness never depends on Redis: without it, or while it is down, every replica scans and
 * the database leases alone keep two replicas from driving one transaction.
 */
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import type { GlobalStatus } from '@tcc/client/protocol';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { LeaseStore } from '../store/lease.store';
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
  private readonly leaderKey: string;
  private readonly channel: string;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    private readonly store: LeaseStore,
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
      this.loseLeadership();
      await this.client?.eval(RELEASE, 1, this.leaderKey, this.replica.id).catch(() => undefined);
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
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.config.redis.leaderLeaseMs / 3)));
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

  private loseLeadership(): void {
    if (this.epoch !== null) this.logger.log(`scan leadership (epoch ${this.epoch}) lost`);
    this.epoch = null;
    this.leaderUntil = 0;
    this.metrics.scanLeader.set(0);
  }

  /** Renews our leadership, or tries to take it when nobody holds it. */
  private async tick(): Promise<void> {
    if (this.ticking || this.stopped || !this.client || !this.up) return;
    this.ticking = true;
    const started = performance.now();
    // Leadership is trusted until a little before the lease could have expired in Redis.
    const validFor = this.config.redis.leaderLeaseMs * 0.8;
    try {
      if (this.epoch !== null) {
        if (started >= this.leaderUntil) {
          this.loseLeadership();
        } else {
          const renewed = await this.client.eval(RENEW, 1, this.leaderKey, this.replica.id, this.config.redis.leaderLeaseMs);
          if (renewed === 1) this.leaderUntil = started + validFor;
          else this.loseLeadership();
        }
        return;
      }
      if (await this.client.exists(this.leaderKey)) return;
      const taken = await this.client.set(this.leaderKey, this.replica.id, 'PX', this.config.redis.leaderLeaseMs, 'NX');
      if (taken !== 'OK') return;
      // The epoch lives in the database, next to the rows it fences: a Redis that lost its data
      // cannot hand out an old epoch again.
      const epoch = await this.store.advanceFence(this.replica.id);
      if (epoch === null) {
        await this.client.eval(RELEASE, 1, this.leaderKey, this.replica.id).catch(() => undefined);
        return;
      }
      this.epoch = epoch;
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
