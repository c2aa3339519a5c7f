/**
 * Liveness (the process answers) and readiness (database reachable, migrations applied, on Galera
 * the node Synced; Redis reported when configured) with @nestjs/terminus: 200 when ready, 503
 * naming what is down.
 */
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthCheckResult, type HealthIndicatorResult } from '@nestjs/terminus';
import { Database } from '../store/database';
import { QueryStore, type GaleraNodeState } from '../store/query.store';
import { ReplicaCoordinator } from '../recovery/replica.coordinator';

const PROBE_TIMEOUT_MS = 2_000;

function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    work,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS).unref()),
  ]);
}

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly db: Database,
    private readonly store: QueryStore,
    private readonly coordination: ReplicaCoordinator,
  ) {}

  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.database(),
      () => this.galera(),
      () => this.migrations(),
      ...(this.coordination.configured ? [() => this.redis()] : []),
    ]);
  }

  private async database(): Promise<HealthIndicatorResult> {
    const session = this.indicators.check('database');
    try {
      await withTimeout(this.store.ping(), 'the database');
      return session.up({ dialect: this.db.dialect });
    } catch (error) {
      return session.down({ message: (error as Error).message });
    }
  }

  /**
   * On a Galera node (wsrep_on), ready only when the node is Synced and accepts queries: a node
   * that is joining, catching up by IST/SST, donating, or cut off from the primary component
   * refuses statements on tables (1047), so a load balancer should send this replica's traffic
   * elsewhere until it is back. Without wsrep, or on another database, reported as not applying.
   */
  private async galera(): Promise<HealthIndicatorResult> {
    const session = this.indicators.check('galera');
    let node: GaleraNodeState | null;
    try {
      node = await withTimeout(this.store.galeraNode(), 'the database');
    } catch (error) {
      return session.down({ message: `the node's wsrep state cannot be read: ${(error as Error).message}` });
    }
    if (!node) return session.up({ wsrep: false });
    const details = { state: node.state, wsrepReady: node.ready, clusterStatus: node.clusterStatus, clusterSize: node.clusterSize };
    if (node.ready && node.state === 'Synced') return session.up(details);
    const why = !node.ready ? `wsrep_ready is OFF (cluster status ${node.clusterStatus || 'unknown'})` : `wsrep_local_state_comment is ${node.state}, not Synced`;
    return session.down({ ...details, message: `the Galera node is not ready: ${why}; it refuses queries until it has rejoined and is Synced` });
  }

  private async migrations(): Promise<HealthIndicatorResult> {
    const session = this.indicators.check('migrations');
    try {
      const pending = await withTimeout(this.db.pendingMigrations(), 'the database');
      return pending ? session.down({ message: 'migrations are not applied: run npm run migration:run' }) : session.up();
    } catch (error) {
      return session.down({ message: (error as Error).message });
    }
  }

  /**
   * Redis is reported, never a reason to be unready: correctness does not depend on it, and
   * taking every replica out of service because Redis died would fail transactions that the
   * database leases alone would have carried.
   */
  private async redis(): Promise<HealthIndicatorResult> {
    const session = this.indicators.check('redis');
    return this.coordination.redisUp
      ? session.up({ connected: true, coordination: 'redis' })
      : session.up({ connected: false, coordination: 'database leases alone' });
  }
}
