/**
 * The initiator's API key: the coordinator clients send it on every call (HTTP `Authorization:
 * Bearer <key>`, gRPC `authorization` metadata of the same value), and a 401 / 403 answer (gRPC
 * UNAUTHENTICATED / PERMISSION_DENIED) becomes a CoordinatorAuthError at once, never retried.
 * The coordinator is stood in for by a small node:http server and a grpc-js server of
 * tcc.v1.Coordinator, so this does not depend on the real coordinator's key checks.
 */
import { Metadata, Server, ServerCredentials, status as GrpcStatus, type sendUnaryData, type ServiceDefinition } from '@grpc/grpc-js';
import { createServer, type IncomingHttpHeaders, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { CoordinatorAuthError, CoordinatorError, type CoordinatorClient } from '@tcc/client';
import { GrpcCoordinatorClient } from '@tcc/client/client/grpc-coordinator.client';
import { HttpCoordinatorClient } from '@tcc/client/client/http-coordinator.client';
import { HttpTransport } from '@tcc/client/client/http.transport';
import { GrpcChannels } from '@tcc/client/grpc/grpc.channels';
import { coordinatorMethods } from '@tcc/client/grpc/grpc.messages';
import { resolveTccOptions } from '@tcc/client/tcc.options';
import { loadOrderConfig } from '../../apps/order-service/src/config/order.config';

const KEY = 'orders-key-0123456789abcdef0123';
/** The gid of a transaction that belongs to another client: answered 403 with the right key. */
const FOREIGN = 'g-foreign';
const NOW = '2025-01-01T00:00:00.000Z';

type Verdict = 'ok' | 'unauthenticated' | 'forbidden';

function verdict(authorization: string | undefined, gid: string | undefined): Verdict {
  if (authorization !== `Bearer ${KEY}`) return 'unauthenticated';
  return gid === FOREIGN ? 'forbidden' : 'ok';
}

/** The coordinator's HTTP API as far as these calls go, recording each request's authorization. */
async function startHttpCoordinator(seen: Array<{ url: string; headers: IncomingHttpHeaders }>): Promise<HttpServer> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = req.url ?? '';
      seen.push({ url, headers: req.headers });
      const gid = /^\/v1\/transactions\/([^/]+)/.exec(url)?.[1];
      const json = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      switch (verdict(req.headers.authorization, gid)) {
        case 'unauthenticated':
          return json(401, { statusCode: 401, error: 'UNAUTHENTICATED', message: 'missing or unknown API key' });
        case 'forbidden':
          return json(403, { statusCode: 403, error: 'PERMISSION_DENIED', message: `transaction ${gid} belongs to another client` });
        case 'ok':
          if (url === '/v1/transactions') return json(201, { gid: 'g-1', status: 'TRYING', createdAt: NOW, expiresAt: NOW });
          if (url.endsWith('/commit')) return json(200, { gid, status: 'COMMITTED' });
          return json(200, { gid, status: 'TRYING', createdAt: NOW, updatedAt: NOW, expiresAt: NOW, metadata: null, branches: [] });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** tcc.v1.Coordinator's Begin, Commit and GetTransaction, recording each call's metadata. */
async function startGrpcCoordinator(seen: Array<{ method: string; authorization: string | undefined }>): Promise<{ server: Server; address: string }> {
  const methods = coordinatorMethods();
  const server = new Server();
  const handle =
    (method: string, reply: (gid: string) => unknown) =>
    (call: { request: { gid?: string }; metadata: Metadata }, callback: sendUnaryData<unknown>): void => {
      const authorization = call.metadata.get('authorization')[0]?.toString();
      seen.push({ method, authorization });
      const error = (code: GrpcStatus, details: string) => callback(Object.assign(new Error(details), { code, details, metadata: new Metadata() }));
      switch (verdict(authorization, call.request.gid)) {
        case 'unauthenticated':
          return error(GrpcStatus.UNAUTHENTICATED, 'missing or unknown API key');
        case 'forbidden':
          return error(GrpcStatus.PERMISSION_DENIED, `transaction ${call.request.gid} belongs to another client`);
        case 'ok':
          return callback(null, reply(call.request.gid ?? 'g-1'));
      }
    };
  server.addService(methods as unknown as ServiceDefinition, {
    Begin: handle('Begin', () => ({ gid: 'g-1', status: 'TRYING', createdAt: NOW, expiresAt: NOW })),
    Commit: handle('Commit', (gid) => ({ gid, status: 'COMMITTED' })),
    GetTransaction: handle('GetTransaction', (gid) => ({ gid, status: 'TRYING', createdAt: NOW, updatedAt: NOW, expiresAt: NOW, branches: [] })),
    RegisterBranch: handle('RegisterBranch', (gid) => ({ gid, branchId: 'b', status: 'REGISTERED' })),
    Rollback: handle('Rollback', (gid) => ({ gid, status: 'ROLLED_BACK' })),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

/** The same expectations over either transport: `calls()` counts the calls the stand-in received. */
function behavesLikeAnAuthenticatedClient(client: (apiKey?: string) => CoordinatorClient, calls: () => Array<string | undefined>): void {
  it('sends the API key on every call', async () => {
    const good = client(KEY);
    expect(await good.begin({ timeoutMs: 1_000 })).toMatchObject({ gid: 'g-1', status: 'TRYING' });
    expect(await good.commit('g-1')).toEqual({ gid: 'g-1', status: 'COMMITTED' });
    expect((await good.get('g-1')).gid).toBe('g-1');
    expect(calls()).toEqual([`Bearer ${KEY}`, `Bearer ${KEY}`, `Bearer ${KEY}`]);
  });

  it('turns a missing or wrong key into CoordinatorAuthError UNAUTHENTICATED (401), asking once', async () => {
    for (const apiKey of [undefined, 'not-the-key']) {
      const before = calls().length;
      const error = await client(apiKey).commit('g-1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CoordinatorAuthError);
      expect(error).toBeInstanceOf(CoordinatorError);
      expect(error).toMatchObject({ name: 'CoordinatorAuthError', code: 'UNAUTHENTICATED', statusCode: 401, operation: 'commit' });
      expect((error as Error).message).toMatch(/UNAUTHENTICATED/);
      expect((error as Error).message).not.toContain('not-the-key');
      // Commit is retried when unanswered; a refused key is an answer.
      expect(calls().length - before).toBe(1);
    }
  });

  it('turns a transaction of another client into CoordinatorAuthError PERMISSION_DENIED (403), asking once', async () => {
    const before = calls().length;
    const error = await client(KEY).get(FOREIGN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoordinatorAuthError);
    expect(error).toMatchObject({ code: 'PERMISSION_DENIED', statusCode: 403, operation: 'get' });
    expect(calls().length - before).toBe(1);
  });
}

describe('coordinator API key', () => {
  describe('over HTTP', () => {
    const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
    let server: HttpServer;
    const transport = new HttpTransport();

    beforeAll(async () => {
      server = await startHttpCoordinator(seen);
    });

    afterAll(async () => {
      await transport.close();
      await new Promise((resolve) => server?.close(resolve));
    });

    const url = (): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    behavesLikeAnAuthenticatedClient(
      (apiKey) => new HttpCoordinatorClient(resolveTccOptions({ coordinatorUrl: url(), apiKey, requestTimeoutMs: 2_000 }), transport),
      () => seen.map((s) => s.headers.authorization),
    );
  });

  describe('over gRPC', () => {
    const seen: Array<{ method: string; authorization: string | undefined }> = [];
    let coordinator: { server: Server; address: string };
    const channels = new GrpcChannels();

    beforeAll(async () => {
      coordinator = await startGrpcCoordinator(seen);
    });

    afterAll(async () => {
      channels.close();
      coordinator?.server.forceShutdown();
    });

    behavesLikeAnAuthenticatedClient(
      (apiKey) =>
        new GrpcCoordinatorClient(
          resolveTccOptions({ transport: 'grpc', coordinatorGrpcAddress: coordinator.address, apiKey, requestTimeoutMs: 2_000 }),
          channels,
        ),
      () => seen.map((s) => s.authorization),
    );
  });

  describe('the apiKey option', () => {
    it('is optional, refuses an empty key or one with whitespace without showing it, and is never shown with the options', () => {
      expect(resolveTccOptions({}).apiKey).toBeUndefined();
      const resolved = resolveTccOptions({ apiKey: KEY });
      expect(resolved.apiKey).toBe(KEY);
      expect(JSON.stringify(resolved)).not.toContain(KEY);
      expect(inspect(resolved)).not.toContain(KEY);
      for (const bad of ['', ' ', 'two words', 'tab\tkey', 'line\nkey']) {
        expect(() => resolveTccOptions({ apiKey: bad })).toThrow(/apiKey must be a non-empty string without whitespace/);
      }
      const error = (() => {
        try {
          resolveTccOptions({ apiKey: 'hunter2 x' });
        } catch (e) {
          return e as Error;
        }
      })();
      expect(error?.message).not.toContain('hunter2');
    });

    it('is read by the order service from TCC_API_KEY: optional, validated, its value never in the message', () => {
      expect(loadOrderConfig({}).apiKey).toBeUndefined();
      expect(loadOrderConfig({ TCC_API_KEY: ` ${KEY} ` }).apiKey).toBe(KEY);
      expect(() => loadOrderConfig({ TCC_API_KEY: 'hunter2 x' })).toThrow(/TCC_API_KEY=\(hidden\): must be this service's API key/);
      expect(() => loadOrderConfig({ TCC_API_KEY: 'hunter2 x' })).not.toThrow(/hunter2/);
    });
  });
});
