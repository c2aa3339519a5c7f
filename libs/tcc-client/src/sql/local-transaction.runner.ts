/**
 * The one runner of a participant's local transactions, whatever the adapter (barrier.adapter.ts).
 * On SQLite every ORM here shares a single connection between all callers, so transactions are
 * queued one at a time per database; on MySQL and PostgreSQL a deadlock victim is retried a few
 * times, because the database already rolled its work back. `runInLocalTransaction` and `runRead`
 * are the same runner for TypeORM users who pass their DataSource.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DataSource, EntityManager } from 'typeorm';
import type { BarrierDatabase, BarrierRead, BarrierSql } from '../barrier/barrier.adapter';
import { typeormDatabase } from '../barrier/adapters/typeorm.adapter';

const queues = new WeakMap<object, Promise<unknown>>();
const DEADLOCK_RETRIES = 3;

/** Process-wide counters, for metrics and for tests that assert the barrier never deadlocks. */
export const localTransactionStats = { deadlockRetries: 0 };

/** Serialises work on one SQLite database; other callers waiting behind a failed one still run. */
export function serialised<T>(database: object, work: () => Promise<T>): Promise<T> {
  const previous = queues.get(database) ?? Promise.resolve();
  const next = previous.then(work, work);
  queues.set(
    database,
    next.then(
      () => undefined,
      () => undefined,
    ),
  );
  return next;
}

/**
 * The local transaction the current code runs in (a participant method's, TccMessages.send's):
 * its barrier SQL, and what is to run once it has committed. Lets a participant method send a
 * reliable message whose prepared row commits with its own change (TccMessages.sendInTransaction).
 */
export interface CurrentLocalTransaction {
  database: BarrierDatabase<unknown>;
  sql: BarrierSql;
  /** Run, in order, after the transaction committed; never after a rollback. Errors are the hook's own. */
  afterCommit: (() => Promise<void>)[];
}

const current = new AsyncLocalStorage<CurrentLocalTransaction>();

/** The local transaction the caller runs in, if any (see CurrentLocalTransaction). */
export function currentLocalTransaction(): CurrentLocalTransaction | undefined {
  return current.getStore();
}

/** One attempt: `work` inside the transaction, with its context; answers the result and the after-commit hooks. */
async function once<T, Tx>(database: BarrierDatabase<Tx>, work: (sql: BarrierSql, tx: Tx) => Promise<T>): Promise<{ result: T; afterCommit: (() => Promise<void>)[] }> {
  const afterCommit: (() => Promise<void>)[] = [];
  const result = await database.transaction((sql, tx) => current.run({ database: database as BarrierDatabase<unknown>, sql, afterCommit }, () => work(sql, tx)));
  return { result, afterCommit };
}

/**
 * One local transaction of `database`: queued on SQLite, a deadlock victim retried elsewhere. The
 * after-commit hooks of the attempt that committed run after it (outside SQLite's queue, since they
 * may talk to the coordinator, which may call back into this service).
 */
export async function runLocalTransaction<T, Tx>(database: BarrierDatabase<Tx>, work: (sql: BarrierSql, tx: Tx) => Promise<T>): Promise<T> {
  const committed = await runAttempts(database, work);
  for (const hook of committed.afterCommit) await hook();
  return committed.result;
}

async function runAttempts<T, Tx>(database: BarrierDatabase<Tx>, work: (sql: BarrierSql, tx: Tx) => Promise<T>): Promise<{ result: T; afterCommit: (() => Promise<void>)[] }> {
  const dialect = database.dialect;
  if (dialect.name === 'sqlite') return serialised(database, () => once(database, work));
  for (let attempt = 1; ; attempt++) {
    try {
      return await once(database, work);
    } catch (error) {
      // InnoDB already rolled the victim back; PostgreSQL aborted its transaction (sql.dialect.ts).
      if (attempt > DEADLOCK_RETRIES || !dialect.isDeadlock(error)) throw error;
      localTransactionStats.deadlockRetries++;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
    }
  }
}

/** A read outside any transaction; on SQLite it still queues, so it never sees another's uncommitted rows. */
export function runLocalRead<T>(database: BarrierDatabase<unknown>, work: (sql: BarrierRead) => Promise<T>): Promise<T> {
  if (database.dialect.name === 'sqlite') return serialised(database, () => database.read(work));
  return database.read(work);
}

/** runLocalTransaction on a TypeORM DataSource: `work` gets the transaction's EntityManager. */
export function runInLocalTransaction<T>(dataSource: DataSource, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  return runLocalTransaction(typeormDatabase(dataSource), (_sql, manager) => work(manager));
}

/** runLocalRead on a TypeORM DataSource: `work` gets its EntityManager. */
export function runRead<T>(dataSource: DataSource, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  return runLocalRead(typeormDatabase(dataSource), () => work(dataSource.manager));
}
