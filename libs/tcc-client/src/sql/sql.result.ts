/**
 * Hand-written SQL in a participant's own local transaction, the same on PostgreSQL, MySQL/MariaDB
 * and SQLite: `?` placeholders (rewritten for PostgreSQL), rows affected by a write read one way
 * from every driver.
 */
import type { EntityManager } from 'typeorm';
import { dialectOf, placeholders } from './sql.dialect';

/** Runs a write; answers how many rows it changed (for an insert that ignored a duplicate: 0). */
export async function execute(manager: EntityManager, sql: string, parameters: unknown[]): Promise<number> {
  const runner = manager.queryRunner;
  if (!runner) throw new Error('execute() needs an EntityManager bound to a transaction');
  const result = await runner.query(placeholders(dialectOf(manager), sql), parameters, true);
  return result.affected ?? 0;
}

/** Runs a read; answers its rows. */
export async function select<T>(manager: EntityManager, sql: string, parameters: unknown[]): Promise<T[]> {
  const rows: unknown = await manager.query(placeholders(dialectOf(manager), sql), parameters);
  return Array.isArray(rows) ? (rows as T[]) : [];
}
