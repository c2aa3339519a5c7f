/**
 * The whole stack as real processes exporting traces to one OtlpReceiver: the coordinator on a test
 * database, the account and order services on embedded SQLite files, and (when asked) a proxy in
 * front of the account service that fails its confirms while `failConfirms` is set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { TEST_API_KEY } from '../../support/api-keys';
import { CoordinatorProcess } from '../../support/coordinator.process';
import { ServiceProcess } from '../../support/service.process';
import { createTestDatabase, type TestDatabase } from '../../support/test.database';
import { closeAll } from '../../support/wait';
import { freePort } from '../../replicas/support/ports';
import { OtlpReceiver } from './otlp.receiver';

/** A real HTTP proxy that answers 503 to account-freeze confirms while `failConfirms` is true. */
export class ConfirmBlockingProxy {
  failConfirms = false;
  /** Confirms refused so far. */
  refused = 0;
  private readonly agent = new Agent({ keepAliveTimeout: 2_000 });
  private server: Server | undefined;
  url = '';

  constructor(private readonly target: () => string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        void (async () => {
          if (this.failConfirms && /\/account-freeze\/confirm$/.test(req.url ?? '')) {
            this.refused++;
            res.writeHead(503, { 'content-type': 'application/json' }).end('{"statusCode":503,"message":"confirms blocked by the test"}');
            return;
          }
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(req.headers)) {
            if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name)) headers[name] = value;
          }
          try {
            const answer = await request(this.target() + (req.url ?? '/'), {
              method: (req.method ?? 'GET') as 'GET' | 'POST',
              headers,
              body: req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(chunks),
              dispatcher: this.agent,
            });
            const text = await answer.body.text();
            res.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type'] ?? 'application/json') }).end(text);
          } catch (error) {
            res.writeHead(502).end(String(error));
          }
        })();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    if (this.server) {
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
    await this.agent.close();
  }
}

export interface TraceStack {
  receiver: OtlpReceiver;
  coordinatorDb: TestDatabase;
  coordinator: CoordinatorProcess;
  account: ServiceProcess;
  order: ServiceProcess;
  proxy?: ConfirmBlockingProxy;
  dispose(): Promise<void>;
}

/**
 * `grpc`: the order service talks to the coordinator over gRPC and registers and calls the account
 * branch over gRPC (the coordinator's confirm of it too).
 */
export async function startTraceStack(options: { proxy?: boolean; grpc?: boolean; coordinatorEnv?: Record<string, string> } = {}): Promise<TraceStack> {
  const receiver = await OtlpReceiver.start();
  const folder = mkdtempSync(join(tmpdir(), 'tcc-trace-'));
  const coordinatorDb = await createTestDatabase();
  const parts: Partial<TraceStack> = { receiver, coordinatorDb };
  const dispose = async (): Promise<void> => {
    await closeAll(
      () => parts.order?.kill('SIGTERM').catch(() => parts.order?.stop()),
      () => parts.account?.kill('SIGTERM').catch(() => parts.account?.stop()),
      () => parts.coordinator?.stop(),
      () => parts.proxy?.close(),
      () => receiver.close(),
      () => coordinatorDb.drop(),
      () => rmSync(folder, { recursive: true, force: true }),
    );
  };
  try {
    const [coordinatorGrpcPort, accountGrpcPort] = [await freePort(), await freePort()];
    const coordinator = new CoordinatorProcess({
      TCC_GRPC_PORT: String(coordinatorGrpcPort),
      TCC_DB_URL: coordinatorDb.url,
      TCC_MIGRATE_ON_START: 'true',
      TCC_LOG_LEVEL: 'warn',
      TCC_RETRY_BASE_MS: '100',
      TCC_RETRY_MAX_MS: '300',
      TCC_SCAN_INTERVAL_MS: '100',
      ...receiver.env(),
      ...options.coordinatorEnv,
    });
    parts.coordinator = coordinator;
    await coordinator.start();
    const account = new ServiceProcess('account-service', {
      ACCOUNT_SQLITE_PATH: join(folder, 'account.sqlite'),
      ACCOUNT_MIGRATE_ON_START: 'true',
      ACCOUNT_HOST: '127.0.0.1',
      ACCOUNT_HTTP_PORT: String(await freePort()),
      ACCOUNT_GRPC_PORT: String(accountGrpcPort),
      ACCOUNT_LOG_LEVEL: 'warn',
      TCC_COORDINATOR_URL: coordinator.url,
      TCC_API_KEY: TEST_API_KEY,
      ...receiver.env(),
    });
    parts.account = account;
    await account.start();
    let accountUrl = account.url;
    if (options.proxy) {
      const proxy = new ConfirmBlockingProxy(() => account.url);
      parts.proxy = proxy;
      await proxy.start();
      accountUrl = proxy.url;
    }
    const order = new ServiceProcess('order-service', {
      ORDER_SQLITE_PATH: join(folder, 'order.sqlite'),
      ORDER_MIGRATE_ON_START: 'true',
      ORDER_HOST: '127.0.0.1',
      ORDER_HTTP_PORT: String(await freePort()),
      ORDER_LOG_LEVEL: 'warn',
      ORDER_DECISION_TIMEOUT_MS: '10000',
      TCC_COORDINATOR_URL: coordinator.url,
      TCC_API_KEY: TEST_API_KEY,
      ACCOUNT_SERVICE_URL: accountUrl,
      ...(options.grpc
        ? {
            TCC_COORDINATOR_TRANSPORT: 'grpc',
            TCC_COORDINATOR_GRPC_ADDRESS: `127.0.0.1:${coordinatorGrpcPort}`,
            ACCOUNT_BRANCH_PROTOCOL: 'grpc',
            ACCOUNT_SERVICE_GRPC_ADDRESS: `127.0.0.1:${accountGrpcPort}`,
          }
        : {}),
      ...receiver.env(),
    });
    parts.order = order;
    await order.start();
    return { receiver, coordinatorDb, coordinator, account, order, proxy: parts.proxy, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
