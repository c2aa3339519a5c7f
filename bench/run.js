#!/usr/bin/env node
/**
 * `npm run bench`: throughput and cost of TCC transactions, sagas and reliable messages through
 * the coordinator.
 *
 * Creates a fresh database (MariaDB, or PostgreSQL with --db postgres), applies the coordinator's
 * migrations, starts the built coordinator (dist/apps/coordinator/main.js) and a participant stub as
 * two child processes, then drives closed-loop load from this process, one mode after the other
 * (--modes), against the same coordinator and database, each virtual user running one operation
 * after another (bench/modes.js):
 *   tcc      begin -> register b1 -> register b2 -> commit {wait: true}, expecting COMMITTED
 *   saga     POST /v1/sagas with two http steps (action and compensate on the stub), wait: true,
 *            expecting 201 COMMITTED
 *   message  POST /v1/messages with a fresh gid and two http steps (delivered to the stub),
 *            expecting 201 PREPARED, then POST /v1/messages/:gid/submit {wait: true}, expecting
 *            200 COMMITTED
 * For each mode, after its own warm-up, it measures its own window (the same warm-up, duration and
 * concurrency for every mode) and prints throughput, latency of the whole operation (p50, p90, p95,
 * p99, max), the database server's own counters per operation, the CPU time of each process (the
 * database server's included) and a check that the stub received the two participant calls (confirms,
 * actions, deliveries) of every committed operation; then a summary line and one JSON line with
 * every mode's figures (under "tcc", "saga", "message"); it exits 1 when a mode completed nothing
 * or its check failed. Talks to 127.0.0.1 only; bounded in time; stops its children and drops its database at the end, on error and on
 * SIGINT / SIGTERM. This file parses the options, picks the flow and cleans up; the flows are
 * bench/transactions-flow.js and bench/orders-flow.js, beside the machine's raw commit rate
 * (bench/raw-commits.js), --profile (bench/profile.js), the printing (bench/report.js), what they
 * share (bench/harness.js) and the database-specific parts (bench/databases.js).
 *
 * Options (flag, or environment variable):
 *   --concurrency N    BENCH_CONCURRENCY  virtual users, each with one operation in flight (64)
 *   --duration S       BENCH_DURATION     measured window in seconds (20)
 *   --warmup S         BENCH_WARMUP       load before the window, not counted (3)
 *   --connections N    BENCH_CONNECTIONS  HTTP connections to the coordinator (= concurrency)
 *   --modes LIST       BENCH_MODES        which of tcc,saga,message to measure, comma-separated
 *                                        (all three); they always run in that order, each in its
 *                                        own window. Only for the default flow (--flow orders
 *                                        ignores it)
 *   --transport T      BENCH_TRANSPORT    http | grpc (the coordinator API the load uses, in every
 *                                        mode: Begin/RegisterBranch/Commit, StartSaga,
 *                                        PrepareMessage/SubmitMessage; participants stay HTTP)
 *   --timeout-ms N     BENCH_TX_TIMEOUT_MS  timeoutMs of each transaction, saga and message (30000)
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
 *   --flow F           BENCH_FLOW         transactions (default: the modes above)
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
const fs = require('node:fs');

const { ENGINES, openDatabase } = require('./databases');
const { MODE_NAMES } = require('./modes');
const harness = require('./harness');
const { children, log, stopChild } = harness;
const { printProfile } = require('./profile');
const { formatSummary } = require('./report');

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
    modes: env.BENCH_MODES ?? MODE_NAMES.join(','),
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
    '--modes': 'modes',
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
  const modes = String(o.modes)
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const unknown = modes.filter((m) => !MODE_NAMES.includes(m));
  if (unknown.length || modes.length === 0) {
    usageError(`--modes must list one or more of ${MODE_NAMES.join(',')} (comma-separated), got "${o.modes}"`);
  }
  o.modes = MODE_NAMES.filter((m) => modes.includes(m));
  if (!/^[A-Za-z0-9_]{1,64}$/.test(o.database)) usageError(`--database must be 1-64 of [A-Za-z0-9_], got "${o.database}"`);
  // The orders flow appends _coordinator (12 characters); PostgreSQL names are at most 63 bytes.
  const longest = o.database.length + (o.flow === 'orders' ? '_coordinator'.length : 0);
  const maxName = o.db === 'postgres' ? 63 : 64;
  if (longest > maxName) usageError(`--database "${o.database}" is too long for ${o.db}${o.flow === 'orders' ? ' with the _coordinator suffix of --flow orders' : ''}: at most ${maxName} characters in all`);
  return o;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const o = parseOptions(process.argv.slice(2), process.env);
  if (o.flow === 'orders') {
    return require('./orders-flow').run(o, { ...harness, state, formatSummary, openDatabase, printProfile });
  }
  return require('./transactions-flow').run(o, { state, shutdown });
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
