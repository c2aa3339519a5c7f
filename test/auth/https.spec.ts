/**
 * The coordinator's own HTTP API over HTTPS (TCC_HTTP_TLS_*), driven by the library's initiator:
 * with client certificates required, the certificate's common name is the client that owns the
 * transaction; with a custom CA and an API key, the key names it. Clients without the CA or the
 * certificate are refused at the handshake; bad settings stop start-up naming the setting.
 */
import 'reflect-metadata';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Agent, request } from 'undici';
import { TccCancel, TccConfirm, TccInitiator, TccModule, TccParticipant, TccTransactional, TccTry, TCC_BARRIER_MIGRATIONS, type BranchCall } from '@tcc/client';
import { dataSourceOptions } from '@tcc/service-kit';
import { createCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap';
import { loadCoordinatorConfig } from '../../apps/coordinator/src/config/coordinator.config';
import { makePki, type Pki } from '../support/pki';
import { TEST_API_KEY, TEST_API_KEYS, TEST_CLIENT } from '../support/api-keys';

const ADMIN_TOKEN = 'https-spec-admin-token-0123456789';
const calls: string[] = [];

@TccParticipant('safe')
@Injectable()
class SafeParticipant {
  @TccTry() hold(call: BranchCall): void {
    calls.push(`try:${call.gid}`);
  }
  @TccConfirm() take(call: BranchCall): void {
    calls.push(`confirm:${call.gid}`);
  }
  @TccCancel() release(call: BranchCall): void {
    calls.push(`cancel:${call.gid}`);
  }
}

@Injectable()
class SafeService {
  constructor(private readonly tcc: TccInitiator) {}

  @TccTransactional()
  async move(): Promise<string> {
    await this.tcc.branch({ participant: 'safe' });
    return this.tcc.gid;
  }
}

describe.each([
  { mode: 'client certificates required', clientCa: true },
  { mode: 'a custom CA and an API key', clientCa: false },
])('HTTPS coordinator with $mode', ({ clientCa }) => {
  let pki: Pki;
  let coordinator: RunningCoordinator;
  let app: NestFastifyApplication;
  let trusted: Agent;

  /** A GET over HTTPS with `agent`; the body parsed. */
  async function get(path: string, agent: Agent, authorization?: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await request(`${coordinator.url}${path}`, { dispatcher: agent, headers: authorization ? { authorization } : {} });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  beforeAll(async () => {
    pki = makePki();
    coordinator = await createCoordinator({
      TCC_HOST: '127.0.0.1',
      TCC_HTTP_PORT: '0',
      TCC_GRPC_PORT: '0',
      TCC_LOG_LEVEL: 'error',
      TCC_SQLITE_PATH: join(pki.dir, 'coordinator.sqlite'),
      TCC_MIGRATE_ON_START: 'true',
      TCC_RETRY_BASE_MS: '50',
      TCC_RETRY_MAX_MS: '200',
      TCC_SCAN_INTERVAL_MS: '100',
      TCC_REQUEST_TIMEOUT_MS: '3000',
      TCC_ADMIN_TOKEN: ADMIN_TOKEN,
      TCC_HTTP_TLS_CERT: pki.path('server.crt'),
      TCC_HTTP_TLS_KEY: pki.path('server.key'),
      // With client certificates, no keys: the certificate names the client. Without, keys do.
      ...(clientCa ? { TCC_HTTP_TLS_CLIENT_CA: pki.path('ca.crt') } : { TCC_API_KEYS: TEST_API_KEYS }),
    });
    trusted = new Agent({ connect: { ca: pki.ca, ...(clientCa ? { cert: pki.clientCert, key: pki.clientKey } : {}) } });
    const dir = pki.dir;
    const url = coordinator.url;
    @Module({
      imports: [
        TypeOrmModule.forRoot({ ...dataSourceOptions({ sqlitePath: join(dir, 'safe.sqlite'), migrations: TCC_BARRIER_MIGRATIONS }), migrationsRun: true }),
        TccModule.forRoot({
          coordinatorUrl: url,
          requestTimeoutMs: 3_000,
          ...(clientCa ? { tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } } : { tls: { ca: pki.ca }, apiKey: TEST_API_KEY }),
        }),
      ],
      providers: [SafeParticipant, SafeService],
    })
    class SafeModule {}
    app = await NestFactory.create<NestFastifyApplication>(SafeModule, new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    await trusted?.close();
    await coordinator?.close();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it('serves https:// and the library initiator commits through it; the transaction belongs to the authenticated client', async () => {
    expect(coordinator.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const gid = await app.get(SafeService).move();
    expect(calls).toEqual(expect.arrayContaining([`try:${gid}`, `confirm:${gid}`]));
    const detail = await get(`/admin/v1/transactions/${gid}`, trusted, `Bearer ${ADMIN_TOKEN}`);
    expect(detail).toMatchObject({ status: 200, body: { gid, status: 'COMMITTED', client: clientCa ? 'tcc-test-client' : TEST_CLIENT } });
  });

  it('refuses a client that does not trust the CA' + (clientCa ? ', and one without a certificate, at the handshake' : ''), async () => {
    const untrusting = new Agent();
    await expect(get('/health/live', untrusting)).rejects.toThrow(/certificate|self.signed|unable to verify/i);
    await untrusting.close();
    if (clientCa) {
      const certless = new Agent({ connect: { ca: pki.ca } });
      await expect(get('/health/live', certless)).rejects.toThrow();
      await certless.close();
    } else {
      // Trusting the CA is not enough without a key.
      expect(await get('/v1/transactions/anything', trusted)).toMatchObject({ status: 401, body: { error: 'UNAUTHENTICATED' } });
    }
    expect((await get('/health/live', trusted)).status).toBe(200);
  });

  it('stops at start on an unreadable file, a key that does not match, or a client CA without a certificate, naming the setting', () => {
    expect(() => loadCoordinatorConfig({ TCC_HTTP_TLS_CERT: join(pki.dir, 'missing.crt'), TCC_HTTP_TLS_KEY: pki.path('server.key') })).toThrow(/TCC_HTTP_TLS_CERT: cannot read/);
    expect(() => loadCoordinatorConfig({ TCC_HTTP_TLS_CERT: pki.path('server.crt'), TCC_HTTP_TLS_KEY: pki.path('other.key') })).toThrow(/TCC_HTTP_TLS_CERT \/ TCC_HTTP_TLS_KEY: the key does not match/);
    expect(() => loadCoordinatorConfig({ TCC_HTTP_TLS_CLIENT_CA: pki.path('ca.crt') })).toThrow(/TCC_HTTP_TLS_CLIENT_CA needs TCC_HTTP_TLS_CERT/);
  });
});
