/**
 * TLS on every hop, with certificates this test makes itself (openssl, a throw-away CA): the
 * coordinator's gRPC API with client certificates required, the library's gRPC client to it, a
 * participant gRPC server of the library over TLS that the coordinator calls with its own client
 * certificate, an HTTPS participant trusted through a custom CA; plaintext and certificate-less
 * clients refused; bad TLS settings stop start-up naming the setting.
 */
import 'reflect-metadata';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TccCancel, TccConfirm, TccInitiator, TccModule, TccParticipant, TccTransactional, TccTry, TCC_BARRIER_MIGRATIONS, type BranchCall } from '@tcc/client';
import { GrpcCoordinatorClient } from '@tcc/client/client/grpc-coordinator.client';
import { GrpcChannels } from '@tcc/client/grpc/grpc.channels';
import { resolveTccOptions } from '@tcc/client/tcc.options';
import { dataSourceOptions } from '@tcc/service-kit';
import { createCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap';
import { loadCoordinatorConfig } from '../../apps/coordinator/src/config/coordinator.config';
import { CoordinatorApi } from '../support/coordinator.api';
import { coordinatorTlsEnv, makePki, type Pki } from '../support/pki';
import { TEST_API_KEY, TEST_API_KEYS } from '../support/api-keys';

const calls: string[] = [];

@TccParticipant('vault')
@Injectable()
class VaultParticipant {
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
class VaultService {
  address = '';
  constructor(private readonly tcc: TccInitiator) {}

  @TccTransactional()
  async move(): Promise<string> {
    await this.tcc.branch({ participant: 'vault', protocol: 'grpc', service: this.address });
    return this.tcc.gid;
  }
}

describe('TLS on every hop', () => {
  let pki: Pki;
  let coordinator: RunningCoordinator;
  let app: NestFastifyApplication;
  let httpsParticipant: Server;
  const httpsCalls: string[] = [];
  let api: CoordinatorApi;

  beforeAll(async () => {
    pki = makePki();
    coordinator = await createCoordinator({
      TCC_HOST: '127.0.0.1',
      TCC_HTTP_PORT: '0',
      TCC_GRPC_PORT: '0',
      TCC_LOG_LEVEL: 'error',
      TCC_SQLITE_PATH: ':memory:',
      TCC_RETRY_BASE_MS: '50',
      TCC_RETRY_MAX_MS: '200',
      TCC_SCAN_INTERVAL_MS: '100',
      TCC_REQUEST_TIMEOUT_MS: '3000',
      TCC_API_KEYS: TEST_API_KEYS,
      ...coordinatorTlsEnv(pki),
    });
    api = new CoordinatorApi(coordinator.url);

    httpsParticipant = createServer({ cert: pki.serverCert, key: pki.serverKey }, (req, res) => {
      req.resume();
      req.on('end', () => {
        httpsCalls.push(req.url ?? '');
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => httpsParticipant.listen(0, '127.0.0.1', resolve));

    const dir = pki.dir;
    @Module({
      imports: [
        TypeOrmModule.forRoot({ ...dataSourceOptions({ sqlitePath: join(dir, 'vault.sqlite'), migrations: TCC_BARRIER_MIGRATIONS }), migrationsRun: true }),
        TccModule.forRoot({
          transport: 'grpc',
          coordinatorGrpcAddress: coordinator.grpcAddress,
          apiKey: TEST_API_KEY,
          requestTimeoutMs: 3_000,
          tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
          grpc: { port: 0, host: '127.0.0.1', tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.ca } },
        }),
      ],
      providers: [VaultParticipant, VaultService],
    })
    class VaultModule {}
    app = await NestFactory.create<NestFastifyApplication>(VaultModule, new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    await api?.close();
    await coordinator?.close();
    httpsParticipant?.close();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it('commits a transaction over mutual TLS end to end: gRPC to the coordinator, gRPC try and confirm to the participant', async () => {
    const service = app.get(VaultService);
    const { ParticipantGrpcServer } = await import('@tcc/client');
    service.address = app.get(ParticipantGrpcServer).address();
    const gid = await service.move();
    const view = await api.waitForStatus(gid, ['COMMITTED']);
    expect(view.branches).toEqual([expect.objectContaining({ protocol: 'grpc', status: 'CONFIRMED', attempts: 1 })]);
    expect(calls).toEqual([`try:${gid}`, `confirm:${gid}`]);
  });

  it('calls an HTTPS participant whose certificate chains to the configured CA', async () => {
    const begun = await api.begin({ timeoutMs: 30_000 });
    const gid = begun.body.gid;
    const base = `https://127.0.0.1:${(httpsParticipant.address() as AddressInfo).port}`;
    expect((await api.register(gid, { branchId: 'h1', protocol: 'http', confirm: `${base}/confirm`, cancel: `${base}/cancel` })).status).toBe(201);
    expect((await api.commit(gid, { wait: true })).body.status).toBe('COMMITTED');
    expect(httpsCalls).toContain('/confirm');
  });

  it('refuses a plaintext client and a TLS client without a certificate', async () => {
    for (const tls of [undefined, { ca: pki.ca }]) {
      const channels = new GrpcChannels(tls);
      const client = new GrpcCoordinatorClient(resolveTccOptions({ transport: 'grpc', coordinatorGrpcAddress: coordinator.grpcAddress, requestTimeoutMs: 1_000 }), channels);
      await expect(client.begin({ timeoutMs: 1_000 })).rejects.toThrow();
      channels.close();
    }
    const channels = new GrpcChannels({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
    const client = new GrpcCoordinatorClient(resolveTccOptions({ transport: 'grpc', coordinatorGrpcAddress: coordinator.grpcAddress }), channels);
    expect((await client.begin({ timeoutMs: 1_000 })).status).toBe('TRYING');
    channels.close();
  });

  it('stops at start on an unreadable file or a key that does not match its certificate, naming the setting', () => {
    expect(() => loadCoordinatorConfig({ TCC_GRPC_TLS_CERT: join(pki.dir, 'missing.crt'), TCC_GRPC_TLS_KEY: pki.path('server.key') })).toThrow(/TCC_GRPC_TLS_CERT: cannot read/);
    expect(() => loadCoordinatorConfig({ TCC_GRPC_TLS_CERT: pki.path('server.crt'), TCC_GRPC_TLS_KEY: pki.path('other.key') })).toThrow(/TCC_GRPC_TLS_CERT \/ TCC_GRPC_TLS_KEY: the key does not match/);
    expect(() => loadCoordinatorConfig({ TCC_PARTICIPANT_TLS_CA: pki.path('server.key') })).toThrow(/TCC_PARTICIPANT_TLS_CA/);
    expect(() => resolveTccOptions({ grpc: { port: 0, tls: { cert: pki.serverCert, key: pki.otherKey } } })).toThrow(/grpc\.tls: the key does not match/);
    expect(() => resolveTccOptions({ tls: { cert: pki.clientCert } })).toThrow(/tls: a certificate needs its key/);
  });
});
