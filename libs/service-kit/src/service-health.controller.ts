/**
 * `GET /health/live`: the process serves HTTP. `GET /health/ready`: the database answers and every
 * migration is applied; 503 otherwise, naming what is missing.
 */
import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { runRead } from '@tcc/client';

@Controller('health')
export class ServiceHealthController {
  constructor(private readonly dataSource: DataSource) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(): Promise<{ status: 'ok' }> {
    try {
      await runRead(this.dataSource, (manager) => manager.query('SELECT 1'));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ServiceUnavailableException({ statusCode: 503, error: 'DATABASE_UNREACHABLE', message });
    }
    const pending = await pendingMigrations(this.dataSource);
    if (pending.length > 0) {
      throw new ServiceUnavailableException({
        statusCode: 503,
        error: 'MIGRATIONS_PENDING',
        message: `pending migrations: ${pending.join(', ')} (run \`main.js migrate\`)`,
      });
    }
    return { status: 'ok' };
  }
}

/**
 * Names of the migrations of `dataSource` not applied yet. Read-only, unlike
 * DataSource.showMigrations(), which creates the migrations table when absent.
 */
export async function pendingMigrations(dataSource: DataSource): Promise<string[]> {
  const table = dataSource.options.migrationsTableName ?? 'migrations';
  let applied = new Set<string>();
  try {
    const rows = await runRead(dataSource, (manager) => manager.query(`SELECT name FROM ${table}`) as Promise<Array<{ name: string }>>);
    applied = new Set(rows.map((row) => row.name));
  } catch {
    // No migrations table yet: every migration is pending.
  }
  return dataSource.migrations.map((migration) => migration.name ?? migration.constructor.name).filter((name) => !applied.has(name));
}
