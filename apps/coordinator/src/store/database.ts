/**
 * The coordinator's connection to its database: TypeORM's DataSource (the pool, the migrations)
 * and the executor of its driver (executors/: mysql2, pg or the embedded SQLite file), chosen
 * once here. The SQL that differs by dialect is in sql.dialect.ts, built on the dialect the
 * library shares (`@tcc/client/sql`). Transient failures (deadlock, lock wait, lost connection),
 * as that dialect names them, are retried here, which is safe because every store operation is a
 * compare-and-set or an idempotent insert.
 */
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { isTransient } from '@tcc/client/sql';
import { dataSourceOptions, pendingMigrations } from '@tcc/service-kit';
import { coordinatorMigrations } from '../../../../migrations/coordinator';
import { driverOfType, type DriverExecutor, type Executor, type Row } from './executors';
import { coordinatorSql, type CoordinatorSql, type Dialect, type Statement } from './sql.dialect';
import { SqliteFileLock } from './sqlite-file.lock';

export { isTransient, type Dialect, type Executor, type Row };

export interface DatabaseSettings {
  url?: string;
  sqlitePath: string;
  poolSize: number;
}

export class Database {
  readonly dialect: Dialect;
  /** The SQL pieces that differ by dialect (sql.dialect.ts). */
  readonly sql: CoordinatorSql;
  private readonly executor: DriverExecutor;
  private readonly logger = new Logger('Database');
  /** Retries of one operation on transient errors, with a short growing pause. */
  private readonly maxAttempts = 8;

  /** Held while connected to the embedded file: one coordinator process per SQLite file. */
  private lock: SqliteFileLock | undefined;

  /**
   * An unsupported database type is refused here, at start, naming the supported ones.
   * `sqliteFile`: the embedded file, locked for as long as this is connected.
   */
  constructor(
    readonly dataSource: DataSource,
    private readonly sqliteFile?: string,
  ) {
    this.executor = new (driverOfType(String(dataSource.options.type)))(dataSource);
    this.dialect = this.executor.dialect.name;
    this.sql = coordinatorSql(this.executor.dialect);
  }

  static create(settings: DatabaseSettings): Database {
    const options = dataSourceOptions({
      url: settings.url,
      sqlitePath: settings.sqlitePath,
      poolSize: settings.poolSize,
      migrations: coordinatorMigrations,
      migrationsTableName: 'tcc_migrations',
    });
    const lockable = !settings.url && SqliteFileLock.applies(settings.sqlitePath);
    return new Database(new DataSource(driverOfType(String(options.type)).dataSourceOptions(options)), lockable ? settings.sqlitePath : undefined);
  }

  async connect(): Promise<void> {
    if (this.dataSource.isInitialized) return;
    // Before the file is opened: a second coordinator on it stops here, naming the holder.
    if (this.sqliteFile && !this.lock) this.lock = SqliteFileLock.acquire(this.sqliteFile);
    try {
      await this.dataSource.initialize();
    } catch (error) {
      this.releaseLock();
      throw error;
    }
  }

  async migrate(): Promise<string[]> {
    const applied = await this.dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  }

  /** Read-only: a readiness probe must not create the migrations table. */
  async pendingMigrations(): Promise<boolean> {
    return (await pendingMigrations(this.dataSource)).length > 0;
  }

  /** TypeORM owns the pools the executors use: destroying the DataSource closes them. */
  async close(): Promise<void> {
    try {
      if (this.dataSource.isInitialized) await this.dataSource.destroy();
    } finally {
      this.releaseLock();
    }
  }

  private releaseLock(): void {
    this.lock?.release();
    this.lock = undefined;
  }

  /** One statement in its own (auto-committed) transaction. */
  select<T extends Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.retrying(() => this.executor.select<T>(sql, params));
  }

  /** Runs a write; answers the number of rows it affected. */
  execute(sql: string, params: unknown[] = []): Promise<number> {
    return this.retrying(() => this.executor.execute(sql, params));
  }

  /**
   * `statements` in one local transaction, sent as one packet on MySQL and PostgreSQL (one round
   * trip, one durable commit); answers each statement's result (rows of a SELECT, affected rows
   * of a write). On any error the transaction is rolled back and nothing of it stays; transient
   * errors are retried as a whole.
   */
  batch(statements: Statement[]): Promise<Array<Row[] | number>> {
    return this.retrying(() => this.executor.batch(statements));
  }

  /** Several statements in one local transaction: one durable commit. */
  transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    return this.retrying(() => this.executor.transaction(work));
  }

  private async retrying<T>(once: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await once();
      } catch (error) {
        if (!this.executor.dialect.isTransient(error) || attempt >= this.maxAttempts) throw error;
        const pause = Math.min(1000, 10 * 2 ** attempt) * (0.5 + Math.random() / 2);
        this.logger.warn(`transient database error (attempt ${attempt}, retrying in ${Math.round(pause)} ms): ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }
}
