#!/usr/bin/env node
/**
 * Runs `npm ci` when the dependencies are not installed yet, so `npm start` and `npm test` are
 * the only two commands a fresh clone needs. Does nothing when node_modules matches the lockfile.
 */
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  console.log('[setup] dependencies are not installed: running npm ci (better-sqlite3 compiles: about a minute)');
  const run = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
