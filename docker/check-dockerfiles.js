#!/usr/bin/env node
/**
 * No Docker engine runs in CI, so this checks each docker/<app>.Dockerfile against the repository
 * instead: the app is a Nest project, the files it COPYs from the build context exist and are not
 * excluded by .dockerignore, the CMD starts dist/apps/<app>/main.js and that file was built (CI runs
 * this after `npm test`, which builds every app with the same `nest build`), and the EXPOSEd ports
 * are the documented ones. Exit 1 with one line per problem.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const expectedPorts = { coordinator: ['7070', '7071'], 'account-service': ['7080', '7081'], 'order-service': ['7090'] };
const requireBuilt = !process.argv.includes('--no-dist');

const nestCli = JSON.parse(fs.readFileSync(path.join(root, 'nest-cli.json'), 'utf8'));
const ignored = fs.existsSync(path.join(root, '.dockerignore'))
  ? fs
      .readFileSync(path.join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
  : [];

/** Joins backslash-continued lines and drops comments, like the Dockerfile parser. */
function instructions(text) {
  const out = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (!current && /^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      continue;
    }
    current += line;
    if (current.trim()) {
      const m = /^\s*(\w+)\s+(.*)$/.exec(current.trim());
      if (m) out.push({ op: m[1].toUpperCase(), args: m[2].trim() });
    }
    current = '';
  }
  return out;
}

const problems = [];
const dockerfiles = fs.readdirSync(__dirname).filter((f) => f.endsWith('.Dockerfile'));
if (dockerfiles.length === 0) problems.push('no docker/*.Dockerfile found');

for (const file of dockerfiles) {
  const app = file.replace(/\.Dockerfile$/, '');
  const where = `docker/${file}`;
  const steps = instructions(fs.readFileSync(path.join(__dirname, file), 'utf8'));
  const project = nestCli.projects && nestCli.projects[app];
  if (!project || project.type !== 'application') problems.push(`${where}: "${app}" is not an application in nest-cli.json`);

  const froms = steps.filter((s) => s.op === 'FROM');
  if (froms.length < 2) problems.push(`${where}: expected a multi-stage build (${froms.length} FROM)`);
  if (!froms.every((s) => /^node:20(-slim)?\b/.test(s.args))) problems.push(`${where}: every stage should be node:20-slim`);

  const builds = steps.filter((s) => s.op === 'RUN' && /nest build/.test(s.args));
  if (!builds.some((s) => new RegExp(`nest build ${app}(\\s|$)`).test(s.args))) problems.push(`${where}: no "nest build ${app}" step`);

  for (const copy of steps.filter((s) => s.op === 'COPY' && !/--from=/.test(s.args))) {
    const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith('--'));
    for (const src of parts.slice(0, -1)) {
      if (!fs.existsSync(path.join(root, src))) problems.push(`${where}: COPY source "${src}" does not exist`);
      const top = src.replace(/^\.\//, '').split('/')[0];
      if (ignored.includes(top)) problems.push(`${where}: COPY source "${src}" is excluded by .dockerignore`);
    }
  }

  const users = steps.filter((s) => s.op === 'USER');
  const lastUser = users.length ? users[users.length - 1].args : 'root';
  if (lastUser === 'root' || lastUser === '0') problems.push(`${where}: the runtime stage must not run as root`);

  const exposed = steps.filter((s) => s.op === 'EXPOSE').flatMap((s) => s.args.split(/\s+/));
  const want = expectedPorts[app];
  if (want && want.join(' ') !== exposed.join(' ')) problems.push(`${where}: EXPOSE ${exposed.join(' ')}, expected ${want.join(' ')}`);

  const cmd = steps.filter((s) => s.op === 'CMD').pop();
  const entry = `dist/apps/${app}/main.js`;
  let argv = [];
  try {
    argv = cmd ? JSON.parse(cmd.args) : [];
  } catch {
    problems.push(`${where}: CMD should be in exec (JSON) form`);
  }
  if (argv[0] !== 'node' || argv[1] !== entry) problems.push(`${where}: CMD should be ["node", "${entry}"]`);
  if (requireBuilt && !fs.existsSync(path.join(root, entry))) problems.push(`${where}: ${entry} was not built (run npm run build first)`);
}

if (problems.length) {
  for (const p of problems) console.error(`check-dockerfiles: ${p}`);
  process.exit(1);
}
console.log(`check-dockerfiles: ${dockerfiles.length} Dockerfiles match the repository`);
