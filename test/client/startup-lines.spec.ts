/**
 * The start-up lines of the three built apps (README "Configuration"): one line per setting that
 * matters for reaching them and what they reach, each naming its source (the variable, or
 * `default` and the variable that changes it). A password in a database or Redis URL and the API
 * key are never printed. Real processes: the account service on PostgreSQL (trust authentication,
 * so the password in its URL is ignored by the server but must still be masked), the order service
 * and the coordinator on SQLite files, each started by the command of its `start:<app>` script.
 * Needs dist/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { trackChild } from '../support/children';
import { eventually } from '../support/wait';
import { createDatabase, type TestDatabase } from './support/databases';

const ROOT = resolve(__dirname, '../..');
const DB_PASSWORD = 'Db-Pa55word-never-printed';
const REDIS_PASSWORD = 'Redis-Pa55word-never-printed';
const BROKER_PASSWORD = 'Rabbit-Pa55word-never-printed';
const BROKER_TOKEN = 'Nats-T0ken-never-printed';
const API_KEY = 'api-key-never-printed-0123456789';

interface RunningApp {
  child: ChildProcess;
  url: string;
  output(): string;
  /** The `msg` of every Settings line so far. */
  settings(): string[];
}

/** Our environment without any app setting leaking in, plus `env`. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^(TCC|ACCOUNT|ORDER)_/.test(key)) out[key] = value;
  return { ...out, ...env };
}

const running: ChildProcess[] = [];

/** The command of `npm run start:<app>` (`node dist/apps/<app>/main.js`), its file resolved against the repository. */
function startScript(app: string): string[] {
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const [node, main, ...rest] = (scripts[`start:${app}`] ?? '').split(' ');
  expect({ app, node, main, rest }).toEqual({ app, node: 'node', main: `dist/apps/${app}/main.js`, rest: [] });
  return [join(ROOT, main)];
}

/** Runs the app as `npm run start:<app>` would (node directly, so the pid we signal is the app's). */
async function startApp(app: string, env: Record<string, string>, cwd = ROOT): Promise<RunningApp> {
  const child = spawn(process.execPath, startScript(app), { cwd, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  running.push(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const settings = (): string[] =>
    output.split('\n').flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as { context?: string; msg?: string };
        return parsed.context === 'Settings' && parsed.msg ? [parsed.msg] : [];
      } catch {
        return [];
      }
    });
  const url = await eventually(
    () => {
      if (child.exitCode !== null) throw new Error(`${app} exited ${child.exitCode}:\n${output}`);
      return /listening on (https?:\/\/[^\s)]+)/.exec(output)?.[1];
    },
    { timeoutMs: 45_000, what: `${app} to print its listening line` },
  );
  await eventually(() => settings().some((line) => line.startsWith('signing keys:')), { what: `${app}'s settings lines` });
  return { child, url, output: () => output, settings };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((done) => child.once('exit', done));
  process.kill(child.pid, 'SIGTERM');
  await exited;
}

const built = ['coordinator', 'account-service', 'order-service'].every((app) => existsSync(join(ROOT, 'dist/apps', app, 'main.js')));

(built ? describe : describe.skip)('start-up lines of the built apps', () => {
  let dir: string;
  let db: TestDatabase;

  beforeAll(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'tcc-startup-')));
    db = await createDatabase('startup', 'postgres');
  });

  afterAll(async () => {
    for (const child of running) await stop(child);
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('account and order service: their ports, database, coordinator and self URL, each with its source; no password, no key', async () => {
    const dbUrl = new URL(db.url);
    dbUrl.password = DB_PASSWORD;
    const account = await startApp('account-service', {
      ACCOUNT_HOST: '127.0.0.1',
      ACCOUNT_HTTP_PORT: '0',
      ACCOUNT_GRPC_PORT: '0',
      ACCOUNT_DB_URL: dbUrl.toString(),
      ACCOUNT_MIGRATE_ON_START: 'true',
    });
    const accountPort = new URL(account.url).port;
    expect(account.settings()).toEqual(
      expect.arrayContaining([
        'bind address: 127.0.0.1 (from ACCOUNT_HOST)',
        `HTTP port: ${accountPort} (from ACCOUNT_HTTP_PORT=0)`,
        expect.stringMatching(/^gRPC port \(the account-freeze participant\): \d+ \(from ACCOUNT_GRPC_PORT=0\)$/),
        `database: postgres://postgres:***@${dbUrl.host}/${db.name} (from ACCOUNT_DB_URL)`,
        'signing keys: none (calls unsigned) (default; set TCC_SIGNING_KEYS to change)',
      ]),
    );
    expect(account.output()).not.toContain(DB_PASSWORD);

    const order = await startApp('order-service', {
      ORDER_HOST: '127.0.0.1',
      ORDER_HTTP_PORT: '0',
      ORDER_SQLITE_PATH: join(dir, 'order.sqlite'),
      ACCOUNT_SERVICE_URL: account.url,
      TCC_API_KEY: API_KEY,
    });
    expect(order.settings()).toEqual(
      expect.arrayContaining([
        `HTTP port: ${new URL(order.url).port} (from ORDER_HTTP_PORT=0)`,
        `self URL (where the coordinator calls the order branch): ${order.url} (default; set ORDER_PUBLIC_URL to change)`,
        `database: SQLite file ${join(dir, 'order.sqlite')} (from ORDER_SQLITE_PATH)`,
        'coordinator transport: http (default; set TCC_COORDINATOR_TRANSPORT to change)',
        'coordinator URL: http://127.0.0.1:7070 (default; set TCC_COORDINATOR_URL to change)',
        'coordinator API key: set (from TCC_API_KEY)',
        `account service URL: ${account.url} (from ACCOUNT_SERVICE_URL)`,
      ]),
    );
    expect(order.output()).not.toContain(API_KEY);
  });

  it('coordinator: its ports, the absolute path of its SQLite file and Redis, each with its source; no password', async () => {
    // A relative TCC_SQLITE_PATH is printed as the absolute file it names.
    const coordinator = await startApp(
      'coordinator',
      {
        TCC_HTTP_PORT: '0',
        TCC_GRPC_PORT: '0',
        TCC_SQLITE_PATH: 'here/coordinator.sqlite',
        TCC_REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:6379`,
        TCC_LOG_LEVEL: 'info',
        // Nothing is published at start: the brokers need not be there.
        TCC_BROKERS: `rabbit=amqp://guest:${BROKER_PASSWORD}@127.0.0.1:7599/vh,js=nats://${BROKER_TOKEN}@127.0.0.1:7598`,
      },
      dir,
    );
    expect(coordinator.settings()).toEqual(
      expect.arrayContaining([
        'bind address: 0.0.0.0 (default; set TCC_HOST to change)',
        `HTTP port: ${new URL(coordinator.url).port} (from TCC_HTTP_PORT=0)`,
        expect.stringMatching(/^gRPC port: \d+ \(from TCC_GRPC_PORT=0\)$/),
        `store: SQLite file ${join(dir, 'here/coordinator.sqlite')} (from TCC_SQLITE_PATH)`,
        'Redis: redis://:***@127.0.0.1:6379 (from TCC_REDIS_URL)',
        'broker rabbit (amqp): amqp://guest:***@127.0.0.1:7599/vh (from TCC_BROKERS)',
        'broker js (nats): nats://***@127.0.0.1:7598 (from TCC_BROKERS)',
      ]),
    );
    expect(coordinator.output()).not.toContain(REDIS_PASSWORD);
    expect(coordinator.output()).not.toContain(BROKER_PASSWORD);
    expect(coordinator.output()).not.toContain(BROKER_TOKEN);
  });
});
