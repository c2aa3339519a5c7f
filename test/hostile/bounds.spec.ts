/**
 * Bounds on what a participant or a client can make our processes hold, against the built apps as
 * child processes: a participant answering confirms with 500 and a 400 MB body (or a body that
 * never ends) does not grow the coordinator's memory, and 1,000 slow-header plus 1,000 slow-body
 * connections to each of the coordinator, the account service and the order service are closed
 * within their configured timeouts while /health/live (and a begin) keep answering.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { MAX_ANSWER_BYTES } from '@tcc/client';
import { loadAccountConfig } from '../../apps/account-service/src/config/account.config';
import { loadOrderConfig } from '../../apps/order-service/src/config/order.config';
import { CoordinatorApi } from '../support/coordinator.api';
import { TEST_DEFAULTS } from '../support/coordinator.in-process';
import { assertBuilt, CoordinatorProcess } from '../support/coordinator.process';
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { eventually, randomSuffix } from '../support/wait';

const ROOT = resolve(__dirname, '../..');
const HUGE_BYTES = 400 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'x');
/** Receiving bounds the servers under test run with (small, so the test is quick). */
const HEADERS_TIMEOUT_MS = 2_000;
const REQUEST_TIMEOUT_MS = 3_000;
/**
 * How late a close may come. The servers check every 500 ms here (a quarter of the headers
 * timeout), so on a quiet machine a close is under 1 s late; the rest of the margin is for a
 * machine busy with other suites and for this process's own lag with thousands of sockets (both
 * measured and logged). Without the bounds, nothing closes them at all.
 */
const CLOSE_MARGIN_MS = 5_000;

