/**
 * The whole example in this process: a coordinator (apps/coordinator bootstrap), the account service
 * and the order service, on fresh MariaDB databases or on embedded SQLite files in a temp directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCoordinator } from './coordinator';
import type { RunningAccountService } from '../../../apps/account-service/src/bootstrap';
import type { RunningOrderService } from '../../../apps/order-service/src/bootstrap';
import { createDatabase, type TestDatabase } from './databases';
import { TEST_API_KEY, TEST_API_KEYS } from '../../support/api-keys';
import { startAccountService, startOrderService, type Env } from './services';

/** Where the services keep their data; with `postgres` the coordinator stays on MariaDB (its store is MySQL or SQLite). */
export type StoreKind = 'mariadb' | 'postgres' | 'sqlite';

export interface Stack {
  coordinatorUrl: string;
  /** `host:port` of the coordinator's gRPC API. */
  coordinatorGrpcAddress: string;
  account: RunningAccountService;
  order: RunningOrderService;
  databases: { coordinator?: TestDatabase; account?: TestDatabase; order?: TestDatabase };
  close(): Promise<void>;
}

export interface StackOptions {
  store: StoreKind;
  coordinatorEnv?: Env;
  accountEnv?: Env;
  orderEnv?: Env;
  /** Lets a test put something (a faulty proxy) between the others and the account service. */
  accountUrlFor?: (account: RunningAccountService) => Promise<string> | string;
  /** The same for the account service's gRPC address (`host:port`). */
  accountGrpcAddressFor?: (account: RunningAccountService) => Promise<string> | string;
}

/** Coordinator settings that make phase two retry quickly in tests. */
export const FAST_COORDINATOR: Env = {
  TCC_HOST: '127.0.0.1',
  TCC_HTTP_PORT: '0',
  // Random ports for gRPC too, so stacks never collide on 7071.
  TCC_GRPC_PORT: '0',
  TCC_MIGRATE_ON_START: 'true',
  TCC_LOG_LEVEL: 'error',
  TCC_API_KEYS: TEST_API_KEYS,
  TCC_RETRY_BASE_MS: '20',
  TCC_RETRY_MAX_MS: '200',
  TCC_SCAN_INTERVAL_MS: '100',
  TCC_REQUEST_TIMEOUT_MS: '5000',
};

export async function startStack(options: StackOptions): Promise<Stack> {
  const cleanups: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const databases: Stack['databases'] = {};
    const envs: Record<'coordinator' | 'account' | 'order', Env> = { coordinator: {}, account: {}, order: {} };
    if (options.store === 'mariadb' || options.store === 'postgres') {
      for (const name of ['coordinator', 'account', 'order'] as const) {
        const db = await createDatabase(name.slice(0, 5), name === 'coordinator' ? 'mariadb' : options.store);
        cleanups.push(() => db.drop());
        databases[name] = db;
      }
      envs.coordinator = { TCC_DB_URL: databases.coordinator?.url };
      envs.account = { ACCOUNT_DB_URL: databases.account?.url, ACCOUNT_MIGRATE_ON_START: 'true' };
      envs.order = { ORDER_DB_URL: databases.order?.url, ORDER_MIGRATE_ON_START: 'true' };
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'tcc-client-stack-'));
      cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
      envs.coordinator = { TCC_SQLITE_PATH: join(dir, 'coordinator.sqlite') };
      envs.account = { ACCOUNT_SQLITE_PATH: join(dir, 'account.sqlite') };
      envs.order = { ORDER_SQLITE_PATH: join(dir, 'order.sqlite') };
    }
    const coordinator = await createCoordinator({ ...FAST_COORDINATOR, ...envs.coordinator, ...options.coordinatorEnv });
    cleanups.push(() => coordinator.close());
    const account = await startAccountService({ ...envs.account, ...options.accountEnv });
    cleanups.push(() => account.close());
    const accountUrl = options.accountUrlFor ? await options.accountUrlFor(account) : account.url;
    const accountGrpcAddress = options.accountGrpcAddressFor ? await options.accountGrpcAddressFor(account) : account.grpcAddress;
    const order = await startOrderService({
      TCC_COORDINATOR_URL: coordinator.url,
      TCC_API_KEY: TEST_API_KEY,
      TCC_COORDINATOR_GRPC_ADDRESS: coordinator.grpcAddress,
      ACCOUNT_SERVICE_URL: accountUrl,
      ACCOUNT_SERVICE_GRPC_ADDRESS: accountGrpcAddress,
      ...envs.order,
      ...options.orderEnv,
    });
    cleanups.push(() => order.close());
    return { coordinatorUrl: coordinator.url, coordinatorGrpcAddress: coordinator.grpcAddress, account, order, databases, close };
  } catch (error) {
    await close();
    throw error;
  }
}
