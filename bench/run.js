#!/usr/bin/env node
/**
 * `npm run bench`: throughput and cost of two-branch TCC transactions through the coordinator.
 *
 * Creates a fresh database (MariaDB, or PostgreSQL with --db postgres), applies the coordinator's
 * migrations, starts the built coordinator (dist/apps/coordinator/main.js) and a participant stub as
 * two child processes, then drives closed-loop load from this process: each virtual user runs
 * begin -> register b1 -> register b2 -> commit {wait: true} (expecting COMMITTED) back to back.
 * After a warm-up it measures a fixed window and prints throughput, latency of the whole
 * transaction, the database server's own counters per transaction and the CPU time of each process
 * (the database server's included), then one JSON line with the same figures. Talks to 127.0.0.1
 * only; bounded in time; stops its children and drops its database at the end, on error and on
 * SIGINT / SIGTERM. The database-specific parts are in bench/databases.js.
 *
 * Options (flag, or environment variable):
 *   --concurrency N    BENCH_CONCURRENCY  virtual users, each with one transaction in flight (64)
 *   --duration S       BENCH_DURATION     measured window in seconds (20)
 *   --warmup S         BENCH_WARMUP       load before the window, not counted (3)
 *   --connections N    BENCH_CONNECTIONS  HTTP connections to the coordinator (= concurrency)
 *   --transport T      BENCH_TRANSPORT    http | grpc (the coordinator API the load uses)
 *   --timeout-ms N     BENCH_TX_TIMEOUT_MS  timeoutMs of each transaction (30000)
 *   --redis            BENCH_REDIS=1      give the coordinator TCC_REDIS_URL=redis://127.0.0.1:6379
 *   --db ENGINE        BENCH_DB           mariadb (default) or postgres: the server the coordinator
 *                                        (and with --flow orders, the services) run on
 *   --mysql-port N     BENCH_MYSQL_PORT   MariaDB port on 127.0.0.1, user root, no password (3306)
 *   --pg-port N        BENCH_PG_PORT      PostgreSQL port on 127.0.0.1, user postgres, no password
 *                                        (trust or a ~/.pgpass entry) (5432)
 *   --database NAME    BENCH_DATABASE     database to create and drop (tcc_bench)
 *   --keep-database    BENCH_KEEP_DATABASE=1  leave the database in place for inspection
 *   --coordinator-env K=V  (repeatable) extra environment for the coordinator, e.g. pool sizes
 *   --json-out FILE    BENCH_JSON_OUT     also write the JSON figures to FILE
 *   --profile          BENCH_PROFILE=1    run the coordinator under --cpu-prof (profile in
 *                                        .bench/profiles/) and print its 25 hottest functions
 *   --flow F           BENCH_FLOW         transactions (default: the two-branch transactions above)
 *                                        or orders: the whole order flow, POST /orders through the
 *                                        built order service, account service and coordinator, each
 *                                        on its own fresh database (bench/orders-flow.js)
 *
 * Both flows first print the machine's raw durable-commit rate on the chosen server: single-row
 * autocommit inserts over 32 connections for 2 s, so figures from different machines (and servers)
 * compare as ratios.
 *
 * Database counters per transaction: MariaDB, SHOW GLOBAL STATUS (the whole server); PostgreSQL,
 * pg_stat_database of the benchmark's database(s) (transactions, rows) and pg_stat_wal of the whole
 * server (WAL records, writes and wal_sync, the durable WAL flushes). Both also print one summary
 * line with the same keys: statements (Questions; not counted on PostgreSQL), commits (MariaDB
 * Handler_commit, which counts statement-level commits too, so it runs higher than PostgreSQL's
 * xact_commit), durable flushes (Innodb_os_log_fsyncs, or Innodb_data_fsyncs on MariaDB 10.8+ where
 * the former is gone; wal_sync) and rows written (Innodb_rows_*, or Handler_write/update/delete
 * when those are gone; tup_inserted + tup_updated + tup_deleted). The database server's CPU is
 * mariadbd's, or on PostgreSQL the postmaster's and all its backends'. On a server shared with
 * other clients both include some of their work.
 */
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const readline = require('node:readline');

