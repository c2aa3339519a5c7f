'use strict';
/**
 * `npm run bench -- --flow orders`: the whole order flow. The built coordinator, account service and
 * order service run as three child processes, each on its own fresh database (<database>_coordinator,
 * _account, _order) on MariaDB or, with --db postgres, PostgreSQL; accounts are opened with large
 * balances, one per virtual buyer; each buyer places orders back to back (POST /orders, expecting
 * 201 PAID). After a warm-up it measures a window and prints paid orders/s, latency percentiles,
 * the CPU time per order of every process (the database server's included) and the database
 * server's counters per order (bench/databases.js), then one JSON line. Loopback only, bounded in
 * time; children stopped by pid and databases dropped at the end (see run.js).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { newProfileDir, profileArgs } = require('./profile');
const { measureRawCommits, rawCommitsLine } = require('./raw-commits');
const { pad, printReport } = require('./report');

/** The order service authenticates to the coordinator with one named API key, as in a deployment. */
const ORDERS_API_KEY = 'bench-orders-api-key-0123456789';

async function waitReady(h, child, origin, name) {
  const started = performance.now();
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited during start-up (${child.exitCode ?? child.signalCode}):\n${child.output.join('\n')}`);
    }
    try {
      const res = await fetch(`${origin}/health/ready`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return Math.round(performance.now() - started);
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 60_000) throw new Error(`${name} was not ready within 60 s:\n${child.output.join('\n')}`);
    await h.sleep(200);
  }
}

async function run(o, h) {
  const { Pool } = require('undici');
  const apps = {
    coordinator: path.join(h.ROOT, 'dist/apps/coordinator/main.js'),
    account: path.join(h.ROOT, 'dist/apps/account-service/main.js'),
    order: path.join(h.ROOT, 'dist/apps/order-service/main.js'),
  };
  for (const main of Object.values(apps)) {
    if (!fs.existsSync(main)) throw new Error(`${path.relative(h.ROOT, main)} is missing: run "npm run build" first (npm run bench does)`);
  }
  const hardLimitS = o.warmup + o.duration + 300;
  setTimeout(() => {
    h.log(`still running after ${hardLimitS} s: giving up`);
    process.kill(process.pid, 'SIGTERM');
  }, hardLimitS * 1000).unref();

  // 1. Three fresh databases.
  const db = h.openDatabase(o.db, o);
  h.log(`node ${process.version}, ${os.cpus().length} CPUs; ${db.label} on ${db.where}`);
  await db.connect();
  h.state.db = db;
  const names = { coordinator: `${o.database}_coordinator`, account: `${o.database}_account`, order: `${o.database}_order` };
  if (!o.keepDatabase) h.state.databases.push(...Object.values(names));
  for (const name of Object.values(names)) await db.create(name);
  const version = await db.version();
  if (db.serverPid() === null) h.log(`${db.label}'s server process is not visible in /proc: its CPU time is not measured`);
  const rawCommitsPerSecond = await measureRawCommits(db, names.coordinator, version);

  // 2. The three services, on loopback and free ports, migrating their own databases at start.
  const baseEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(TCC_|ACCOUNT_|ORDER_)/.test(k)) baseEnv[k] = v;
  const url = (name) => db.url(name);
  const ports = { coordinator: await h.freePort(), coordinatorGrpc: await h.freePort(), account: await h.freePort(), accountGrpc: await h.freePort(), order: await h.freePort() };
  const origin = (port) => `http://${h.HOST}:${port}`;
  const env = {
    coordinator: {
      ...baseEnv,
      NODE_ENV: 'production',
      TCC_DB_URL: url(names.coordinator),
      TCC_MIGRATE_ON_START: 'true',
      TCC_HOST: h.HOST,
      TCC_HTTP_PORT: String(ports.coordinator),
      TCC_GRPC_PORT: String(ports.coordinatorGrpc),
      TCC_ALLOWED_TARGETS: `${h.HOST}:*`,
      TCC_LOG_LEVEL: 'warn',
      TCC_API_KEYS: `orders=${ORDERS_API_KEY}`,
      ...(o.redis ? { TCC_REDIS_URL: `redis://${h.HOST}:6379` } : {}),
      ...o.coordinatorEnv,
    },
    account: {
      ...baseEnv,
      NODE_ENV: 'production',
      ACCOUNT_DB_URL: url(names.account),
      ACCOUNT_MIGRATE_ON_START: 'true',
      ACCOUNT_HOST: h.HOST,
      ACCOUNT_HTTP_PORT: String(ports.account),
      ACCOUNT_GRPC_PORT: String(ports.accountGrpc),
      ACCOUNT_LOG_LEVEL: 'warn',
    },
    order: {
      ...baseEnv,
      NODE_ENV: 'production',
      ORDER_DB_URL: url(names.order),
      ORDER_MIGRATE_ON_START: 'true',
      ORDER_HOST: h.HOST,
      ORDER_HTTP_PORT: String(ports.order),
      ORDER_LOG_LEVEL: 'warn',
      TCC_COORDINATOR_URL: origin(ports.coordinator),
      TCC_API_KEY: ORDERS_API_KEY,
      ACCOUNT_SERVICE_URL: origin(ports.account),
    },
  };
  const profileDir = newProfileDir();
  const nodeArgs = (name) => profileArgs(o, path.join(profileDir, name));
  const children = {};
  for (const name of ['coordinator', 'account', 'order']) {
    children[name] = h.startChild(name, [...nodeArgs(name), apps[name]], env[name]);
    children[name].stdoutTail = h.tail(children[name].stdout);
    const ms = await waitReady(h, children[name], origin(ports[name]), name);
    h.log(`${name} ready in ${ms} ms (pid ${children[name].pid})`);
  }

  // 3. Accounts with large balances, one per buyer.
  const accounts = Array.from({ length: o.concurrency }, (_, i) => `buyer-${i}`);
  for (const id of accounts) {
    const res = await fetch(`${origin(ports.account)}/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, balance: 1_000_000_000_000 }),
    });
    await res.arrayBuffer();
    if (res.status !== 201) throw new Error(`opening account ${id} answered ${res.status}`);
  }

  // 4. Load: each buyer places orders back to back.
  const counted = Object.values(names);
  const pool = new Pool(origin(ports.order), { connections: o.connections, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
  h.state.pool = pool;
  const latencies = [];
  const errors = new Map();
  let paid = 0;
  let measuring = null;
  let stopping = false;
  const buyer = async (accountId) => {
    while (!stopping) {
      const started = performance.now();
      let ok = false;
      let key = '';
      try {
        const res = await pool.request({ method: 'POST', path: '/orders', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId, amount: 1 }) });
        const body = await res.body.json().catch(() => undefined);
        ok = res.statusCode === 201 && body && body.status === 'PAID';
        if (!ok) key = `HTTP ${res.statusCode} ${body && (body.reason || body.message || body.status)}`;
      } catch (err) {
        key = err.code || err.message;
      }
      const ended = performance.now();
      const inWindow = measuring && ended >= measuring.start && ended <= measuring.end;
      if (ok) {
        paid++;
        if (inWindow) latencies.push(ended - started);
      } else {
        if (inWindow) errors.set(key, (errors.get(key) || 0) + 1);
        await h.sleep(10);
      }
    }
  };
  h.log(`load: ${o.concurrency} buyers over ${o.connections} connections to the order service; warm-up ${o.warmup} s, measuring ${o.duration} s`);
  const buyers = accounts.map(buyer);
  await h.sleep(o.warmup * 1000);
  const pids = { coordinator: children.coordinator.pid, accountService: children.account.pid, orderService: children.order.pid };
  const cpuOf = () => ({ ...Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, h.cpuTicks(pid)])), database: db.cpuTicks() });
  const before = await db.counters(counted);
  const cpuBefore = cpuOf();
  const driverBefore = process.cpuUsage();
  measuring = { start: performance.now(), end: Infinity };
  await h.sleep(o.duration * 1000);
  measuring.end = performance.now();
  const cpuAfter = cpuOf();
  const after = await db.counters(counted);
  const driverCpu = process.cpuUsage(driverBefore);
  const elapsedS = (measuring.end - measuring.start) / 1000;
  stopping = true;
  await Promise.race([Promise.all(buyers), h.sleep(o.timeoutMs + 15_000)]);
  await pool.close().catch(() => {});
  h.state.pool = null;

  // 5. Sanity: the books balance (every account's balance + frozen agrees with its PAID orders).
  // One query per database: PostgreSQL has no cross-database queries.
  const [orderBooks] = await db.query(names.order, "SELECT COUNT(*) AS paid_orders FROM orders WHERE status = 'PAID'");
  const [accountBooks] = await db.query(
    names.account,
    'SELECT COALESCE(SUM(1000000000000 - balance), 0) AS deducted, COALESCE(SUM(frozen), 0) AS frozen FROM accounts',
  );
  const books = { ...orderBooks, ...accountBooks };

  // 6. Figures.
  latencies.sort((a, b) => a - b);
  const completed = latencies.length;
  const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
  const delta = db.counterDelta(before, after);
  const perOrder = Object.fromEntries(Object.entries(delta).map(([k, v]) => [k, completed ? h.round(v / completed, 2) : null]));
  const summary = Object.fromEntries(
    Object.entries(db.summary(delta)).map(([k, v]) => [k, completed && v !== null ? h.round(v / completed, 2) : null]),
  );
  const ms = (a, b) => (a === null || b === null || a === undefined || b === undefined ? null : ((b - a) * 1000) / h.clockTicksPerSecond);
  const cpu = Object.fromEntries(Object.keys(cpuBefore).map((k) => [k, ms(cpuBefore[k], cpuAfter[k])]));
  cpu.loadDriver = (driverCpu.user + driverCpu.system) / 1000;
  const result = {
    bench: 'tcc-orders-flow',
    at: new Date().toISOString(),
    node: process.version,
    database: { engine: db.engine, version },
    cpus: os.cpus().length,
    concurrency: o.concurrency,
    durationS: h.round(elapsedS, 3),
    rawCommitsPerSecond,
    paidOrders: completed,
    errors: errorCount,
    paidOrdersPerSecond: h.round(completed / elapsedS, 1),
    latencyMs: {
      p50: h.round(h.percentile(latencies, 50)),
      p90: h.round(h.percentile(latencies, 90)),
      p99: h.round(h.percentile(latencies, 99)),
      max: h.round(latencies[latencies.length - 1] ?? null),
    },
    cpuMsPerOrder: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, completed && v !== null ? h.round(v / completed, 3) : null])),
    databaseWorkPerOrder: summary,
    databasePerOrder: perOrder,
    books: { paidOrders: Number(books.paid_orders), deducted: Number(books.deducted), frozen: Number(books.frozen) },
    errorKinds: Object.fromEntries([...errors.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10)),
  };
  const lines = [
    '',
    `TCC order flow (order service -> coordinator + account service), ${o.concurrency} buyers, ${h.round(elapsedS, 1)} s measured after ${o.warmup} s warm-up`,
    `  ${pad('paid orders')}${completed}`,
    `  ${pad('errors')}${errorCount}`,
    `  ${pad('throughput')}${result.paidOrdersPerSecond} paid orders/s`,
    rawCommitsLine(pad, rawCommitsPerSecond, result.paidOrdersPerSecond),
    `  ${pad('latency (POST /orders)')}p50 ${result.latencyMs.p50} ms, p90 ${result.latencyMs.p90} ms, p99 ${result.latencyMs.p99} ms, max ${result.latencyMs.max} ms`,
    `  ${pad('database work per paid order')}${h.formatSummary(summary)}`,
    '',
    '  CPU time per paid order:',
    ...Object.entries(result.cpuMsPerOrder).map(([k, v]) => `    ${pad(k === 'database' ? `${k} (${db.engine})` : k, 30)}${v ?? 'n/a'} ms`),
    '',
    `  ${db.label} ${version} (all three databases), ${db.counterSource(counted)} per paid order:`,
    ...(db.counterNote ? [`    (${db.counterNote})`] : []),
    ...Object.entries(perOrder).map(([k, v]) => `    ${pad(k, 30)}${v}`),
    '',
    `  books: ${JSON.stringify(result.books)} (deducted = PAID orders x 1 when every order has settled)`,
  ];
  if (errors.size) lines.push('', '  errors by kind:', ...Object.entries(result.errorKinds).map(([k, v]) => `    ${v} x ${k}`));
  printReport(lines, result, o.jsonOut);
  if (o.profile) {
    for (const name of ['order', 'account', 'coordinator']) {
      await h.stopChild(children[name]);
      h.printProfile(path.join(profileDir, name), name === 'coordinator' ? name : `${name} service`);
    }
  }
  return completed > 0 ? 0 : 1;
}

module.exports = { run };
