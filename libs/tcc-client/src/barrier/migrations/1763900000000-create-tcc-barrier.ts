/**
 * The barrier table (one row per gid, branch and phase), created in a participant's own database:
 * PostgreSQL, MySQL/MariaDB or SQLite. List it in the application's TypeORM `migrations`
 * (`migrations: [...TCC_BARRIER_MIGRATIONS, ...yours]`). The unique key (gid, branch_id, phase)
 * is what serialises concurrent calls of one branch; ids compare byte for byte ('A' is not 'a').
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { dialectOf } from '../../sql/sql.dialect';

export class CreateTccBarrier1763900000000 implements MigrationInterface {
  name = 'CreateTccBarrier1763900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    switch (dialectOf(queryRunner)) {
      case 'mysql':
        await queryRunner.query(`CREATE TABLE tcc_barrier (
          id BIGINT NOT NULL AUTO_INCREMENT,
          gid VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
          branch_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
          phase VARCHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
          reason VARCHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
          created_at BIGINT NOT NULL,
          PRIMARY KEY (id),
          UNIQUE KEY uq_tcc_barrier_branch_phase (gid, branch_id, phase),
          KEY ix_tcc_barrier_created_at (created_at)
        ) ENGINE=InnoDB`);
        return;
      case 'postgres':
        await queryRunner.query(`CREATE TABLE tcc_barrier (
          id BIGSERIAL PRIMARY KEY,
          gid VARCHAR(128) COLLATE "C" NOT NULL,
          branch_id VARCHAR(64) COLLATE "C" NOT NULL,
          phase VARCHAR(8) NOT NULL,
          reason VARCHAR(8) NOT NULL,
          created_at BIGINT NOT NULL,
          CONSTRAINT uq_tcc_barrier_branch_phase UNIQUE (gid, branch_id, phase)
        )`);
        await queryRunner.query('CREATE INDEX ix_tcc_barrier_created_at ON tcc_barrier (created_at)');
        return;
      case 'sqlite':
        await queryRunner.query(`CREATE TABLE tcc_barrier (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          gid TEXT NOT NULL,
          branch_id TEXT NOT NULL,
          phase TEXT NOT NULL,
          reason TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          CONSTRAINT uq_tcc_barrier_branch_phase UNIQUE (gid, branch_id, phase)
        )`);
        await queryRunner.query('CREATE INDEX ix_tcc_barrier_created_at ON tcc_barrier (created_at)');
        return;
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE tcc_barrier');
  }
}

/** Every migration of the barrier table, in order: spread into the application's own `migrations`. */
export const TCC_BARRIER_MIGRATIONS = [CreateTccBarrier1763900000000];
