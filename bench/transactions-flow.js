'use strict';
/**
 * The default flow of `npm run bench`: closed-loop load straight against the coordinator, over HTTP
 * or gRPC, with a participant stub as every participant, in up to three modes one after the other
 * (--modes, default all three; what each runs is in bench/modes.js): two-branch TCC transactions
 * (begin -> register b1 -> register b2 -> commit {wait: true}), two-step sagas (POST /v1/sagas
 * {wait: true}) and two-step reliable messages (POST /v1/messages, then submit {wait: true}), each
 * expected to end COMMITTED. A fresh database, migrations, the built coordinator and the stub as
 * child processes, an idle baseline, then for each mode in turn on the same coordinator and
 * database: warm-up, the measured window, the drain, a sanity check; then the figures of every
 * mode and one JSON line with all of them (see the header of bench/run.js).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const readline = require('node:readline');
const { openDatabase } = require('./databases');
const { createGrpcDriver, GrpcTxError } = require('./grpc-driver');
const { MODES, BENCH_API_KEY, API_HEADERS, TxError, stubCheck } = require('./modes');
const { ROOT, HOST, sleep, log, freePort, cpuTicks, clockTicksPerSecond, percentile, round, tail, startChild, stopChild, runToCompletion } = require('./harness');
const { newProfileDir, profileArgs, printProfile } = require('./profile');
const { measureRawCommits, rawCommitsLine } = require('./raw-commits');
const { pad, formatSummary, printReport } = require('./report');

const COORDINATOR_MAIN = path.join(ROOT, 'dist/apps/coordinator/main.js');
const STUB = path.join(__dirname, 'participant-stub.js');

/**
 * Runs the flow with options `o` (bench/run.js); `h.state` is what run.js cleans up on every way out,
 * `h.shutdown(code)` that clean-up. Resolves to the exit code.
 */
