/** Liveness (the process answers) and readiness (database reachable, migrations applied). */
import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { Database } from '../store/database';
import { TransactionStore } from '../store/transaction.store';

@Controller('health')
export class HealthController {
  constructor(
    private readonly db: Database,
    private readonly store: TransactionStore,
  ) {}

  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(): Promise<{ status: 'ok'; database: 'up'; migrations: 'applied' }> {
    try {
      await this.store.ping();
    } catch (error) {
      throw new ServiceUnavailableException(`database unreachable: ${(error as Error).message}`);
    }
    if (await this.db.pendingMigrations().catch(() => true)) {
      throw new ServiceUnavailableException('database migrations are not applied: run npm run migration:run');
    }
    return { status: 'ok', database: 'up', migrations: 'applied' };
  }
}
