/**
 * The barrier table as a TypeORM migration, on PostgreSQL, MySQL/MariaDB or SQLite: its statements
 * are barrierMigrationSql's (barrier-table.sql.ts). List it in the application's TypeORM
 * `migrations` (`migrations: [...TCC_BARRIER_MIGRATIONS, ...yours]`).
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { dialectOf } from '../../sql/sql.dialect';
import { BARRIER_DROP_SQL, barrierMigrationSql } from '../barrier-table.sql';

export class CreateTccBarrier1763900000000 implements MigrationInterface {
  name = 'CreateTccBarrier1763900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const statement of barrierMigrationSql(dialectOf(queryRunner))) await queryRunner.query(statement);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(BARRIER_DROP_SQL);
  }
}

/** Every migration of the barrier table, in order: spread into the application's own `migrations`. */
export const TCC_BARRIER_MIGRATIONS = [CreateTccBarrier1763900000000];
