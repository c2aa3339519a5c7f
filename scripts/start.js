#!/usr/bin/env node
/**
 * `npm start`: runs the coordinator and the example services together, each on its embedded
 * database unless its *_DB_URL is set. Output is prefixed with the app's name; Ctrl-C (or
 * SIGTERM) stops them all, and if one exits the others are stopped too.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const readline = require('node:readline');
const { APPS, entryOf, root } = require('./apps');

const children = new Map();
let stopping = false;

function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children.values()) child.kill('SIGTERM');
  const force = setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
    process.exit(code);
  }, 10_000);
  force.unref();
  const check = setInterval(() => {
    if (children.size === 0) {
      clearInterval(check);
      process.exit(code);
    }
  }, 100);
}

for (const app of APPS) {
  const entry = entryOf(app);
  if (!fs.existsSync(entry)) {
    console.error(`[start] ${entry} is missing: run npm run build`);
    process.exit(1);
  }
  const child = spawn(process.execPath, [entry], { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.set(app.name, child);
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => console.log(`[${app.name}] ${line}`));
  }
  child.on('exit', (code, signal) => {
    children.delete(app.name);
    if (!stopping) {
      console.error(`[start] ${app.name} exited (${signal ?? code}); stopping the others`);
      stopAll(code || 1);
    }
  });
}

process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
