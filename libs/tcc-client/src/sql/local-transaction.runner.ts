/**
 * Runs a function in one local database transaction. On SQLite, TypeORM shares a single connection
 * between all callers, so transactions are queued one at a time per DataSource; on MySQL and PostgreSQL a
 * deadlock victim is retried a few times, because InnoDB already rolled its work back.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { sqlDialectOf } from './sql.dialect';

const queues = new WeakMap<DataSource, Promise<unknown>>();
const DEADLOCK_RETRIES = 3;

/** Process-wide counters, for metrics and for tests that assert the barrier never deadlocks. */
export const localTransactionStats = { deadlockRetries: 0 };

/** Serialises work on one SQLite DataSource; other callers waiting behind a failed one still run. */
export function serialised<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T> {
  const previous = queues.get(dataSource) ?? Promise.resolve();
  const next = previous.then(work, work);
  queues.set(
    dataSource,
    next.then(
      () => undefined,
      () => undefined,
    ),
  );
  return next;
}

export async function runInLocalTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  const dialect = sqlDialectOf(dataSource);
  if (dialect.name === 'sqlite') {
    return serialised(dataSource, () => dataSource.transaction((manager) => work(manager)));
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await dataSource.transaction((manager) => work(manager));
    } catch (error) {
      // InnoDB already rolled the victim back; PostgreSQL aborted its transaction (sql.dialect.ts).
      if (attempt > DEADLOCK_RETRIES || !dialect.isDeadlock(error)) throw error;
      localTransactionStats.deadlockRetries++;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
    }
  }
}

/** A read outside any transaction; on SQLite it still queues, so it never sees another's uncommitted rows. */
export function runRead<T>(dataSource: DataSource, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  if (sqlDialectOf(dataSource).name === 'sqlite') return serialised(dataSource, () => work(dataSource.manager));
  return work(dataSource.manager);
}
