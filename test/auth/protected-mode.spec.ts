/**
 * Safe by default (docs/contract.md §3.1): with no API key and no client certificate configured, the v1
 * API answers loopback callers only and says so once at start; TCC_API_AUTH=off opens it to
 * everyone with a warning. The other caller is a real process on a test host of our own (a network
 * namespace joined by a veth pair), so the coordinator sees a non-loopback address.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinatorApi } from '../support/coordinator.api';
import { CoordinatorProcess } from '../support/coordinator.process';
import { createTestHost, type TestHost } from './support/netns';

const REMOTE_CALLER = join(__dirname, 'support/remote-caller.js');

interface RemoteAnswer {
  http: { status: number; body: { error?: string; message?: string; gid?: string } };
  grpc: { code: number; details?: string; gid?: string };
}

describe('v1 API without credentials configured', () => {
  let host: TestHost;
  let dir: string;
  const started: CoordinatorProcess[] = [];

  async function start(env: Record<string, string>): Promise<{ proc: CoordinatorProcess; grpcPort: number }> {
    const proc = new CoordinatorProcess({
      TCC_HOST: '0.0.0.0',
      TCC_SQLITE_PATH: join(dir, `coordinator-${started.length}.sqlite`),
      // Empty: no keys at all (the test harness sets them otherwise).
      TCC_API_KEYS: '',
      TCC_LOG_LEVEL: 'info',
      ...env,
    });
    started.push(proc);
    await proc.start();
    const grpcPort = Number(/gRPC on [^:]+:(\d+)/.exec(proc.logs)?.[1]);
    expect(grpcPort).toBeGreaterThan(0);
    return { proc, grpcPort };
  }

  async function callFromHost(proc: CoordinatorProcess, grpcPort: number): Promise<RemoteAnswer> {
    const port = new URL(proc.url).port;
    const out = await host.run(process.execPath, [REMOTE_CALLER, host.machineAddress, port, String(grpcPort)]);
    return JSON.parse(out.trim().split('\n').pop() ?? '{}') as RemoteAnswer;
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tcc-protected-'));
    host = createTestHost();
  });

  afterAll(async () => {
    for (const proc of started) await proc.stop();
    host?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('protected mode: loopback callers work without a key, a caller from another host gets 401 UNAUTHENTICATED over HTTP and gRPC; said once at start', async () => {
    const { proc, grpcPort } = await start({});
    const local = new CoordinatorApi(proc.url, null);
    try {
      const begun = await local.begin({});
      expect(begun.status).toBe(201);
      // A key nobody configured is refused, not ignored: the client's settings are wrong.
      const keyed = new CoordinatorApi(proc.url, 'a-key-nobody-configured-0123');
      expect((await keyed.begin({})).status).toBe(401);
      await keyed.close();

      const remote = await callFromHost(proc, grpcPort);
      expect(remote.http.status).toBe(401);
      expect(remote.http.body).toMatchObject({ error: 'UNAUTHENTICATED' });
      expect(remote.http.body.message).toMatch(/loopback callers only/);
      expect(remote.grpc.code).toBe(16); // UNAUTHENTICATED
      expect(remote.grpc.details).toMatch(/loopback callers only/);
      expect(proc.logs.match(/protected mode/g)).toHaveLength(1);
    } finally {
      await local.close();
    }
  });

  it('TCC_API_AUTH=off: the caller from another host is served, and a warning at start says anyone can decide transactions', async () => {
    const { proc, grpcPort } = await start({ TCC_API_AUTH: 'off' });
    const remote = await callFromHost(proc, grpcPort);
    expect(remote.http.status).toBe(201);
    expect(remote.http.body.gid).toEqual(expect.any(String));
    expect(remote.grpc).toMatchObject({ code: 0, gid: expect.any(String) });
    expect(proc.logs).toMatch(/TCC_API_AUTH=off: .*anyone who can reach this coordinator can begin, commit and roll back any transaction/);
  });
});
