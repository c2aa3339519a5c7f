/**
 * Liveness (the process answers) and readiness (database reachable, migrations applied; Redis
 * reported when configured) with @nestjs/terminus: 200 when ready, 503 naming what is down.
 */
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthCheckResult, type HealthIndicatorResult } from '@nestjs/terminus';
import { Database } from '../store/database';
import { QueryStore } from '../store/query.store';
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
    return this.health.check([() => this.database(), () => this.migrations(), ...(this.coordination.configured ? [() => this.redis()] : [])]);
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
