/** Rows affected by a write, read the same way from mysql2 and better-sqlite3 through TypeORM. */
import type { EntityManager } from 'typeorm';

export async function execute(manager: EntityManager, sql: string, parameters: unknown[]): Promise<number> {
  const runner = manager.queryRunner;
  if (!runner) throw new Error('execute() needs an EntityManager bound to a transaction');
  const result = await runner.query(sql, parameters, true);
  return result.affected ?? 0;
}

export async function select<T>(manager: EntityManager, sql: string, parameters: unknown[]): Promise<T[]> {
  const rows: unknown = await manager.query(sql, parameters);
  return Array.isArray(rows) ? (rows as T[]) : [];
}
