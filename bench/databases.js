'use strict';
/**
 * The database-specific parts of the benchmark (bench/transactions-flow.js, bench/orders-flow.js)
 * behind one small interface, with a MariaDB and a PostgreSQL implementation. Both talk to 127.0.0.1 only.
 *
 *   const db = openDatabase('mariadb' | 'postgres', { mysqlPort, pgPort });
 *   await db.connect()                 admin connection (and the server pid for CPU accounting)
 *   await db.create(name) / drop(name) a fresh database / drop it if it exists
 *   db.url(name)                       the URL the coordinator and the services are given
 *   await db.version()                 server version string
 *   db.serverPid()                     pid of mariadbd / the postmaster, or null when not on this machine
 *   db.cpuTicks()                      user + system CPU clock ticks of the whole server, or null
 *   await db.counters(names)           snapshot of the server's counters for databases `names`
 *   db.counterDelta(before, after)     { counter: after - before }, in db.counterNames order
 *   db.counterNote                     a caveat to print with the counters, or null
 *   db.summary(delta)                  { commits, durableFlushes, rowsWritten, statements } of a delta
 *   db.idleNote(idlePerSecond)         a warning line when the server is busy with no load, or null
 *   await db.query(name, sql)          rows of one statement run in database `name`
 *   await db.rawCommitRate(name)       single-row autocommit inserts/s over 32 connections for 2 s
 *   await db.close()
 *
 * MariaDB: one mariadbd process (its pid from @@pid_file); counters from SHOW GLOBAL STATUS, which
 * are the whole server's. PostgreSQL: a process per connection, so the CPU is that of the postmaster
 * (pid from <data_directory>/postmaster.pid), of every live child of it and of the children it has
 * already reaped (its cutime + cstime); counters from pg_stat_database for the benchmark's own
 * databases (transactions, rows) and pg_stat_wal for the whole server (WAL records, writes, flushes:
 * wal_sync is the number of durable WAL flushes, what Innodb_os_log_fsyncs is on MariaDB).
 */
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');

const HOST = '127.0.0.1';

// Counters read from SHOW GLOBAL STATUS, reported per committed transaction.
const MARIADB_COUNTERS = [
  'Handler_commit',
  'Com_commit',
  'Com_insert',
  'Com_update',
  'Com_select',
  'Com_delete',
  'Com_insert_select',
  'Com_replace',
  'Com_begin',
  'Com_rollback',
  'Com_stmt_prepare',
  'Com_stmt_execute',
  'Questions',
  'Innodb_os_log_fsyncs',
  'Innodb_data_fsyncs',
  'Innodb_log_writes',
  'Innodb_rows_inserted',
  'Innodb_rows_updated',
  'Innodb_rows_deleted',
  'Innodb_rows_read',
  'Handler_write',
  'Handler_update',
  'Handler_delete',
];

// pg_stat_database, summed over the benchmark's databases.
const PG_DATABASE_COUNTERS = ['xact_commit', 'xact_rollback', 'tup_inserted', 'tup_updated', 'tup_deleted', 'tup_fetched', 'tup_returned'];
// pg_stat_wal: the whole server.
const PG_WAL_COUNTERS = ['wal_records', 'wal_fpi', 'wal_bytes', 'wal_write', 'wal_sync'];

const RAW_CONNECTIONS = 32;
const RAW_SECONDS = 2;