const ROOT = path.resolve(__dirname, '..');
const COORDINATOR_MAIN = path.join(ROOT, 'dist/apps/coordinator/main.js');
const STUB = path.join(__dirname, 'participant-stub.js');
const { createGrpcDriver, GrpcTxError } = require('./grpc-driver');
const { openDatabase, ENGINES, RAW_CONNECTIONS } = require('./databases');
const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// Options

function usageError(message) {
  process.stderr.write(`bench: ${message}\nSee the header of bench/run.js for the options.\n`);
  process.exit(2);
}

function parseOptions(argv, env) {
  const o = {
    concurrency: env.BENCH_CONCURRENCY ?? '64',
    duration: env.BENCH_DURATION ?? '20',
    warmup: env.BENCH_WARMUP ?? '3',
    connections: env.BENCH_CONNECTIONS,
    transport: env.BENCH_TRANSPORT ?? 'http',
    timeoutMs: env.BENCH_TX_TIMEOUT_MS ?? '30000',
    redis: env.BENCH_REDIS === '1' || env.BENCH_REDIS === 'true',
    db: env.BENCH_DB ?? 'mariadb',
    mysqlPort: env.BENCH_MYSQL_PORT ?? '3306',
    pgPort: env.BENCH_PG_PORT ?? '5432',
    database: env.BENCH_DATABASE ?? 'tcc_bench',
    keepDatabase: env.BENCH_KEEP_DATABASE === '1' || env.BENCH_KEEP_DATABASE === 'true',
    coordinatorEnv: {},
    jsonOut: env.BENCH_JSON_OUT,
    profile: env.BENCH_PROFILE === '1' || env.BENCH_PROFILE === 'true',
    flow: env.BENCH_FLOW ?? 'transactions',
  };
  const valued = {
    '--concurrency': 'concurrency',
    '--duration': 'duration',
    '--warmup': 'warmup',
    '--connections': 'connections',
    '--transport': 'transport',
    '--timeout-ms': 'timeoutMs',
    '--db': 'db',
    '--mysql-port': 'mysqlPort',
    '--pg-port': 'pgPort',
    '--database': 'database',
    '--json-out': 'jsonOut',
    '--flow': 'flow',
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) usageError(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg in valued) o[valued[arg]] = next();
    else if (arg === '--redis') o.redis = true;
    else if (arg === '--keep-database') o.keepDatabase = true;
    else if (arg === '--profile') o.profile = true;
    else if (arg === '--coordinator-env') {
      const kv = next();
      const k = kv.indexOf('=');
      if (k <= 0) usageError(`--coordinator-env expects KEY=VALUE, got "${kv}"`);
      o.coordinatorEnv[kv.slice(0, k)] = kv.slice(k + 1);
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(fs.readFileSync(__filename, 'utf8').split('*/')[0] + '*/\n');
      process.exit(0);
    } else usageError(`unknown option "${argv[i]}"`);
  }

  const int = (name, min, max) => {
    const n = Number(o[name]);
    if (!Number.isInteger(n) || n < min || n > max) usageError(`${name} must be an integer from ${min} to ${max}, got "${o[name]}"`);
    o[name] = n;
  };
  const num = (name, min, max) => {
    const n = Number(o[name]);
    if (!Number.isFinite(n) || n < min || n > max) usageError(`${name} must be a number from ${min} to ${max} (seconds), got "${o[name]}"`);
    o[name] = n;
  };
  int('concurrency', 1, 4096);
  num('duration', 1, 3600);
  num('warmup', 0, 600);
  if (o.connections === undefined || o.connections === '') o.connections = o.concurrency;
  int('connections', 1, 4096);
  int('timeoutMs', 1000, 24 * 60 * 60 * 1000);
  int('mysqlPort', 1, 65535);
  int('pgPort', 1, 65535);
  if (!ENGINES.includes(o.db)) usageError(`--db ${o.db} is not supported: ${ENGINES.map((e) => `"${e}"`).join(' or ')}`);
  if (o.flow !== 'transactions' && o.flow !== 'orders') usageError(`--flow ${o.flow} is not supported: "transactions" or "orders"`);
  if (o.transport !== 'http' && o.transport !== 'grpc') {
    usageError(`--transport ${o.transport} is not supported: "http" or "grpc"`);
  }
  if (!/^[A-Za-z0-9_]{1,64}$/.test(o.database)) usageError(`--database must be 1-64 of [A-Za-z0-9_], got "${o.database}"`);
  // The orders flow appends _coordinator (12 characters); PostgreSQL names are at most 63 bytes.
  const longest = o.database.length + (o.flow === 'orders' ? '_coordinator'.length : 0);
  const maxName = o.db === 'postgres' ? 63 : 64;
  if (longest > maxName) usageError(`--database "${o.database}" is too long for ${o.db}${o.flow === 'orders' ? ' with the _coordinator suffix of --flow orders' : ''}: at most ${maxName} characters in all`);
  return o;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function log(line) {
  process.stderr.write(`[bench] ${line}\n`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Clock ticks of user + system CPU of a process, or null when /proc is not readable. */
function cpuTicks(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  } catch {
    return null;
  }
}

let clockTicksPerSecond = 100;
try {
  const out = require('node:child_process').execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(out.trim());
  if (Number.isFinite(n) && n > 0) clockTicksPerSecond = n;
} catch {
  // 100 is the value on every Linux this runs on.
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

const round = (n, digits = 2) => (n === null || n === undefined || !Number.isFinite(n) ? null : Number(n.toFixed(digits)));

/** Keeps the last lines of a child's output to show when it fails. */
function tail(stream, keep = 60) {
  const lines = [];
  readline.createInterface({ input: stream }).on('line', (line) => {
    lines.push(line);
    if (lines.length > keep) lines.shift();
  });
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Children: started here, stopped here by pid, whatever happens.

const children = new Set();

function startChild(name, args, env) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.benchName = name;
  child.output = tail(child.stderr);
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  child.exited.then(() => children.delete(child));
  children.add(child);
  return child;
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = sleep(10_000).then(() => 'timeout');
  if ((await Promise.race([child.exited, timer])) === 'timeout') {
    const last = [...(child.stdoutTail || []), ...child.output].slice(-20);
    log(`${child.benchName} (pid ${child.pid}) did not stop within 10 s of SIGTERM; sending SIGKILL${last.length ? `. Its last output:\n${last.join('\n')}` : ''}`);
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await Promise.race([child.exited, sleep(5_000)]);
  }
}

function runToCompletion(name, args, env, limitMs) {
  const child = startChild(name, args, env);
  const out = tail(child.stdout);
  child.stdin.end();
  const timer = setTimeout(() => {
    log(`${name} still running after ${limitMs / 1000} s; stopping it`);
    stopChild(child);
  }, limitMs);
  return child.exited.then(({ code, signal }) => {
    clearTimeout(timer);
    return { code, signal, output: [...out, ...child.output] };
  });
}

// ---------------------------------------------------------------------------------------------
// Load

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

// ---------------------------------------------------------------------------------------------

async function main() {
  const o = parseOptions(process.argv.slice(2), process.env);
  if (o.flow === 'orders') {
    return require('./orders-flow').run(o, {
      state, log, sleep, freePort, cpuTicks, clockTicksPerSecond, percentile, round, tail, startChild, stopChild, runToCompletion, formatSummary,
      openDatabase, printProfile, RAW_CONNECTIONS, ROOT, HOST,
    });
  }
  const { Pool } = require('undici');

  if (!fs.existsSync(COORDINATOR_MAIN)) {
    throw new Error(`${path.relative(ROOT, COORDINATOR_MAIN)} is missing: run "npm run build" first (npm run bench does)`);
  }
  // Whatever happens below, nothing outlives this bound.
  const hardLimitS = o.warmup + o.duration + 240;
  const hardLimit = setTimeout(() => {
    log(`still running after ${hardLimitS} s: giving up`);
    shutdown(1);
  }, hardLimitS * 1000);
  hardLimit.unref();

  const db = openDatabase(o.db, o);
  log(`node ${process.version}, ${os.cpus().length} CPUs; ${db.label} database ${o.database} on ${db.where}`);

  // 1. A fresh database.
  await db.connect();
  state.db = db;
  state.database = o.keepDatabase ? null : o.database;
  await db.create(o.database);
  const version = await db.version();
  const dbUrl = db.url(o.database);
  if (db.serverPid() === null) log(`${db.label}'s server process is not visible in /proc: its CPU time is not measured`);
  const rawCommitsPerSecond = await db.rawCommitRate(o.database);
  log(`raw durable-commit rate: ${rawCommitsPerSecond} single-row commits/s over ${RAW_CONNECTIONS} connections (${db.label} ${version})`);

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

  const profileDir = path.join(ROOT, '.bench', 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
  const nodeArgs = o.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
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
  state.pool = pool;
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
  state.grpcDriver = grpcDriver;
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
  state.pool = null;
  if (grpcDriver) grpcDriver.close();
  state.grpcDriver = null;

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

  const pad = (s, n = 34) => String(s).padEnd(n);
  const lines = [
    '',
    `TCC two-branch transactions over ${o.transport}: concurrency ${o.concurrency}, ${round(elapsedS, 1)} s measured after ${o.warmup} s warm-up`,
    `  ${pad('transactions completed')}${completed}`,
    `  ${pad('errors')}${errorCount}${warmupErrors ? ` (and ${warmupErrors} during warm-up)` : ''}`,
    `  ${pad('throughput')}${result.txPerSecond} tx/s`,
    `  ${pad('raw durable commits (machine)')}${rawCommitsPerSecond}/s single-row inserts over ${RAW_CONNECTIONS} connections (throughput / raw: ${round(result.txPerSecond / rawCommitsPerSecond, 3)})`,
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
  process.stdout.write(lines.join('\n') + '\n\n');
  const json = JSON.stringify(result);
  process.stdout.write(json + '\n');
  if (o.jsonOut) fs.writeFileSync(o.jsonOut, json + '\n');
  if (o.profile) {
    // The profile is written when the coordinator exits, so stop it now (gracefully) and read it.
    await stopChild(coordinator);
    printProfile(profileDir);
  }
  return completed > 0 ? 0 : 1;
}

/** `statements 12.1, commits 7, durable flushes 3.2, rows written 8` (n/a for what is not counted). */
function formatSummary(summary) {
  const names = { statements: 'statements', commits: 'commits', durableFlushes: 'durable flushes', rowsWritten: 'rows written' };
  return Object.entries(names)
    .map(([k, label]) => `${label} ${summary[k] ?? 'n/a'}`)
    .join(', ');
}

/** The hottest functions of a V8 .cpuprofile, by self time, to stderr. */
function printProfile(dir, name = 'coordinator') {
  let files = [];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    // no directory: no profile
  }
  if (files.length === 0) {
    log(`no CPU profile was written in ${dir} (did the ${name} exit cleanly on SIGTERM?)`);
    return;
  }
  const file = path.join(dir, files[0]);
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const interval = (prof.endTime - prof.startTime) / Math.max(1, prof.samples.length) / 1000; // ms per sample
  const self = new Map();
  let total = 0;
  for (const node of prof.nodes) {
    const cf = node.callFrame;
    const url = (cf.url || '').replace(/^file:\/\//, '').replace(ROOT + '/', '');
    const key = `${cf.functionName || '(anonymous)'}  ${url}${url ? `:${cf.lineNumber + 1}` : ''}`;
    const ms = (node.hitCount || 0) * interval;
    total += ms;
    self.set(key, (self.get(key) || 0) + ms);
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
  const lines = [`${name} CPU profile (${path.relative(ROOT, file)}), self time, whole run:`];
  for (const [k, ms] of top) lines.push(`  ${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${k}`);
  process.stderr.write(lines.join('\n') + '\n');
}

// ---------------------------------------------------------------------------------------------
// Clean-up, on every way out.

const state = { db: null, pool: null, database: null, databases: [] };
let shuttingDown = null;

function shutdown(code) {
  if (shuttingDown) return shuttingDown;
  shuttingDown = (async () => {
    if (state.pool) await state.pool.destroy().catch(() => {});
    if (state.grpcDriver) state.grpcDriver.close();
    await Promise.all([...children].map(stopChild));
    if (state.db) {
      for (const database of [state.database, ...(state.databases || [])].filter(Boolean)) {
        await state.db.drop(database).catch((err) => log(`could not drop ${database}: ${err.message}`));
      }
      await state.db.close();
    }
    process.exit(code);
  })();
  return shuttingDown;
}

process.on('SIGINT', () => {
  log('interrupted; stopping');
  shutdown(130);
});
process.on('SIGTERM', () => {
  log('terminated; stopping');
  shutdown(143);
});
// Last resort if this process dies some other way: children go down with it.
process.on('exit', () => {
  for (const child of children) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

main().then(
  (code) => shutdown(code),
  (err) => {
    log(`failed: ${err && err.stack ? err.stack : err}`);
    shutdown(1);
  },
);
