#!/usr/bin/env node
/**
 * No Docker engine runs in CI, so this checks each docker/<app>.Dockerfile against the repository
 * instead: the app is a Nest project, the files it COPYs from the build context exist and are not
 * excluded by .dockerignore, the CMD starts dist/apps/<app>/main.js and that file was built (CI runs
 * this after `npm test`, which builds every app with the same `nest build`), and the EXPOSEd ports
 * are the documented ones; and the build steps of `npm run build` beyond `nest build` (copying the
 * .proto files) are in every Dockerfile too.
 *
 * With --start it also runs each image's commands outside Docker, as compose would: the migration
 * command, then the CMD on the embedded SQLite store in a temporary folder and on free loopback
 * ports, until the image's own HEALTHCHECK command passes. Exit 1 with one line per problem.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const expectedPorts = { coordinator: ['7070', '7071'], 'account-service': ['7080', '7081'], 'order-service': ['7090'] };
const requireBuilt = !process.argv.includes('--no-dist');
const startApps = process.argv.includes('--start');

// Post-build steps of `npm run build`, e.g. `node scripts/copy-assets.js`: an image needs them too.
// `npm run build:client` builds the publishable client package; the apps bundle the library's
// sources themselves, so an image does not need it.
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const postBuild = String((pkg.scripts && pkg.scripts.build) || '')
  .split('&&')
  .map((c) => c.trim())
  .filter((c) => c && !/^nest build\b/.test(c) && c !== 'npm run build:client');

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
const apps = [];
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

  const runs = steps.filter((s) => s.op === 'RUN').map((s) => s.args);
  for (const cmd of postBuild) {
    if (!runs.some((r) => r.includes(cmd))) problems.push(`${where}: npm run build also runs "${cmd}", the Dockerfile does not`);
  }

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

  const health = steps.filter((s) => s.op === 'HEALTHCHECK').pop();
  let healthArgv = null;
  try {
    healthArgv = health ? JSON.parse(health.args.slice(health.args.indexOf('CMD') + 3).trim()) : null;
  } catch {
    problems.push(`${where}: HEALTHCHECK CMD should be in exec (JSON) form`);
  }
  if (!health) problems.push(`${where}: no HEALTHCHECK`);
  apps.push({ app, where, argv, healthArgv, port: exposed[0] });
}

// ---- --start: the image's commands, outside Docker ------------------------------------------
const { spawn, spawnSync } = require('node:child_process');
const net = require('node:net');
const os = require('node:os');

// Settings of each app that put it on a loopback port and a private SQLite file.
const startEnv = {
  coordinator: (dir, [http, grpc]) => ({
    TCC_HOST: '127.0.0.1', TCC_HTTP_PORT: http, TCC_GRPC_PORT: grpc, TCC_SQLITE_PATH: path.join(dir, 'tcc.sqlite'), TCC_LOG_LEVEL: 'warn',
  }),
  'account-service': (dir, [http, grpc]) => ({
    ACCOUNT_HOST: '127.0.0.1', ACCOUNT_HTTP_PORT: http, ACCOUNT_GRPC_PORT: grpc, ACCOUNT_SQLITE_PATH: path.join(dir, 'account.sqlite'), ACCOUNT_LOG_LEVEL: 'warn',
  }),
  'order-service': (dir, [http]) => ({
    ORDER_HOST: '127.0.0.1', ORDER_HTTP_PORT: http, ORDER_SQLITE_PATH: path.join(dir, 'order.sqlite'), ORDER_LOG_LEVEL: 'warn',
  }),
};

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(String(port)));
    });
  });
}

async function startCheck({ app, where, argv, healthArgv, port }) {
  if (!startEnv[app] || !healthArgv) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tcc-${app}-`));
  const ports = [await freePort(), await freePort()];
  const env = { ...process.env, NODE_ENV: 'production', ...startEnv[app](dir, ports) };
  for (const k of Object.keys(env)) if (/_DB_URL$|^TCC_REDIS_URL$/.test(k)) delete env[k];
  try {
    const migrate = spawnSync(argv[0] === 'node' ? process.execPath : argv[0], [...argv.slice(1), 'migrate'], {
      cwd: root, env, encoding: 'utf8', timeout: 60_000,
    });
    if (migrate.status !== 0) {
      problems.push(`${where}: "${argv.join(' ')} migrate" exited with ${migrate.status ?? migrate.signal}: ${(migrate.stderr || migrate.stdout).trim().slice(-800)}`);
      return;
    }
    const child = spawn(process.execPath, argv.slice(1), { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
    const probe = healthArgv.map((a) => a.split(`127.0.0.1:${port}`).join(`127.0.0.1:${ports[0]}`));
    const started = Date.now();
    let healthy = false;
    while (!healthy && Date.now() - started < 45_000 && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 500));
      healthy = spawnSync(probe[0] === 'node' ? process.execPath : probe[0], probe.slice(1), { timeout: 5000 }).status === 0;
    }
    const exitCode = child.exitCode;
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    if (healthy) console.log(`check-dockerfiles: ${app} migrated, started and passed its HEALTHCHECK in ${Date.now() - started} ms`);
    else problems.push(`${where}: the CMD ${exitCode !== null ? `exited with ${exitCode}` : 'did not pass its HEALTHCHECK within 45 s'}: ${stderr.trim().slice(-800)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

(async () => {
  if (startApps && problems.length === 0) for (const a of apps) await startCheck(a);
  if (problems.length) {
    for (const p of problems) console.error(`check-dockerfiles: ${p}`);
    process.exit(1);
  }
  console.log(`check-dockerfiles: ${dockerfiles.length} Dockerfiles match the repository${startApps ? ', and their commands run' : ''}`);
})();
