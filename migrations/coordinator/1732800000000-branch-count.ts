/**
 * How many branches a transaction holds, on its own row. A registration writes it in the same local
 * transaction as the branch row, and every decision writes the same row, so the two conflict
 * wherever they run: under row locks on one server, under certification on a multi-writer cluster
 * (Galera), where a shared lock taken on one node is not seen by the others. The decision reads its
 * branch count from this row, and a transaction finishes only when as many branches as it counts
 * are there and done.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class BranchCount1732800000000 implements MigrationInterface {
  name = 'BranchCount1732800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE tcc_transactions ADD COLUMN branch_count INT NOT NULL DEFAULT 0');
    await q.query('UPDATE tcc_transactions SET branch_count = (SELECT COUNT(*) FROM tcc_branches b WHERE b.gid = tcc_transactions.gid)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE tcc_transactions DROP COLUMN branch_count');
  }
}
