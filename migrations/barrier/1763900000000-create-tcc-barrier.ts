/**
 * The barrier table of libs/tcc-client (DESIGN.md §5), created in every participant's own database.
 * The unique key (gid, branch_id, phase) is what serialises concurrent calls of one branch.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateTccBarrier1763900000000 implements MigrationInterface {
  name = 'CreateTccBarrier1763900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql' || queryRunner.connection.options.type === 'mariadb') {
      // ascii_bin: ids are compared byte for byte, so 'A' and 'a' are different gids.
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
    }
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
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE tcc_barrier');
  }
}
