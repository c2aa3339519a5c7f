/**
 * The coordinator's connection to its database: TypeORM's DataSource over mysql2 or the embedded
 * SQLite file, plus the two things the store needs from it: statements that report affected rows,
 * and local transactions. Transient failures (deadlock, lock wait, lost connection) are retried
 * here, which is safe because every store operation is a compare-and-set or an idempotent insert.
 */
import { Logger } from '@nestjs/common';
import { DataSource, type QueryRunner } from 'typeorm';
import { dataSourceOptions, pendingMigrations } from '@tcc/service-kit';
import { coordinatorMigrations } from '../../../../migrations/coordinator';

export type Dialect = 'mysql' | 'sqlite';
export type Row = Record<string, unknown>;

export interface Executor {
  select<T extends Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a write; answers the number of rows it affected. */
  execute(sql: string, params?: unknown[]): Promise<number>;
}

const TRANSIENT_MYSQL = new Set([1205, 1213, 2006, 2013, 1040, 1053]);
const TRANSIENT_CODES = new Set([
  'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'ECONNREFUSED',
  'ETIMEDOUT', 'EPIPE', 'SQLITE_BUSY', 'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR', 'PROTOCOL_SEQUENCE_TIMEOUT',
]);

export function isTransient(error: unknown): boolean {
  const e = error as { code?: unknown; errno?: unknown; driverError?: { code?: unknown; errno?: unknown }; message?: unknown };
  const code = e?.driverError?.code ?? e?.code;
  const errno = e?.driverError?.errno ?? e?.errno;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  if (typeof errno === 'number' && TRANSIENT_MYSQL.has(errno)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection lost|connection is in closed state|Pool is closed|Can't add new command when connection is in closed state/i.test(message);
}

/** Serialises work on the single embedded connection, so one local transaction never sees another's statements. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(() => undefined, () => undefined);
    return result;
  }
}

export interface DatabaseSettings {
  url?: string;
  sqlitePath: string;
  poolSize: number;
}

export class Database {
  readonly dialect: Dialect;
  private readonly logger = new Logger('Database');
  private readonly mutex = new Mutex();
  /** Retries of one operation on transient errors, with a short growing pause. */
  private readonly maxAttempts = 8;

  constructor(readonly dataSource: DataSource) {
    const type = dataSource.options.type;
    this.dialect = type === 'mysql' || type === 'mariadb' ? 'mysql' : 'sqlite';
  }

  static create(settings: DatabaseSettings): Database {
    return new Database(
      new DataSource(
        dataSourceOptions({
          url: settings.url,
          sqlitePath: settings.sqlitePath,
          poolSize: settings.poolSize,
          migrations: coordinatorMigrations,
          migrationsTableName: 'tcc_migrations',
        }),
      ),
    );
  }

  async connect(): Promise<void> {
    if (!this.dataSource.isInitialized) await this.dataSource.initialize();
  }

  async migrate(): Promise<string[]> {
    const applied = await this.dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  }

  /** Read-only: a readiness probe must not create the migrations table. */
  async pendingMigrations(): Promise<boolean> {
    return (await pendingMigrations(this.dataSource)).length > 0;
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }

  /** One statement in its own (auto-committed) transaction. */
  select<T extends Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.withRunner((runner) => selectOn<T>(runner, sql, params));
  }

  execute(sql: string, params: unknown[] = []): Promise<number> {
    return this.withRunner((runner) => executeOn(runner, sql, params));
  }

  /** Several statements in one local transaction: one durable commit. */
  transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    return this.withRunner(async (runner) => {
      await runner.startTransaction();
      try {
        const result = await work({
          select: (sql, params = []) => selectOn(runner, sql, params),
          execute: (sql, params = []) => executeOn(runner, sql, params),
        });
        await runner.commitTransaction();
        return result;
      } catch (error) {
        if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
    });
  }

  private async withRunner<T>(fn: (runner: QueryRunner) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const once = async (): Promise<T> => {
          const runner = this.dataSource.createQueryRunner();
          try {
            return await fn(runner);
          } finally {
            await runner.release().catch(() => undefined);
          }
        };
        return this.dialect === 'sqlite' ? await this.mutex.run(once) : await once();
      } catch (error) {
        if (!isTransient(error) || attempt >= this.maxAttempts) throw error;
        const pause = Math.min(1000, 10 * 2 ** attempt) * (0.5 + Math.random() / 2);
        this.logger.warn(`transient database error (attempt ${attempt}, retrying in ${Math.round(pause)} ms): ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }
}

async function selectOn<T extends Row>(runner: QueryRunner, sql: string, params: unknown[]): Promise<T[]> {
  const result = await runner.query(sql, params, true);
  return (result.records ?? []) as T[];
}

async function executeOn(runner: QueryRunner, sql: string, params: unknown[]): Promise<number> {
  const result = await runner.query(sql, params, true);
  return result.affected ?? 0;
}
