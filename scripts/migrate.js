#!/usr/bin/env node
/**
 * `npm run migration:run`: applies each app's migrations to whichever of TCC_DB_URL,
 * ACCOUNT_DB_URL and ORDER_DB_URL are set (each app's `main.js migrate`). The embedded SQLite
 * files need no step: the apps migrate them when they start.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const { APPS, entryOf, root } = require('./apps');

const targets = APPS.filter((app) => process.env[app.dbVar]);
if (targets.length === 0) {
  console.log(`none of ${APPS.map((a) => a.dbVar).join(', ')} is set: nothing to migrate (the embedded databases migrate on start)`);
  process.exit(0);
}
if (targets.some((app) => !fs.existsSync(entryOf(app)))) {
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
for (const app of targets) {
  console.log(`${app.name}: migrating ${process.env[app.dbVar].replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')}`);
  const run = spawnSync(process.execPath, [entryOf(app), 'migrate'], { cwd: root, stdio: 'inherit', env: process.env });
  if (run.status !== 0) {
    console.error(`${app.name}: migration failed`);
    process.exit(run.status ?? 1);
  }
}
