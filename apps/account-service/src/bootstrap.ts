/** Builds and starts the account service from an environment: used by main.ts and by tests in-process. */
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { ParticipantGrpcServer } from '@tcc/client';
import { applyHttpServerLimits, dataSourceOptions, createValidationPipe, databaseValue, logStartupSettings, signingKeysValue } from '@tcc/service-kit';
import { AccountServiceModule } from './app.module';
import { ACCOUNT_MIGRATIONS, ACCOUNT_MIGRATIONS_TABLE } from './account.migrations';
import { loadAccountConfig, type AccountConfig } from './config/account.config';

export interface RunningAccountService {
  app: NestFastifyApplication;
  config: AccountConfig;
  url: string;
  /** `host:port` of the participant gRPC server (target `<grpcAddress>/tcc.v1.participants.AccountFreeze/<Phase>`). */
  grpcAddress: string;
  close(): Promise<void>;
}

export async function createAccountService(env: Record<string, string | undefined> = process.env): Promise<RunningAccountService> {
  const config = loadAccountConfig(env);
  const app = await NestFactory.create<NestFastifyApplication>(AccountServiceModule.forRoot(config), new FastifyAdapter(), {
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
  const grpcServer = app.get(ParticipantGrpcServer);
  const grpcAddress = grpcServer.address();
  logStartupSettings(
    [
      { what: 'bind address', value: config.http.host, variable: 'ACCOUNT_HOST' },
      { what: 'HTTP port', value: port, variable: 'ACCOUNT_HTTP_PORT' },
      { what: 'gRPC port (the account-freeze participant)', value: grpcServer.port ?? config.grpc.port, variable: 'ACCOUNT_GRPC_PORT' },
      { what: 'database', value: databaseValue(config.db.url, config.db.sqlitePath), variable: config.db.url ? 'ACCOUNT_DB_URL' : 'ACCOUNT_SQLITE_PATH' },
      { what: 'signing keys', value: signingKeysValue(config.signingKeys), variable: 'TCC_SIGNING_KEYS' },
    ],
    env,
  );
  return { app, config, url: `http://${host}:${port}`, grpcAddress, close: () => app.close() };
}

/** `main.js migrate`: applies the account migrations to ACCOUNT_DB_URL (or the embedded file). */
export async function migrateAccountDatabase(env: Record<string, string | undefined> = process.env): Promise<string[]> {
  const config = loadAccountConfig(env);
  const dataSource = new DataSource(
    dataSourceOptions({
      url: config.db.url,
      sqlitePath: config.db.sqlitePath,
      poolSize: 2,
      migrations: ACCOUNT_MIGRATIONS,
      migrationsTableName: ACCOUNT_MIGRATIONS_TABLE,
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
