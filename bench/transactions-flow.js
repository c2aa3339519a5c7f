'use strict';
/**
 * The default flow of `npm run bench`: closed-loop two-branch transactions straight against the
 * coordinator (begin -> register b1 -> register b2 -> commit {wait: true}, expecting COMMITTED),
 * over HTTP or gRPC, with a participant stub as the branches. A fresh database, migrations, the
 * built coordinator and the stub as child processes, an idle baseline, warm-up, the measured
 * window, a sanity check, the figures (see the header of bench/run.js).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const readline = require('node:readline');
const { openDatabase } = require('./databases');
const { createGrpcDriver, GrpcTxError } = require('./grpc-driver');
const { ROOT, HOST, sleep, log, freePort, cpuTicks, clockTicksPerSecond, percentile, round, tail, startChild, stopChild, runToCompletion } = require('./harness');
const { newProfileDir, profileArgs, printProfile } = require('./profile');
const { measureRawCommits, rawCommitsLine } = require('./raw-commits');
const { pad, formatSummary, printReport } = require('./report');

const COORDINATOR_MAIN = path.join(ROOT, 'dist/apps/coordinator/main.js');
const STUB = path.join(__dirname, 'participant-stub.js');

class TxError extends Error {
  constructor(step, detail) {
    super(`${step}: ${detail}`);
    this.key = `${step}: ${String(detail).slice(0, 120)}`;
  }
}

/** The load authenticates as a deployment would: one named API key (TCC_API_KEYS) sent with every v1 call. */
const BENCH_API_KEY = 'bench-api-key-0123456789abcdef';
const API_HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${BENCH_API_KEY}` };

async function call(pool, step, method, urlPath, body, expect) {
  let res;
  try {
    res = await pool.request({
      method,
      path: urlPath,
      headers: API_HEADERS,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new TxError(step, err.code || err.message);
  }
  let json;
  try {
    json = await res.body.json();
  } catch {
    json = undefined;
  }
  if (!expect.includes(res.statusCode)) {
    const detail = json && typeof json === 'object' ? json.message || json.error || json.status : '';
    throw new TxError(step, `HTTP ${res.statusCode}${detail ? ` ${JSON.stringify(detail)}` : ''}`);
  }
  return json;
}

async function oneTransaction(pool, o, stubOrigin) {
  const begun = await call(pool, 'begin', 'POST', '/v1/transactions', { timeoutMs: o.timeoutMs }, [201]);
  const gid = begun && begun.gid;
  if (typeof gid !== 'string') throw new TxError('begin', 'no gid in the response');
  const base = `/v1/transactions/${encodeURIComponent(gid)}`;
  for (const branchId of ['b1', 'b2']) {
    await call(
      pool,
      'register',
      'POST',
      `${base}/branches`,
      {
        branchId,
        protocol: 'http',
        confirm: `${stubOrigin}/confirm`,
        cancel: `${stubOrigin}/cancel`,
        payload: { amount: 1 },
      },
      [201],
    );
  }
  const done = await call(pool, 'commit', 'POST', `${base}/commit`, { wait: true }, [200]);
  if (!done || done.status !== 'COMMITTED') throw new TxError('commit', `status ${done && done.status}`);
  return gid;
}

/**
 * Runs the flow with options `o` (bench/run.js); `h.state` is what run.js cleans up on every way out,
 * `h.shutdown(code)` that clean-up. Resolves to the exit code.
 */
async function run(o, h) {
  const { Pool } = require('undici');

  if (!fs.existsSync(COORDINATOR_MAIN)) {
    throw new Error(`${path.relative(ROOT, COORDINATOR_MAIN)} is missing: run "npm run build" first (npm run bench does)`);
  }
  // Whatever happens below, nothing outlives this bound.
  const hardLimitS = o.warmup + o.duration + 240;
  const hardLimit = setTimeout(() => {
    log(`still running after ${hardLimitS} s: giving up`);
    h.shutdown(1);
  }, hardLimitS * 1000);
  hardLimit.unref();

  const db = openDatabase(o.db, o);
  log(`node ${process.version}, ${os.cpus().length} CPUs; ${db.label} database ${o.database} on ${db.where}`);

  // 1. A fresh database.
  await db.connect();
  h.state.db = db;
  h.state.database = o.keepDatabase ? null : o.database;
  await db.create(o.database);
  const version = await db.version();
  const dbUrl = db.url(o.database);
  if (db.serverPid() === null) log(`${db.label}'s server process is not visible in /proc: its CPU time is not measured`);
  const rawCommitsPerSecond = await measureRawCommits(db, o.database, version);

  // The coordinator sees only the settings chosen here, not TCC_* variables of the caller's shell.
  const baseEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TCC_')) baseEnv[k] = v;
  const httpPort = await freePort();
  const grpcPort = await freePort();
  const coordinatorEnv = {
    ...baseEnv,
    NODE_ENV: 'production',
    TCC_DB_URL: dbUrl,
    TCC_HOST: HOST,
    TCC_HTTP_PORT: String(httpPort),
    TCC_GRPC_PORT: String(grpcPort),
    TCC_ALLOWED_TARGETS: `${HOST}:*`,
    TCC_LOG_LEVEL: 'warn',
    TCC_API_KEYS: `bench=${BENCH_API_KEY}`,
    ...(o.redis ? { TCC_REDIS_URL: `redis://${HOST}:6379` } : {}),
    ...o.coordinatorEnv,
  };

  // 2. Migrations.
  const t0 = performance.now();
  const migrated = await runToCompletion('migrate', [COORDINATOR_MAIN, 'migrate'], coordinatorEnv, 120_000);
  if (migrated.code !== 0) {
    throw new Error(
      `"node dist/apps/coordinator/main.js migrate" exited with ${migrated.code ?? migrated.signal}:\n${migrated.output.join('\n')}`,
    );
  }
  log(`migrations applied in ${Math.round(performance.now() - t0)} ms`);

  // 3. Participant stub and coordinator, each in its own process.
  const stub = startChild('participant-stub', [STUB, '--port', '0'], baseEnv);
  const stubPort = await new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: stub.stdout });
    rl.once('line', (line) => {
      try {
        resolve(JSON.parse(line).port);
      } catch {
        reject(new Error(`participant stub printed "${line}" instead of its port`));
      }
    });
    stub.exited.then(({ code }) => reject(new Error(`participant stub exited with ${code}:\n${stub.output.join('\n')}`)));
    setTimeout(() => reject(new Error('participant stub did not start within 10 s')), 10_000).unref();
  });
  const stubOrigin = `http://${HOST}:${stubPort}`;

  const profileDir = newProfileDir();
  const nodeArgs = profileArgs(o, profileDir);
  const coordinator = startChild('coordinator', [...nodeArgs, COORDINATOR_MAIN], coordinatorEnv);
  const coordinatorOut = tail(coordinator.stdout);
  coordinator.stdoutTail = coordinatorOut;
  const coordinatorOrigin = `http://${HOST}:${httpPort}`;
  const readyStart = performance.now();
  for (;;) {
    if (coordinator.exitCode !== null || coordinator.signalCode !== null) {
      throw new Error(
        `the coordinator exited during start-up (${coordinator.exitCode ?? coordinator.signalCode}):\n` +
          [...coordinatorOut, ...coordinator.output].join('\n'),
      );
    }
    try {
      const res = await fetch(`${coordinatorOrigin}/health/ready`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() - readyStart > 60_000) {
      throw new Error(
        `the coordinator did not answer 200 on /health/ready within 60 s:\n${[...coordinatorOut, ...coordinator.output].join('\n')}`,
      );
    }
    await sleep(200);
  }
  log(`coordinator ready in ${Math.round(performance.now() - readyStart)} ms (pid ${coordinator.pid}, port ${httpPort}); stub pid ${stub.pid}`);

  // 4. Background: what the database server does with no load at all (other clients of a shared
  // server, the coordinator's own scans), so the per-transaction figures can be judged.
  const counted = [o.database];
  const idleSeconds = 2;
  const idleBefore = await db.counters(counted);
  const idleCpuBefore = cpuTicks(coordinator.pid);
  await sleep(idleSeconds * 1000);
  const idleDelta = db.counterDelta(idleBefore, await db.counters(counted));
  const idleCpuAfter = cpuTicks(coordinator.pid);

  // 5. Load: closed loop, `concurrency` virtual users over a pool of keep-alive connections.
  const pool = new Pool(coordinatorOrigin, {
    connections: o.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  h.state.pool = pool;
  const latencies = [];
  const errors = new Map();
  let warmupCompleted = 0;
  let warmupErrors = 0;
  let allCommitted = 0;
  let measuring = null; // { start, end } in performance.now() time once the window opens
  let stopping = false;
  let lastGid = null;

  // gRPC: the same two-branch transaction over the coordinator's gRPC API, one shared channel.
  const grpcDriver = o.transport === 'grpc' ? createGrpcDriver({ address: `127.0.0.1:${grpcPort}`, apiKey: BENCH_API_KEY }) : null;
  h.state.grpcDriver = grpcDriver;
  const runOne = grpcDriver
    ? () => grpcDriver.oneTransaction(stubOrigin, { timeoutMs: o.timeoutMs })
    : () => oneTransaction(pool, o, stubOrigin);

  const worker = async () => {
    while (!stopping) {
      const started = performance.now();
      try {
        lastGid = await runOne();
        allCommitted++;
        const ended = performance.now();
        // A transaction counts in the window it ends in, as throughput is measured in steady state.
        if (measuring && ended >= measuring.start && ended <= measuring.end) latencies.push(ended - started);
        else if (!measuring) warmupCompleted++;
      } catch (err) {
        const ended = performance.now();
        if (measuring && ended >= measuring.start && ended <= measuring.end) {
          const key = err instanceof TxError || err instanceof GrpcTxError ? err.key : String(err && err.message);
          errors.set(key, (errors.get(key) || 0) + 1);
        } else if (!measuring) warmupErrors++;
        // A failing coordinator must not be hammered in a tight loop.
        await sleep(10);
      }
    }
  };

  log(`load: ${o.concurrency} virtual users over ${o.connections} connections; warm-up ${o.warmup} s, measuring ${o.duration} s`);
  const workers = Array.from({ length: o.concurrency }, worker);
  await sleep(o.warmup * 1000);

  const before = await db.counters(counted);
  const cpuBefore = { coordinator: cpuTicks(coordinator.pid), stub: cpuTicks(stub.pid), database: db.cpuTicks() };
  const benchCpuBefore = process.cpuUsage();
  measuring = { start: performance.now(), end: Infinity };
  await sleep(o.duration * 1000);
  measuring.end = performance.now();
  const cpuAfter = { coordinator: cpuTicks(coordinator.pid), stub: cpuTicks(stub.pid), database: db.cpuTicks() };
  const after = await db.counters(counted);
  const benchCpu = process.cpuUsage(benchCpuBefore);
  const elapsedS = (measuring.end - measuring.start) / 1000;

  stopping = true;
  const drained = await Promise.race([Promise.all(workers).then(() => true), sleep(o.timeoutMs + 15_000).then(() => false)]);
  if (!drained) log('some transactions were still in flight after the window; not waiting for them');

  // 6. Sanity: the last transaction reads back COMMITTED, and the stub saw one confirm per branch of
  // every committed transaction (a few may still be arriving for transactions answered COMMITTING).
  let check = {};
  if (lastGid) {
    try {
      const res = await pool.request({ method: 'GET', path: `/v1/transactions/${encodeURIComponent(lastGid)}`, headers: API_HEADERS });
      const view = await res.body.json();
      check.lastTransaction = { gid: lastGid, status: view.status, branches: (view.branches || []).map((b) => b.status) };
    } catch (err) {
      check.lastTransaction = { gid: lastGid, error: String(err.message) };
    }
  }
  try {
    const res = await fetch(`${stubOrigin}/stats`);
    const counts = await res.json();
    check.stub = { confirms: counts['/confirm'] || 0, cancels: counts['/cancel'] || 0, expectedConfirms: 2 * allCommitted };
  } catch (err) {
    check.stub = { error: String(err.message) };
  }
  await pool.close().catch(() => {});
  h.state.pool = null;
  if (grpcDriver) grpcDriver.close();
  h.state.grpcDriver = null;

  // 7. Figures.
  latencies.sort((a, b) => a - b);
  const completed = latencies.length;
  const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
  const delta = db.counterDelta(before, after);
  const perTx = {};
  for (const [k, v] of Object.entries(delta)) perTx[k] = completed ? round(v / completed, 2) : null;
  const summary = Object.fromEntries(
    Object.entries(db.summary(delta)).map(([k, v]) => [k, completed && v !== null ? round(v / completed, 2) : null]),
  );
  const idlePerSecond = {};
  for (const [k, v] of Object.entries(idleDelta)) idlePerSecond[k] = round(v / idleSeconds, 1);
  const cpuMs = (a, b) => (a === null || b === null || a === undefined || b === undefined ? null : ((b - a) * 1000) / clockTicksPerSecond);
  const cpu = {
    coordinatorMs: cpuMs(cpuBefore.coordinator, cpuAfter.coordinator),
    participantStubMs: cpuMs(cpuBefore.stub, cpuAfter.stub),
    databaseMs: cpuMs(cpuBefore.database, cpuAfter.database),
    loadDriverMs: (benchCpu.user + benchCpu.system) / 1000,
  };
  const idleCoordinatorCpuMs = cpuMs(idleCpuBefore, idleCpuAfter);

  const result = {
    bench: `tcc-2-branch-${o.transport}`,
    at: new Date().toISOString(),
    node: process.version,
    database: { engine: db.engine, version },
    cpus: os.cpus().length,
    transport: o.transport,
    concurrency: o.concurrency,
    connections: o.connections,
    warmupS: o.warmup,
    durationS: round(elapsedS, 3),
    redis: o.redis,
    rawCommitsPerSecond,
    completed,
    errors: errorCount,
    warmupCompleted,
    warmupErrors,
    txPerSecond: round(completed / elapsedS, 1),
    latencyMs: {
      p50: round(percentile(latencies, 50)),
      p90: round(percentile(latencies, 90)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies[latencies.length - 1] ?? null),
      mean: round(completed ? latencies.reduce((a, b) => a + b, 0) / completed : null),
    },
    databaseWorkPerTransaction: summary,
    databasePerTransaction: perTx,
    databaseDelta: delta,
    databaseIdlePerSecond: idlePerSecond,
    cpuMs: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(v, 0)])),
    cpuMsPerTransaction: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, completed && v !== null ? round(v / completed, 3) : null])),
    coordinatorCpuUtilisation: cpu.coordinatorMs === null ? null : round(cpu.coordinatorMs / 1000 / elapsedS, 2),
    idleCoordinatorCpuMsPerSecond: idleCoordinatorCpuMs === null ? null : round(idleCoordinatorCpuMs / idleSeconds, 1),
    errorKinds: Object.fromEntries([...errors.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10)),
    check,
  };

  const lines = [
    '',
    `TCC two-branch transactions over ${o.transport}: concurrency ${o.concurrency}, ${round(elapsedS, 1)} s measured after ${o.warmup} s warm-up`,
    `  ${pad('transactions completed')}${completed}`,
    `  ${pad('errors')}${errorCount}${warmupErrors ? ` (and ${warmupErrors} during warm-up)` : ''}`,
    `  ${pad('throughput')}${result.txPerSecond} tx/s`,
    rawCommitsLine(pad, rawCommitsPerSecond, result.txPerSecond),
    `  ${pad('latency (whole transaction)')}p50 ${result.latencyMs.p50} ms, p90 ${result.latencyMs.p90} ms, p99 ${result.latencyMs.p99} ms, max ${result.latencyMs.max} ms`,
    `  ${pad('database work per transaction')}${formatSummary(summary)}`,
    '',
    `  ${db.label} ${version}, ${db.counterSource(counted)} deltas over the window, per transaction:`,
    ...(db.counterNote ? [`    (${db.counterNote})`] : []),
    ...(db.counterNames.some((k) => !(k in delta))
      ? [`    (not counted by this server: ${db.counterNames.filter((k) => !(k in delta)).join(', ')})`]
      : []),
    ...Object.keys(delta).map(
      (k) => `    ${pad(k, 30)}${pad(perTx[k] ?? '-', 10)} per transaction   (delta ${delta[k]}; idle: ${idlePerSecond[k] ?? '-'}/s)`,
    ),
    '',
    `  CPU time over the window (ms total, ms per transaction):`,
    ...Object.entries(cpu).map(
      ([k, v]) =>
        `    ${pad(k === 'databaseMs' ? `${k} (${db.engine})` : k, 30)}${v === null ? 'n/a' : `${pad(Math.round(v), 10)}${result.cpuMsPerTransaction[k]} ms per transaction`}`,
    ),
    `    coordinator utilisation       ${result.coordinatorCpuUtilisation ?? 'n/a'} cores (idle before load: ${result.idleCoordinatorCpuMsPerSecond ?? 'n/a'} ms/s)`,
  ];
  if (errors.size) {
    lines.push('', '  errors by kind:');
    for (const [k, v] of Object.entries(result.errorKinds)) lines.push(`    ${v} x ${k}`);
  }
  lines.push('', `  check: ${JSON.stringify(check)}`);
  const note = db.idleNote(idlePerSecond);
  if (note) lines.push(`  ${note}`);
  printReport(lines, result, o.jsonOut);
  if (o.profile) {
    // The profile is written when the coordinator exits, so stop it now (gracefully) and read it.
    await stopChild(coordinator);
    printProfile(profileDir);
  }
  return completed > 0 ? 0 : 1;
}

module.exports = { run };