async function run(o, h) {
  const { Pool } = require('undici');

  if (!fs.existsSync(COORDINATOR_MAIN)) {
    throw new Error(`${path.relative(ROOT, COORDINATOR_MAIN)} is missing: run "npm run build" first (npm run bench does)`);
  }
  // Whatever happens below, nothing outlives this bound (start-up, then each mode's warm-up, window
  // and drain).
  const hardLimitS = o.modes.length * (o.warmup + o.duration + 60) + 180;
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

  // 5. Load: closed loop, `concurrency` virtual users over a pool of keep-alive connections (or
  // with gRPC one shared channel), shared by every mode.
  const pool = new Pool(coordinatorOrigin, {
    connections: o.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  h.state.pool = pool;
  const grpcDriver = o.transport === 'grpc' ? createGrpcDriver({ address: `127.0.0.1:${grpcPort}`, apiKey: BENCH_API_KEY }) : null;
  h.state.grpcDriver = grpcDriver;

  const cpuMs = (a, b) => (a === null || b === null || a === undefined || b === undefined ? null : ((b - a) * 1000) / clockTicksPerSecond);
  const idlePerSecond = {};
  for (const [k, v] of Object.entries(idleDelta)) idlePerSecond[k] = round(v / idleSeconds, 1);
  const idleCoordinatorCpuMs = cpuMs(idleCpuBefore, idleCpuAfter);
  const idleCoordinatorCpuMsPerSecond = idleCoordinatorCpuMs === null ? null : round(idleCoordinatorCpuMs / idleSeconds, 1);
  const stubCounts = async () => (await fetch(`${stubOrigin}/stats`, { signal: AbortSignal.timeout(10_000) })).json();
  const unrefSleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

  /** One mode: warm-up, measured window, drain, sanity check; its figures and report lines. */
  async function measure(mode) {
    const m = MODES[mode];
    const runOne = grpcDriver ? () => m.grpc(grpcDriver, o, stubOrigin) : () => m.http(pool, o, stubOrigin);
    const latencies = [];
    const errors = new Map();
    let warmupCompleted = 0;
    let warmupErrors = 0;
    let allCommitted = 0;
    let measuring = null; // { start, end } in performance.now() time once the window opens
    let stopping = false;
    let lastGid = null;
    let stubBefore = null;
    let stubBeforeError = null;
    try {
      stubBefore = await stubCounts();
    } catch (err) {
      stubBeforeError = String(err.message);
    }

    const worker = async () => {
      while (!stopping) {
        const started = performance.now();
        try {
          lastGid = await runOne();
          allCommitted++;
          const ended = performance.now();
          // An operation counts in the window it ends in, as throughput is measured in steady state.
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

    log(`${mode}: ${o.concurrency} virtual users over ${o.transport === 'grpc' ? 'one gRPC channel' : `${o.connections} connections`}; warm-up ${o.warmup} s, measuring ${o.duration} s`);
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
    const drained = await Promise.race([Promise.all(workers).then(() => true), unrefSleep(o.timeoutMs + 15_000).then(() => false)]);
    if (!drained) log(`${mode}: some operations were still in flight after the window; not waiting for them`);

    // Sanity: the last operation reads back COMMITTED, and the stub received the two participant
    // calls of every operation answered COMMITTED in this mode (warm-up, window and drain).
    const check = {};
    if (lastGid) {
      try {
        const res = await pool.request({ method: 'GET', path: `/v1/transactions/${encodeURIComponent(lastGid)}`, headers: API_HEADERS });
        const view = await res.body.json();
        check.last = { gid: lastGid, mode: view.mode, status: view.status, branches: (view.branches || []).map((b) => b.status) };
      } catch (err) {
        check.last = { gid: lastGid, error: String(err.message) };
      }
    }
    try {
      if (stubBeforeError) throw new Error(stubBeforeError);
      const stubAfter = await stubCounts();
      const counts = {};
      for (const k of Object.keys(stubAfter)) counts[k] = stubAfter[k] - (stubBefore[k] || 0);
      check.stub = stubCheck(mode, counts, allCommitted);
    } catch (err) {
      check.stub = { error: String(err.message), ok: false };
    }
    check.ok = check.stub.ok === true && (!check.last || check.last.status === 'COMMITTED');

    // Figures.
    latencies.sort((a, b) => a - b);
    const completed = latencies.length;
    const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
    const delta = db.counterDelta(before, after);
    const perTx = {};
    for (const [k, v] of Object.entries(delta)) perTx[k] = completed ? round(v / completed, 2) : null;
    const summary = Object.fromEntries(
      Object.entries(db.summary(delta)).map(([k, v]) => [k, completed && v !== null ? round(v / completed, 2) : null]),
    );
    const cpu = {
      coordinatorMs: cpuMs(cpuBefore.coordinator, cpuAfter.coordinator),
      participantStubMs: cpuMs(cpuBefore.stub, cpuAfter.stub),
      databaseMs: cpuMs(cpuBefore.database, cpuAfter.database),
      loadDriverMs: (benchCpu.user + benchCpu.system) / 1000,
    };
    const result = {
      bench: m.bench(o.transport),
      durationS: round(elapsedS, 3),
      completed,
      errors: errorCount,
      warmupCompleted,
      warmupErrors,
      txPerSecond: round(completed / elapsedS, 1),
      latencyMs: {
        p50: round(percentile(latencies, 50)),
        p90: round(percentile(latencies, 90)),
        p95: round(percentile(latencies, 95)),
        p99: round(percentile(latencies, 99)),
        max: round(latencies[latencies.length - 1] ?? null),
        mean: round(completed ? latencies.reduce((a, b) => a + b, 0) / completed : null),
      },
      databaseWorkPerTransaction: summary,
      databasePerTransaction: perTx,
      databaseDelta: delta,
      cpuMs: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(v, 0)])),
      cpuMsPerTransaction: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, completed && v !== null ? round(v / completed, 3) : null])),
      coordinatorCpuUtilisation: cpu.coordinatorMs === null ? null : round(cpu.coordinatorMs / 1000 / elapsedS, 2),
      errorKinds: Object.fromEntries([...errors.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10)),
      check,
    };

    const noun = m.noun;
    const lines = [
      '',
      `${m.title} over ${o.transport}: concurrency ${o.concurrency}, ${round(elapsedS, 1)} s measured after ${o.warmup} s warm-up`,
      `  ${pad(`${noun}s completed`)}${completed}`,
      `  ${pad('errors')}${errorCount}${warmupErrors ? ` (and ${warmupErrors} during warm-up)` : ''}`,
      `  ${pad('throughput')}${result.txPerSecond} tx/s`,
      rawCommitsLine(pad, rawCommitsPerSecond, result.txPerSecond),
      `  ${pad(`latency (${m.latency})`)}p50 ${result.latencyMs.p50} ms, p90 ${result.latencyMs.p90} ms, p95 ${result.latencyMs.p95} ms, p99 ${result.latencyMs.p99} ms, max ${result.latencyMs.max} ms`,
      `  ${pad(`database work per ${noun}`)}${formatSummary(summary)}`,
      '',
      `  ${db.label} ${version}, ${db.counterSource(counted)} deltas over the window, per ${noun}:`,
      ...(db.counterNote ? [`    (${db.counterNote})`] : []),
      ...(db.counterNames.some((k) => !(k in delta))
        ? [`    (not counted by this server: ${db.counterNames.filter((k) => !(k in delta)).join(', ')})`]
        : []),
      ...Object.keys(delta).map(
        (k) => `    ${pad(k, 30)}${pad(perTx[k] ?? '-', 10)} per ${noun}   (delta ${delta[k]}; idle: ${idlePerSecond[k] ?? '-'}/s)`,
      ),
      '',
      `  CPU time over the window (ms total, ms per ${noun}):`,
      ...Object.entries(cpu).map(
        ([k, v]) =>
          `    ${pad(k === 'databaseMs' ? `${k} (${db.engine})` : k, 30)}${v === null ? 'n/a' : `${pad(Math.round(v), 10)}${result.cpuMsPerTransaction[k]} ms per ${noun}`}`,
      ),
      `    coordinator utilisation       ${result.coordinatorCpuUtilisation ?? 'n/a'} cores (idle before load: ${idleCoordinatorCpuMsPerSecond ?? 'n/a'} ms/s)`,
    ];
    if (errors.size) {
      lines.push('', '  errors by kind:');
      for (const [k, v] of Object.entries(result.errorKinds)) lines.push(`    ${v} x ${k}`);
    }
    lines.push('', `  check (${check.ok ? 'ok' : 'FAILED'}): ${JSON.stringify({ last: check.last, stub: check.stub })}`);
    return { result, lines };
  }

  // 6. Each mode in turn, on the same coordinator and database.
  const measured = {};
  for (const mode of o.modes) measured[mode] = await measure(mode);

  await pool.close().catch(() => {});
  h.state.pool = null;
  if (grpcDriver) grpcDriver.close();
  h.state.grpcDriver = null;

  // 7. Figures: each mode's, a one-line summary, then the JSON line with all of them.
  const result = {
    bench: `coordinator-${o.modes.join('-')}-${o.transport}`,
    at: new Date().toISOString(),
    node: process.version,
    database: { engine: db.engine, version },
    cpus: os.cpus().length,
    transport: o.transport,
    concurrency: o.concurrency,
    connections: o.connections,
    warmupS: o.warmup,
    durationS: o.duration,
    redis: o.redis,
    rawCommitsPerSecond,
    modes: o.modes,
    txPerSecondByMode: Object.fromEntries(o.modes.map((mode) => [mode, measured[mode].result.txPerSecond])),
    latencyMsByMode: Object.fromEntries(
      o.modes.map((mode) => {
        const { p50, p95, p99 } = measured[mode].result.latencyMs;
        return [mode, { p50, p95, p99 }];
      }),
    ),
    databaseIdlePerSecond: idlePerSecond,
    idleCoordinatorCpuMsPerSecond,
    ...Object.fromEntries(o.modes.map((mode) => [mode, measured[mode].result])),
  };
  const lines = o.modes.flatMap((mode) => measured[mode].lines);
  lines.push(
    '',
    `summary (${o.transport}, concurrency ${o.concurrency}, ${o.duration} s each): ` +
      o.modes
        .map((mode) => {
          const r = measured[mode].result;
          return `${mode} ${r.txPerSecond} tx/s (p50 ${r.latencyMs.p50} / p95 ${r.latencyMs.p95} / p99 ${r.latencyMs.p99} ms, ${r.errors} errors, check ${r.check.ok ? 'ok' : 'FAILED'})`;
        })
        .join('; '),
  );
  const note = db.idleNote(idlePerSecond);
  if (note) lines.push(`  ${note}`);
  printReport(lines, result, o.jsonOut);
  if (o.profile) {
    // The profile is written when the coordinator exits, so stop it now (gracefully) and read it.
    await stopChild(coordinator);
    printProfile(profileDir);
  }
  const failed = o.modes.filter((mode) => measured[mode].result.completed === 0 || !measured[mode].result.check.ok);
  if (failed.length) log(`no operation completed, or the sanity check failed, in: ${failed.join(', ')}`);
  return failed.length ? 1 : 0;
}

module.exports = { run };