/** Fields of /proc/<pid>/stat after the command name (field 3, "state", is index 0), or null. */
function procStat(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime + stime (fields 14, 15) of a process, and with `children` its reaped children's (16, 17). */
function ticksOf(fields, children = false) {
  const own = Number(fields[11]) + Number(fields[12]);
  return children ? own + Number(fields[13]) + Number(fields[14]) : own;
}

function delta(names, before, after) {
  const d = {};
  for (const name of names) {
    if (before[name] === undefined || after[name] === undefined) continue;
    d[name] = Number(after[name]) - Number(before[name]);
  }
  return d;
}

const sum = (d, names) => (names.every((n) => d[n] === undefined) ? null : names.reduce((a, n) => a + (d[n] ?? 0), 0));

// ---------------------------------------------------------------------------------------------

function mariadb({ mysqlPort }) {
  const mysql = require('mysql2/promise');
  const connect = (database) => mysql.createConnection({ host: HOST, port: mysqlPort, user: 'root', database, connectTimeout: 5000 });
  let admin = null;
  let pid = null;
  return {
    engine: 'mariadb',
    label: 'MariaDB',
    where: `${HOST}:${mysqlPort}`,
    counterNames: MARIADB_COUNTERS,
    counterSource: () => 'SHOW GLOBAL STATUS (whole server)',
    counterNote: null,
    async connect() {
      admin = await connect();
      try {
        const [rows] = await admin.query('SELECT @@pid_file AS f');
        const p = Number(fs.readFileSync(rows[0].f, 'utf8').trim());
        pid = procStat(p) ? p : null;
      } catch {
        pid = null;
      }
    },
    url: (name) => `mysql://root@${HOST}:${mysqlPort}/${name}`,
    async create(name) {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    },
    async drop(name) {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
    },
    async version() {
      const [[row]] = await admin.query('SELECT VERSION() AS v');
      return row.v;
    },
    serverPid: () => pid,
    cpuTicks() {
      const f = pid && procStat(pid);
      return f ? ticksOf(f) : null;
    },
    async counters() {
      const [rows] = await admin.query('SHOW GLOBAL STATUS');
      const out = {};
      for (const row of rows) out[row.Variable_name] = row.Value;
      return out;
    },
    counterDelta: (before, after) => delta(MARIADB_COUNTERS, before, after),
    // MariaDB 10.8+ counts neither Innodb_os_log_fsyncs (its redo log fsyncs are in
    // Innodb_data_fsyncs, one per durable commit group with innodb_flush_log_at_trx_commit=1, beside
    // the few of data files) nor Innodb_rows_*: then Innodb_data_fsyncs and Handler_* stand in.
    summary: (d) => ({
      statements: d.Questions ?? null,
      commits: d.Handler_commit ?? null,
      durableFlushes: d.Innodb_os_log_fsyncs ?? d.Innodb_data_fsyncs ?? null,
      rowsWritten:
        sum(d, ['Innodb_rows_inserted', 'Innodb_rows_updated', 'Innodb_rows_deleted']) ??
        sum(d, ['Handler_write', 'Handler_update', 'Handler_delete']),
    }),
    idleNote: (idle) =>
      idle.Questions > 20
        ? `NOTE: MariaDB answered ${idle.Questions} questions/s with no load: other clients share this server, so the per-transaction counters include some of their work.`
        : null,
    async query(name, sql) {
      const conn = await connect(name);
      try {
        const [rows] = await conn.query(sql);
        return rows;
      } finally {
        await conn.end().catch(() => {});
      }
    },
    async rawCommitRate(name, connections = RAW_CONNECTIONS, seconds = RAW_SECONDS) {
      const pool = mysql.createPool({ host: HOST, port: mysqlPort, user: 'root', database: name, connectionLimit: connections });
      try {
        await pool.query('CREATE TABLE bench_raw_commits (id BIGINT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(32) NOT NULL) ENGINE=InnoDB');
        const commits = await insertLoop(connections, seconds, () => pool.execute('INSERT INTO bench_raw_commits (v) VALUES (?)', ['x']));
        await pool.query('DROP TABLE bench_raw_commits');
        return Math.round(commits / seconds);
      } finally {
        await pool.end();
      }
    },
    async close() {
      if (admin) await admin.end().catch(() => {});
      admin = null;
    },
  };
}

// ---------------------------------------------------------------------------------------------

function postgres({ pgPort }) {
  const pg = require('pg');
  const config = (database) => ({ host: HOST, port: pgPort, user: 'postgres', database, connectionTimeoutMillis: 5000 });
  const connect = async (database) => {
    const client = new pg.Client(config(database));
    client.on('error', () => {}); // a dropped connection shows up as the next query's error
    await client.connect();
    return client;
  };
  let admin = null;
  let postmaster = null;
  return {
    engine: 'postgres',
    label: 'PostgreSQL',
    where: `${HOST}:${pgPort}`,
    counterNames: [...PG_DATABASE_COUNTERS, ...PG_WAL_COUNTERS],
    counterSource: (names) => `pg_stat_database (${names.join(', ')}) and pg_stat_wal (whole server)`,
    counterNote: 'backends publish these about once a second: the deltas may be off by up to ~1 s of work (a few % over 20 s)',
    async connect() {
      admin = await connect('postgres');
      postmaster = await postmasterPid(admin);
    },
    url: (name) => `postgres://postgres@${HOST}:${pgPort}/${name}`,
    async create(name) {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      // template0: never busy (CREATE DATABASE fails while anyone is connected to its template);
      // C collation: byte order, as utf8mb4_bin on MariaDB.
      await admin.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
    },
    async drop(name) {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
    async version() {
      const { rows } = await admin.query('SHOW server_version');
      return rows[0].server_version;
    },
    serverPid: () => postmaster,
    cpuTicks() {
      if (!postmaster) return null;
      const pm = procStat(postmaster);
      if (!pm) return null;
      // Backends that exited and were reaped are in the postmaster's cutime + cstime.
      let ticks = ticksOf(pm, true);
      for (const pid of childrenOf(postmaster)) {
        const f = procStat(pid);
        if (f) ticks += ticksOf(f);
      }
      return ticks;
    },
    async counters(names) {
      // Each autocommit statement reads fresh statistics; clearing the snapshot makes sure. Backends
      // publish their counters when idle, at most once a second, so any snapshot lags the work by up
      // to ~1 s: under steady load, two snapshots lag alike and their delta spans a window of the
      // same length as the one measured.
      await admin.query('SELECT pg_stat_clear_snapshot()');
      const cols = PG_DATABASE_COUNTERS.map((c) => `COALESCE(SUM(${c}), 0)::text AS ${c}`).join(', ');
      const { rows: [db] } = await admin.query(`SELECT ${cols} FROM pg_stat_database WHERE datname = ANY($1)`, [names]);
      const { rows: [wal] } = await admin.query(`SELECT ${PG_WAL_COUNTERS.map((c) => `${c}::text AS ${c}`).join(', ')} FROM pg_stat_wal`);
      return { ...db, ...wal };
    },
    counterDelta: (before, after) => delta([...PG_DATABASE_COUNTERS, ...PG_WAL_COUNTERS], before, after),
    summary: (d) => ({
      statements: null, // not counted without pg_stat_statements
      commits: d.xact_commit ?? null,
      durableFlushes: d.wal_sync ?? null,
      rowsWritten: sum(d, ['tup_inserted', 'tup_updated', 'tup_deleted']),
    }),
    idleNote: (idle) =>
      idle.wal_records > 20
        ? `NOTE: PostgreSQL wrote ${idle.wal_records} WAL records/s with no load: other clients share this server, so the WAL counters (whole server) include some of their work.`
        : null,
    async query(name, sql) {
      const client = await connect(name);
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end().catch(() => {});
      }
    },
    async rawCommitRate(name, connections = RAW_CONNECTIONS, seconds = RAW_SECONDS) {
      const pool = new pg.Pool({ ...config(name), max: connections });
      pool.on('error', () => {});
      try {
        await pool.query('CREATE TABLE bench_raw_commits (id BIGSERIAL PRIMARY KEY, v VARCHAR(32) NOT NULL)');
        const insert = { name: 'bench_raw_insert', text: 'INSERT INTO bench_raw_commits (v) VALUES ($1)', values: ['x'] };
        const commits = await insertLoop(connections, seconds, () => pool.query(insert));
        await pool.query('DROP TABLE bench_raw_commits');
        return Math.round(commits / seconds);
      } finally {
        await pool.end();
      }
    },
    async close() {
      if (admin) await admin.end().catch(() => {});
      admin = null;
    },
  };
}

/**
 * The postmaster's pid: first line of <data_directory>/postmaster.pid, checked against this
 * session's backend (whose parent it must be: else the server is not on this machine's /proc, e.g.
 * in a container); failing the file, the parent of this session's backend. Null when neither works.
 */
async function postmasterPid(admin) {
  let backendParent = null;
  try {
    const { rows } = await admin.query('SELECT pg_backend_pid() AS pid');
    const f = procStat(rows[0].pid);
    if (f) backendParent = Number(f[1]);
  } catch {
    // no /proc entry: not a local server
  }
  if (backendParent === null) return null;
  try {
    const { rows } = await admin.query('SHOW data_directory');
    const pid = Number(fs.readFileSync(`${rows[0].data_directory}/postmaster.pid`, 'utf8').split('\n')[0].trim());
    if (pid === backendParent) return pid;
  } catch {
    // not readable by this user: the backend's parent will do
  }
  return procStat(backendParent) ? backendParent : null;
}

/** Pids whose parent is `ppid`, from /proc/<pid>/stat. */
function childrenOf(ppid) {
  const out = [];
  let entries;
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const f = procStat(entry);
    if (f && Number(f[1]) === ppid) out.push(Number(entry));
  }
  return out;
}

/** `connections` loops of `insert()` back to back for `seconds`; the number that completed. */
async function insertLoop(connections, seconds, insert) {
  let commits = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        await insert();
        commits++;
      }
    }),
  );
  return commits;
}

const ENGINES = { mariadb, postgres };

function openDatabase(engine, options) {
  if (!(engine in ENGINES)) throw new Error(`unknown database engine "${engine}"`);
  return ENGINES[engine](options);
}

module.exports = { openDatabase, ENGINES: Object.keys(ENGINES), RAW_CONNECTIONS, RAW_SECONDS, procStat, ticksOf };
