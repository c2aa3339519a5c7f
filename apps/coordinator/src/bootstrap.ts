/** Builds and starts a coordinator from an environment: used by main.ts and by tests in-process. */
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as PinoLogger } from 'nestjs-pino';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { createServer } from 'node:net';
import { ServerCredentials } from '@grpc/grpc-js';
import { PROTO_PACKAGE, protoFiles } from '@tcc/client/protocol';
import { PROTO_LOADER_OPTIONS } from '@tcc/client/caller';
import { AppModule } from './app.module';
import { loadCoordinatorConfig, type CoordinatorConfig } from './config/coordinator.config';
import { brokerUrlForLog } from './config/brokers.parser';
import { createValidationPipe } from './common/validation.pipe';
import { applyHttpServerLimits, databaseValue, logStartupSettings, signingKeysValue, withoutPassword } from '@tcc/service-kit';
import { Logger } from '@nestjs/common';
import { apiAuthWarning } from './auth/api-client.guard';
import { Database } from './store/database';
import { RecoveryScheduler } from './recovery/recovery.scheduler';

export interface RunningCoordinator {
  app: NestFastifyApplication;
  config: CoordinatorConfig;
  url: string;
  /** `host:port` of the gRPC API. */
  grpcAddress: string;
  close(): Promise<void>;
}

/** Room in a request body for everything besides the payload (URLs, ids, metadata). */
const BODY_OVERHEAD_BYTES = 64 * 1024;

export async function createCoordinator(env: Record<string, string | undefined> = process.env): Promise<RunningCoordinator> {
  const config = loadCoordinatorConfig(env);
  // maxParamLength: a gid may be 128 characters; a longer one must reach the gid check (400), not Fastify's 414.
  const tls = config.http.tls;
  const adapter = new FastifyAdapter({
    bodyLimit: config.maxPayloadBytes + BODY_OVERHEAD_BYTES,
    keepAliveTimeout: 65_000,
    routerOptions: { maxParamLength: 1024 },
    // HTTPS; with a client CA, only clients whose certificates chain to it complete the handshake.
    ...(tls ? { https: { cert: tls.cert, key: tls.key, ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}) } } : {}),
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(PinoLogger));
  app.useGlobalPipes(createValidationPipe());
  // Receiving a request is bounded (slow clients cannot hold sockets); answering is not (a commit may wait).
  applyHttpServerLimits(app.getHttpServer(), config.http);
  SwaggerModule.setup(
    'docs',
    app,
    () =>
      SwaggerModule.createDocument(
        app,
        new DocumentBuilder()
          .setTitle('TCC coordinator')
          .setDescription('HTTP API v1 for global transactions, and the admin API (bearer TCC_ADMIN_TOKEN). gRPC: libs/tcc-client proto files.')
          .setVersion('1')
          .addBearerAuth()
          .build(),
      ),
    { jsonDocumentUrl: 'docs-json' },
  );
  const grpcPort = config.grpc.port === 0 ? await freePort(config.http.host) : config.grpc.port;
  const files = protoFiles();
  app.connectMicroservice<MicroserviceOptions>(
    {
      transport: Transport.GRPC,
      options: {
        package: PROTO_PACKAGE,
        protoPath: [files.coordinator, files.participant],
        url: `${config.http.host}:${grpcPort}`,
        loader: { ...PROTO_LOADER_OPTIONS, includeDirs: [files.root] },
        ...(config.grpc.tls
          ? {
              credentials: ServerCredentials.createSsl(
                config.grpc.tls.clientCa ? Buffer.from(config.grpc.tls.clientCa) : null,
                [{ cert_chain: Buffer.from(config.grpc.tls.cert), private_key: Buffer.from(config.grpc.tls.key) }],
                !!config.grpc.tls.clientCa,
              ),
            }
          : {}),
      },
    },
    { inheritAppConfig: true },
  );
  const warning = apiAuthWarning(config);
  if (warning) new Logger('ApiAuth').warn(warning);
  await app.startAllMicroservices();
  await app.listen(config.http.port, config.http.host);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
  logStartupSettings(
    [
      { what: 'bind address', value: config.http.host, variable: 'TCC_HOST' },
      { what: `HTTP port${tls ? ' (HTTPS)' : ''}`, value: port, variable: 'TCC_HTTP_PORT' },
      { what: `gRPC port${config.grpc.tls ? ' (TLS)' : ''}`, value: grpcPort, variable: 'TCC_GRPC_PORT' },
      { what: 'store', value: databaseValue(config.db.url, config.db.sqlitePath), variable: config.db.url ? 'TCC_DB_URL' : 'TCC_SQLITE_PATH' },
      { what: 'Redis', value: config.redis.url ? withoutPassword(config.redis.url) : 'none (database leases alone)', variable: 'TCC_REDIS_URL' },
      // One line per broker: each URL masked on its own (a joined list is not a URL withoutPassword can parse).
      ...(config.brokers.length === 0
        ? [{ what: 'brokers', value: 'none (message steps over http and grpc only)', variable: 'TCC_BROKERS' }]
        : config.brokers.map((b) => ({ what: `broker ${b.name} (${b.kind})`, value: brokerUrlForLog(b.url), variable: 'TCC_BROKERS' }))),
      // Last: test/client/startup-lines.spec.ts waits for this line as the end of the list.
      { what: 'signing keys', value: signingKeysValue(config.signingKeys), variable: 'TCC_SIGNING_KEYS' },
    ],
    env,
  );
  const close = async (): Promise<void> => {
    // Drain first (no new begins, bounded wait for calls in flight, leases handed back); only
    // then tear down the HTTP server, the participant connections and the database pool.
    await app.get(RecoveryScheduler).drainAndRelease();
    await app.close();
  };
  return { app, config, url: `${tls ? 'https' : 'http'}://${host}:${port}`, grpcAddress: `${host}:${grpcPort}`, close };
}

/** A port nobody listens on now, for `TCC_GRPC_PORT=0` (the gRPC server does not report the one it bound). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `main.js migrate`: applies the coordinator's migrations to TCC_DB_URL (or the embedded file). */
export async function migrate(env: Record<string, string | undefined> = process.env): Promise<string[]> {
  const config = loadCoordinatorConfig(env);
  const db = Database.create(config.db);
  await db.connect();
  try {
    return await db.migrate();
  } finally {
    await db.close();
  }
}
