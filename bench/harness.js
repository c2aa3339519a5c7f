'use strict';
/**
 * What every flow of the benchmark shares: loopback ports, CPU time from /proc, percentiles, and
 * the child processes, started here and stopped here by pid, whatever happens (bench/run.js stops
 * whatever is left on its way out).
 */
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.resolve(__dirname, '..');
const HOST = '127.0.0.1';

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
  const out = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
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

module.exports = {
  ROOT,
  HOST,
  sleep,
  log,
  freePort,
  cpuTicks,
  clockTicksPerSecond,
  percentile,
  round,
  tail,
  children,
  startChild,
  stopChild,
  runToCompletion,
};
