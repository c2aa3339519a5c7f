/**
 * The client that owns a transaction (the API key's name or the certificate's common name; NULL
 * for transactions begun before clients were recorded), and why it was flagged for attention.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes } from './column-types';

export class ClientAndAttentionReason1732700000000 implements MigrationInterface {
  name = 'ClientAndAttentionReason1732700000000';

  async up(q: QueryRunner): Promise<void> {
    const t = columnTypes(q);
    await q.query(`ALTER TABLE tcc_transactions ADD COLUMN client ${t.id(64)} NULL`);
    await q.query('ALTER TABLE tcc_transactions ADD COLUMN attention_reason VARCHAR(1000) NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE tcc_transactions DROP COLUMN attention_reason');
    await q.query('ALTER TABLE tcc_transactions DROP COLUMN client');
  }
}
