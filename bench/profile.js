'use strict';
/**
 * --profile: the processes under test run with --cpu-prof into .bench/profiles/<time>/, and after
 * the run their hottest functions by self time are printed to stderr.
 */
const fs = require('node:fs');
const path = require('node:path');
const { ROOT, log } = require('./harness');

/** A fresh folder name for this run's profiles (created by node when it writes one). */
function newProfileDir() {
  return path.join(ROOT, '.bench', 'profiles', new Date().toISOString().replace(/[:.]/g, '-'));
}

/** node's arguments for a process profiled into `dir`; none without --profile. */
function profileArgs(o, dir) {
  return o.profile ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
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

module.exports = { newProfileDir, profileArgs, printProfile };
