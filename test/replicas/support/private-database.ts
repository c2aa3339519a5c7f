/**
 * A database server of one spec's own on either engine the suites run on (TCC_TEST_DB, see
 * testEngine): a PrivateMariaDb or a PrivatePostgres behind one shape, so a spec that stops and
 * starts its database mid-run reads the same on both. `createDatabase` issues the engine's own
 * CREATE DATABASE (utf8mb4_bin on MariaDB, UTF8 on PostgreSQL).
 */
import type { Row, ServerEngine } from '../../support/test.database';
import { PrivateMariaDb } from './private-mariadb';
import { PrivatePostgres } from './private-postgres';

export type PrivateDatabaseExit = { code: number | null; signal: NodeJS.Signals | null };

export interface PrivateDatabase {
  readonly engine: ServerEngine;
  readonly port: number;
  /** pid of the server process (mariadbd or the postmaster), while there is one. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** The tail of the server's own output. */
  readonly logs: string;
  /** URL for TCC_DB_URL (`mysql://root@...` or `postgres://postgres@...`). */
  url(database: string): string;
  /** Starts the server again on the same port and data directory; resolves once it accepts connections. */
  startAgain(timeoutMs?: number): Promise<void>;
  /**
   * Stops the server by pid and waits for it to exit. 'SIGTERM' is a clean shutdown (on
   * PostgreSQL sent as SIGINT, the "fast" shutdown: its SIGTERM would wait for every client);
   * 'SIGKILL' a crash.
   */
  stop(signal?: 'SIGTERM' | 'SIGKILL', timeoutMs?: number): Promise<PrivateDatabaseExit>;
  /** One statement (`?` placeholders) on a fresh connection, as the server's superuser. */
  query<T extends Row = Row>(sql: string, params?: unknown[], database?: string): Promise<T[]>;
  /** CREATE DATABASE `name` the way the coordinator expects it on this engine. */
  createDatabase(name: string): Promise<void>;
  /** Kills the server by pid and removes its directory; never throws. */
  dispose(): Promise<void>;
}

type Server = PrivateMariaDb | PrivatePostgres;

class EngineDatabase implements PrivateDatabase {
  constructor(
    readonly engine: ServerEngine,
    private readonly server: Server,
  ) {}

  get port(): number {
    return this.server.port;
  }

  get pid(): number | undefined {
    return this.server.pid;
  }

  get running(): boolean {
    return this.server.running;
  }

  get logs(): string {
    return this.server.logs;
  }

  url(database: string): string {
    return this.server.url(database);
  }

  startAgain(timeoutMs?: number): Promise<void> {
    return this.server.startAgain(timeoutMs);
  }

  stop(signal?: 'SIGTERM' | 'SIGKILL', timeoutMs?: number): Promise<PrivateDatabaseExit> {
    return this.server.stop(signal, timeoutMs);
  }

  async query<T extends Row = Row>(sql: string, params: unknown[] = [], database?: string): Promise<T[]> {
    const server = this.server;
    const rows = server instanceof PrivatePostgres ? await server.query(sql, params, database) : await server.query(sql, params, database);
    return rows as unknown as T[];
  }

  async createDatabase(name: string): Promise<void> {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
    if (this.engine === 'postgres') await this.query(`CREATE DATABASE "${name}" ENCODING 'UTF8'`);
    else await this.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  }

  dispose(): Promise<void> {
    return this.server.dispose();
  }
}

export const PrivateDatabase = {
  /** Initialises a fresh server of `engine` in a temp directory and starts it on a free port. */
  async start(engine: ServerEngine): Promise<PrivateDatabase> {
    const server = engine === 'postgres' ? await PrivatePostgres.start() : await PrivateMariaDb.start();
    return new EngineDatabase(engine, server);
  },
};
