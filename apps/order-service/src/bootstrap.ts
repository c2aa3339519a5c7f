/** Builds and starts the order service from an environment: used by main.ts and by tests in-process. */
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { applyHttpServerLimits, dataSourceOptions, createValidationPipe, databaseValue, logStartupSettings, signingKeysValue } from '@tcc/service-kit';
import { OrderServiceModule } from './app.module';
import { ORDER_MIGRATIONS, ORDER_MIGRATIONS_TABLE } from './order.migrations';
import { loadOrderConfig, type OrderConfig } from './config/order.config';

export interface RunningOrderService {
  app: NestFastifyApplication;
  config: OrderConfig;
  url: string;
  close(): Promise<void>;
}

export async function createOrderService(env: Record<string, string | undefined> = process.env): Promise<RunningOrderService> {
  const config = loadOrderConfig(env);
  const app = await NestFactory.create<NestFastifyApplication>(OrderServiceModule.forRoot(config), new FastifyAdapter(), {
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(PinoLogger));
  app.useGlobalPipes(createValidationPipe());
  applyHttpServerLimits(app.getHttpServer(), config.http);
  try {
    await app.listen(config.http.port, config.http.host);
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
  const url = `http://${host}:${port}`;
  const coordinatorOverGrpc = config.coordinatorTransport === 'grpc';
  const accountOverGrpc = config.accountBranchProtocol === 'grpc';
  logStartupSettings(
    [
      { what: 'bind address', value: config.http.host, variable: 'ORDER_HOST' },
      { what: 'HTTP port', value: port, variable: 'ORDER_HTTP_PORT' },
      // The default is the address it listens on: right only when the coordinator runs on this host.
      { what: 'self URL (where the coordinator calls the order branch)', value: config.publicUrl ?? url, variable: 'ORDER_PUBLIC_URL' },
      { what: 'database', value: databaseValue(config.db.url, config.db.sqlitePath), variable: config.db.url ? 'ORDER_DB_URL' : 'ORDER_SQLITE_PATH' },
      { what: 'coordinator transport', value: config.coordinatorTransport, variable: 'TCC_COORDINATOR_TRANSPORT' },
      coordinatorOverGrpc
        ? { what: 'coordinator gRPC address', value: config.coordinatorGrpcAddress, variable: 'TCC_COORDINATOR_GRPC_ADDRESS' }
        : { what: 'coordinator URL', value: config.coordinatorUrl, variable: 'TCC_COORDINATOR_URL' },
      { what: 'coordinator API key', value: config.apiKey ? 'set' : 'none (no key sent)', variable: 'TCC_API_KEY' },
      { what: 'account branch protocol', value: config.accountBranchProtocol, variable: 'ACCOUNT_BRANCH_PROTOCOL' },
      accountOverGrpc
        ? { what: 'account service gRPC address', value: config.accountServiceGrpcAddress, variable: 'ACCOUNT_SERVICE_GRPC_ADDRESS' }
        : { what: 'account service URL', value: config.accountServiceUrl, variable: 'ACCOUNT_SERVICE_URL' },
      { what: 'signing keys', value: signingKeysValue(config.signingKeys), variable: 'TCC_SIGNING_KEYS' },
    ],
    env,
  );
  return { app, config, url, close: () => app.close() };
}

/** `main.js migrate`: applies the order migrations to ORDER_DB_URL (or the embedded file). */
export async function migrateOrderDatabase(env: Record<string, string | undefined> = process.env): Promise<string[]> {
  const config = loadOrderConfig(env);
  const dataSource = new DataSource(
    dataSourceOptions({
      url: config.db.url,
      sqlitePath: config.db.sqlitePath,
      poolSize: 2,
      migrations: ORDER_MIGRATIONS,
      migrationsTableName: ORDER_MIGRATIONS_TABLE,
    }),
  );
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await dataSource.destroy();
  }
}