/** Resident memory of a process, in bytes, from /proc/<pid>/status. */
function rssOf(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

type Mode = 'huge' | 'endless' | 'ok';

/**
 * A participant whose confirm answers as its route's mode says: `huge` 500 with a 400 MB body
 * streamed in reused chunks (stopping when the caller hangs up), `endless` 500 headers and then a
 * byte every 200 ms forever, `ok` 200. Cancels always answer 200.
 */
class HostileParticipant {
  readonly modes = new Map<string, Mode>();
  readonly confirms = new Map<string, number>();
  /** Bytes of huge bodies handed to sockets, over all answers. */
  hugeBytesOut = 0;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<HostileParticipant> {
    const server = createServer();
    const participant = new HostileParticipant(server);
    server.on('request', (req, res) => {
      req.resume();
      req.on('end', () => participant.answer(req.url ?? '', res));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return participant;
  }

  route(name: string, mode: Mode): { confirm: string; cancel: string } {
    this.modes.set(name, mode);
    const base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/${name}`;
    return { confirm: `${base}/confirm`, cancel: `${base}/cancel` };
  }

  private answer(url: string, res: ServerResponse): void {
    const [, name, phase] = url.split('/');
    const mode = phase === 'confirm' ? (this.modes.get(name) ?? 'ok') : 'ok';
    if (phase === 'confirm') this.confirms.set(name, (this.confirms.get(name) ?? 0) + 1);
    if (mode === 'ok') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    if (mode === 'endless') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.write('still thinking');
      const timer = setInterval(() => res.write('.'), 200);
      res.on('close', () => clearInterval(timer));
      return;
    }
    res.writeHead(500, { 'content-type': 'text/plain', 'content-length': String(HUGE_BYTES) });
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= HUGE_BYTES) return void this.push(null);
        const chunk = sent === 0 ? Buffer.concat([Buffer.from('database on fire: '), CHUNK]).subarray(0, CHUNK.length) : CHUNK;
        sent += chunk.length;
        this.push(chunk);
      },
    });
    body.on('data', (chunk: Buffer) => (this.hugeBytesOut += chunk.length));
    body.pipe(res);
    res.on('close', () => body.destroy());
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}

/** A built example service (dist/apps/<name>/main.js) as a child process, killed by pid at the end. */
class ServiceProcess {
  url = '';
  private output = '';
  private constructor(private readonly child: ChildProcess) {}

  static async start(name: 'account-service' | 'order-service', env: Record<string, string>): Promise<ServiceProcess> {
    const main = join(ROOT, 'dist/apps', name, 'main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: run "npm run build" first`);
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(TCC_|ACCOUNT_|ORDER_)/.test(key)));
    const child = spawn(process.execPath, [main], { cwd: ROOT, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const service = new ServiceProcess(child);
    const collect = (d: Buffer): void => void (service.output = (service.output + d.toString()).slice(-20_000));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    try {
      service.url = await eventually(
        () => {
          if (child.exitCode !== null) throw new Error(`${name} exited: ${service.output}`);
          return /listening on (http:\/\/[0-9.:]+)/.exec(service.output)?.[1];
        },
        { timeoutMs: 45_000, intervalMs: 50, what: `${name} to listen` },
      );
    } catch (error) {
      service.stop();
      throw error;
    }
    return service;
  }

  get pid(): number {
    return this.child.pid!;
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

interface SlowResult {
  kind: 'headers' | 'body';
  /** Milliseconds from connect to the server closing the connection. */
  closedAfterMs: number;
  /** The status line the server sent before closing; `reset` when the close came as a reset before it could be read. */
  statusLine: string;
}

/**
 * Opens one slow connection: `headers` sends part of the headers then a header line every
 * `dripMs`; `body` sends complete headers with a content-length then one body byte every `dripMs`.
 * Resolves when the server closes it; the client itself gives up (and says so) after `giveUpMs`.
 */
function slowConnection(port: number, kind: 'headers' | 'body', path: string, dripMs: number, giveUpMs: number): Promise<SlowResult> {
  return new Promise((done, fail) => {
    let connectedAt = 0;
    let statusLine = '';
    let drip: NodeJS.Timeout | undefined;
    let n = 0;
    const socket = connect(port, '127.0.0.1', () => {
      connectedAt = Date.now();
      socket.write(
        kind === 'headers'
          ? `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`
          : `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{`,
      );
      drip = setInterval(() => {
        if (!socket.destroyed) socket.write(kind === 'headers' ? `x-slow-${n++}: 1\r\n` : ' ');
      }, dripMs);
    });
    const giveUp = setTimeout(() => {
      socket.destroy();
      fail(new Error(`slow ${kind} connection still open after ${giveUpMs} ms`));
    }, giveUpMs);
    socket.on('data', (d: Buffer) => (statusLine ||= d.toString('latin1').split('\r\n')[0]));
    // The server closing while our drip is in flight may arrive as a reset before its 408 is read.
    socket.on('error', (error: NodeJS.ErrnoException) => (statusLine ||= error.code === 'ECONNRESET' || error.code === 'EPIPE' ? 'reset' : `error ${error.code}`));
    socket.on('close', () => {
      clearInterval(drip);
      clearTimeout(giveUp);
      if (!connectedAt) return fail(new Error(`slow ${kind} connection never connected`));
      done({ kind, closedAfterMs: Date.now() - connectedAt, statusLine });
    });
  });
}

/** `count` slow connections of each kind, opened in batches of 100 (the listen backlog is finite). */
async function slowloris(port: number, path: string, count: number): Promise<SlowResult[]> {
  const pending: Array<Promise<SlowResult>> = [];
  for (let i = 0; i < count; i += 100) {
    const batch: Array<Promise<SlowResult>> = [];
    for (let j = i; j < Math.min(count, i + 100); j++) {
      for (const kind of ['headers', 'body'] as const) batch.push(slowConnection(port, kind, path, 1_000, REQUEST_TIMEOUT_MS + 20_000));
    }
    pending.push(...batch);
    // Wait until this batch is connected (its first write is out) before opening the next: bounded by giveUp.
    await Promise.race([Promise.all(batch.map((p) => p.catch(() => undefined))), new Promise((r) => setTimeout(r, 200))]);
  }
  return Promise.all(pending);
}

/** Polls `probe` every 200 ms until `stop` resolves, returning every status seen and the slowest answer. */
async function keepProbing(probe: () => Promise<number>, stop: Promise<unknown>): Promise<{ statuses: number[]; slowestMs: number }> {
  let stopped = false;
  void stop.finally(() => (stopped = true));
  const statuses: number[] = [];
  let slowestMs = 0;
  for (let i = 0; i < 1_000 && !stopped; i++) {
    const started = Date.now();
    statuses.push(await probe().catch(() => 0));
    slowestMs = Math.max(slowestMs, Date.now() - started);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { statuses, slowestMs };
}

async function statusOf(url: string, init?: RequestInit): Promise<number> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  await res.arrayBuffer();
  return res.status;
}

interface KindSummary {
  count: number;
  minMs: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
  /** How many closes came with each status line. */
  statuses: Record<string, number>;
}

function summary(results: SlowResult[]): Record<SlowResult['kind'], KindSummary> {
  const out = {} as Record<SlowResult['kind'], KindSummary>;
  for (const kind of ['headers', 'body'] as const) {
    const mine = results.filter((r) => r.kind === kind);
    const times = mine.map((r) => r.closedAfterMs).sort((a, b) => a - b);
    const statuses: Record<string, number> = {};
    for (const r of mine) statuses[r.statusLine] = (statuses[r.statusLine] ?? 0) + 1;
    const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))];
    out[kind] = { count: mine.length, minMs: times[0], medianMs: at(0.5), p99Ms: at(0.99), maxMs: times[times.length - 1], statuses };
  }
  return out;
}

describe('bounds on what participants and clients can make our processes hold', () => {
  let db: TestDatabase;
  let participant: HostileParticipant;
  let coordinator: CoordinatorProcess;
  let api: CoordinatorApi;
  let account: ServiceProcess | undefined;
  let order: ServiceProcess | undefined;
  let dir: string;

  beforeAll(async () => {
    assertBuilt();
    participant = await HostileParticipant.start();
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'tcc-bounds-'));
    coordinator = new CoordinatorProcess({
      ...TEST_DEFAULTS,
      TCC_DB_URL: db.url,
      TCC_LOG_LEVEL: 'error',
      // Retries come quickly; a participant call that has not finished in 1.5 s has failed.
      TCC_RETRY_BASE_MS: '50',
      TCC_RETRY_MAX_MS: '200',
      TCC_SCAN_INTERVAL_MS: '100',
      TCC_REQUEST_TIMEOUT_MS: '1500',
      // A commit may wait longer for its answer than a client may take to send a request.
      TCC_COMMIT_WAIT_MS: '5000',
      TCC_HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      TCC_HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    });
    await coordinator.start();
    api = new CoordinatorApi(coordinator.url);
  }, 120_000);

  afterAll(async () => {
    account?.stop();
    order?.stop();
    await api?.close();
    await coordinator?.stop();
    await participant?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('validates the services\' receiving timeouts like their other settings', () => {
    expect(loadAccountConfig({}).http).toMatchObject({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
    expect(loadOrderConfig({}).http).toMatchObject({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
    expect(() => loadAccountConfig({ ACCOUNT_HTTP_HEADERS_TIMEOUT_MS: 'soon' })).toThrow(/ACCOUNT_HTTP_HEADERS_TIMEOUT_MS="soon"/);
    expect(() => loadOrderConfig({ ORDER_HTTP_REQUEST_TIMEOUT_MS: '0' })).toThrow(/ORDER_HTTP_REQUEST_TIMEOUT_MS="0"/);
    expect(() => loadAccountConfig({ ACCOUNT_HTTP_HEADERS_TIMEOUT_MS: '5000', ACCOUNT_HTTP_REQUEST_TIMEOUT_MS: '4000' })).toThrow(/must not exceed ACCOUNT_HTTP_REQUEST_TIMEOUT_MS/);
    expect(() => loadOrderConfig({ ORDER_HTTP_HEADERS_TIMEOUT_MS: '5000', ORDER_HTTP_REQUEST_TIMEOUT_MS: '4000' })).toThrow(/must not exceed ORDER_HTTP_REQUEST_TIMEOUT_MS/);
  });

  it('a confirm answered 500 with a 400 MB body, retried, does not grow the coordinator; the branch keeps the start of the answer; it commits once the participant answers 200', async () => {
    const pid = coordinator.pid!;
    const gid = `bounds-huge-${randomSuffix()}`;
    const route = `huge${randomSuffix(4)}`;
    expect((await api.begin({ gid, timeoutMs: 600_000 })).status).toBe(201);
    expect((await api.register(gid, { branchId: 'b1', protocol: 'http', ...participant.route(route, 'huge') })).status).toBe(201);
    const rssBefore = rssOf(pid);
    let rssMax = rssBefore;
    expect((await api.commit(gid, { wait: false })).status).toBe(200);
    // Across at least ten answers of 400 MB each (4 GB offered), sampling the coordinator's RSS.
    await eventually(
      () => {
        rssMax = Math.max(rssMax, rssOf(pid));
        return (participant.confirms.get(route) ?? 0) >= 10;
      },
      { timeoutMs: 60_000, intervalMs: 20, what: 'ten confirm attempts' },
    );
    const view = await api.view(gid);
    const branch = view.branches.find((b) => b.branchId === 'b1')!;
    expect(view.status).toBe('COMMITTING');
    expect(branch.attempts).toBeGreaterThanOrEqual(5);
    expect(branch.lastError).toMatch(/^HTTP 500: database on fire: x+… \(answer larger than 65536 bytes\)$/);
    const growth = rssMax - rssBefore;
    console.log(
      `huge answers: ${participant.confirms.get(route)} confirms answered 500 + 400 MB, ${(participant.hugeBytesOut / 1024 / 1024).toFixed(1)} MB of them sent, ` +
        `coordinator RSS ${(rssBefore / 1024 / 1024).toFixed(1)} MB -> max ${(rssMax / 1024 / 1024).toFixed(1)} MB (+${(growth / 1024 / 1024).toFixed(1)} MB)`,
    );
    expect(growth).toBeLessThan(100 * 1024 * 1024);
    participant.modes.set(route, 'ok');
    await api.waitForStatus(gid, ['COMMITTED'], 30_000);
    expect(MAX_ANSWER_BYTES).toBe(65_536);
  });

  it('a confirm whose 500 answer never ends fails at the call deadline, is retried, and commits once the participant answers 200; the commit waiting past the request timeout keeps its connection', async () => {
    const gid = `bounds-endless-${randomSuffix()}`;
    const route = `endless${randomSuffix(4)}`;
    expect((await api.begin({ gid, timeoutMs: 600_000 })).status).toBe(201);
    expect((await api.register(gid, { branchId: 'b1', protocol: 'http', ...participant.route(route, 'endless') })).status).toBe(201);
    const rssBefore = rssOf(coordinator.pid!);
    // Receiving is bounded, answering is not: this commit waits TCC_COMMIT_WAIT_MS (5 s) for the
    // branch, longer than TCC_HTTP_REQUEST_TIMEOUT_MS (3 s), and gets its answer on the same socket.
    const started = Date.now();
    const commit = await api.commit(gid, { wait: true });
    const waited = Date.now() - started;
    expect(commit.status).toBe(200);
    expect(commit.body.status).toBe('COMMITTING');
    expect(waited).toBeGreaterThan(REQUEST_TIMEOUT_MS);
    await eventually(async () => (participant.confirms.get(route) ?? 0) >= 3 && (await api.view(gid)).branches[0].attempts >= 2, {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: 'two failed confirm attempts',
    });
    const view = await api.view(gid);
    expect(view.status).toBe('COMMITTING');
    expect(view.branches[0].lastError).toBe('no answer within 1500 ms');
    console.log(`endless answers: the commit answered after ${waited} ms; ${participant.confirms.get(route)} confirms, coordinator RSS +${((rssOf(coordinator.pid!) - rssBefore) / 1024 / 1024).toFixed(1)} MB`);
    participant.modes.set(route, 'ok');
    await api.waitForStatus(gid, ['COMMITTED'], 30_000);
  });

  /** 1,000 slow-header and 1,000 slow-body connections against `port`; probes keep answering meanwhile. */
  async function siege(name: string, port: number, path: string, probes: Array<() => Promise<number>>): Promise<void> {
    const lag = monitorEventLoopDelay({ resolution: 20 });
    lag.enable();
    const attack = slowloris(port, path, 1_000);
    const probing = await Promise.all(probes.map((probe) => keepProbing(probe, attack.catch(() => undefined))));
    const results = await attack;
    lag.disable();
    const byKind = summary(results);
    console.log(
      `${name}: ${JSON.stringify(byKind)}; probes ${JSON.stringify(probing.map((p) => ({ answers: p.statuses.length, slowestMs: p.slowestMs })))}; ` +
        `this process's event-loop lag max ${(lag.max / 1e6).toFixed(0)} ms`,
    );
    expect(results).toHaveLength(2_000);
    for (const r of results) {
      const bound = (r.kind === 'headers' ? HEADERS_TIMEOUT_MS : REQUEST_TIMEOUT_MS) + CLOSE_MARGIN_MS;
      if (r.closedAfterMs > bound) throw new Error(`${name}: a slow ${r.kind} connection closed after ${r.closedAfterMs} ms (bound ${bound} ms)`);
    }
    // Closed by the timeout (Node answers 408 first; a few resets when our drip crossed the close), not by something else.
    for (const kind of ['headers', 'body'] as const) {
      expect(Object.keys(byKind[kind].statuses).filter((s) => s !== 'HTTP/1.1 408 Request Timeout' && s !== 'reset')).toEqual([]);
      expect(byKind[kind].statuses['HTTP/1.1 408 Request Timeout']).toBeGreaterThan(byKind[kind].count / 2);
    }
    expect(byKind.headers.minMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(byKind.body.minMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    for (const p of probing) {
      expect(p.statuses.length).toBeGreaterThan(0);
      expect(p.statuses.every((s) => s === 200 || s === 201)).toBe(true);
    }
  }

  it('the coordinator closes 1,000 slow-header and 1,000 slow-body connections within its timeouts; /health/live and begin keep answering', async () => {
    const port = Number(new URL(coordinator.url).port);
    await siege('coordinator', port, '/v1/transactions', [
      () => statusOf(`${coordinator.url}/health/live`),
      async () => (await api.begin({ gid: `bounds-probe-${randomSuffix(10)}` })).status,
    ]);
  });

  it('the account service and the order service close 1,000 slow-header and 1,000 slow-body connections each within their timeouts; /health/live keeps answering', async () => {
    account = await ServiceProcess.start('account-service', {
      ACCOUNT_HOST: '127.0.0.1',
      ACCOUNT_HTTP_PORT: '0',
      ACCOUNT_GRPC_PORT: '0',
      ACCOUNT_LOG_LEVEL: 'error',
      ACCOUNT_SQLITE_PATH: join(dir, 'account.sqlite'),
      ACCOUNT_HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      ACCOUNT_HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    });
    order = await ServiceProcess.start('order-service', {
      ORDER_HOST: '127.0.0.1',
      ORDER_HTTP_PORT: '0',
      ORDER_LOG_LEVEL: 'error',
      ORDER_SQLITE_PATH: join(dir, 'order.sqlite'),
      ORDER_HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      ORDER_HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      TCC_COORDINATOR_URL: coordinator.url,
      ACCOUNT_SERVICE_URL: account.url,
    });
    const accountUrl = account.url;
    const orderUrl = order.url;
    // One after the other: each gets the machine to itself, as the coordinator did.
    await siege('account-service', Number(new URL(accountUrl).port), '/accounts', [() => statusOf(`${accountUrl}/health/live`)]);
    await siege('order-service', Number(new URL(orderUrl).port), '/orders', [() => statusOf(`${orderUrl}/health/live`)]);
  });
});
