/**
 * The coordinator inside the test process (apps/coordinator/src/bootstrap), on the test server
 * database (MariaDB, or PostgreSQL with TCC_TEST_DB=postgres) or on an embedded SQLite file in a temp directory, plus the API client pointed at it. `close()` always
 * releases everything it created: the app, the client, the temp directory or the test database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCoordinator } from '../../apps/coordinator/src/bootstrap';
import { CoordinatorApi } from './coordinator.api';
import { createTestDatabase, testEngine, type ServerEngine, type TestDatabase } from './test.database';
import { TEST_API_KEYS } from './api-keys';

export type StoreKind = ServerEngine | 'sqlite';

/** The server database of this run (TCC_TEST_DB). */
export const SERVER: ServerEngine = testEngine();

/**
 * The stores a suite that runs on both covers: the server database, plus the embedded file in the
 * default (MariaDB) run only, so the PostgreSQL run does not repeat the SQLite cases.
 */
export const STORE_KINDS: StoreKind[] = SERVER === 'mariadb' ? ['mariadb', 'sqlite'] : [SERVER];
export type Env = Record<string, string | undefined>;

/** Where the coordinator keeps its state, created fresh for one spec file or describe block. */
export interface TestStore {
  kind: StoreKind;
  /** TCC_DB_URL or TCC_SQLITE_PATH for the coordinator. */
  env: Env;
  /** Present on a server database: lets a test look under the API. */
  database?: TestDatabase;
  dispose(): Promise<void>;
}

export async function createStore(kind: StoreKind): Promise<TestStore> {
  if (kind !== 'sqlite') {
    const database = await createTestDatabase(kind);
    return { kind, env: { TCC_DB_URL: database.url }, database, dispose: () => database.drop() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'tcc-test-'));
  return {
    kind,
    env: { TCC_SQLITE_PATH: join(dir, 'coordinator.sqlite') },
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Settings every test coordinator starts with; a spec's own env overrides them. */
export const TEST_DEFAULTS: Env = {
  TCC_HOST: '127.0.0.1',
  TCC_HTTP_PORT: '0',
  // Random ports for gRPC too, so coordinators of parallel specs never collide on 7071.
  TCC_GRPC_PORT: '0',
  TCC_MIGRATE_ON_START: 'true',
  TCC_LOG_LEVEL: 'warn',
  // Client authentication on, as in production: CoordinatorApi sends the test key.
  TCC_API_KEYS: TEST_API_KEYS,
};

export interface RunningCoordinator {
  url: string;
  /** `host:port` of its gRPC API. */
  grpcAddress: string;
  api: CoordinatorApi;
  close(): Promise<void>;
}

/** Starts the coordinator in this process on `store` with TEST_DEFAULTS + `env`. */
export async function startCoordinator(store: TestStore, env: Env = {}): Promise<RunningCoordinator> {
  const coordinator = await createCoordinator({ ...TEST_DEFAULTS, ...store.env, ...env });
  const api = new CoordinatorApi(coordinator.url);
  let closed = false;
  return {
    url: coordinator.url,
    grpcAddress: coordinator.grpcAddress,
    api,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await coordinator.close();
      } finally {
        await api.close();
      }
    },
  };
}
