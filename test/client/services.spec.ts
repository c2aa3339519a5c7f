/**
 * How the services start: settings validated with messages naming the variable, `migrate` applying
 * each schema once (with binary id collation on MySQL), no schema change on MySQL unless asked, and
 * the built entry points printing the URL they listen on (port 0) and exiting 0 after `migrate`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createAccountService, migrateAccountDatabase } from '../../apps/account-service/src/bootstrap';
import { loadAccountConfig } from '../../apps/account-service/src/config/account.config';
import { migrateOrderDatabase } from '../../apps/order-service/src/bootstrap';
import { loadOrderConfig } from '../../apps/order-service/src/config/order.config';
import { createDatabase, type TestDatabase } from './support/databases';
import { Http } from './support/http';

const ROOT = resolve(__dirname, '../..');

describe('service settings', () => {
  it('names the variable of every bad value', () => {
    expect(() => loadAccountConfig({ ACCOUNT_HTTP_PORT: 'abc' })).toThrow(/ACCOUNT_HTTP_PORT="abc"/);
    expect(() => loadAccountConfig({ ACCOUNT_DB_URL: 'oracle://x/y' })).toThrow(/ACCOUNT_DB_URL/);
    expect(() => loadAccountConfig({ ACCOUNT_MIGRATE_ON_START: 'maybe' })).toThrow(/ACCOUNT_MIGRATE_ON_START/);
    expect(() => loadOrderConfig({ ORDER_HTTP_PORT: '70000' })).toThrow(/ORDER_HTTP_PORT/);
    expect(() => loadOrderConfig({ TCC_COORDINATOR_URL: 'ftp://x' })).toThrow(/TCC_COORDINATOR_URL/);
    expect(() => loadOrderConfig({ ACCOUNT_SERVICE_URL: 'nope' })).toThrow(/ACCOUNT_SERVICE_URL/);
    expect(() => loadOrderConfig({ ORDER_TRANSACTION_TIMEOUT_MS: '-1' })).toThrow(/ORDER_TRANSACTION_TIMEOUT_MS/);
  });

  it('has the documented defaults', () => {
    expect(loadAccountConfig({})).toMatchObject({
      db: { url: undefined, sqlitePath: 'data/account.sqlite', migrateOnStart: true },
      http: { host: '0.0.0.0', port: 7080 },
    });
    expect(loadOrderConfig({})).toMatchObject({
      db: { url: undefined, sqlitePath: 'data/order.sqlite', migrateOnStart: true },
      http: { host: '0.0.0.0', port: 7090 },
      coordinatorUrl: 'http://127.0.0.1:7070',
      accountServiceUrl: 'http://127.0.0.1:7080',
      transactionTimeoutMs: 30_000,
    });
    expect(loadAccountConfig({ ACCOUNT_DB_URL: 'mysql://root@127.0.0.1:3306/a' }).db.migrateOnStart).toBe(false);
  });
});

describe('migrations on MariaDB', () => {
  let account: TestDatabase;
  let order: TestDatabase;

  beforeAll(async () => {
    account = await createDatabase('mig_a');
    order = await createDatabase('mig_o');
  });

  afterAll(async () => {
    await account?.drop();
    await order?.drop();
  });

  it('does not touch the schema on start unless ACCOUNT_MIGRATE_ON_START=true', async () => {
    const service = await createAccountService({ ACCOUNT_DB_URL: account.url, ACCOUNT_HTTP_PORT: '0', ACCOUNT_GRPC_PORT: '0', ACCOUNT_HOST: '127.0.0.1', ACCOUNT_LOG_LEVEL: 'error' });
    const http = new Http();
    try {
      expect((await http.get(`${service.url}/health/live`)).status).toBe(200);
      const ready = await http.get(`${service.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body.error).toBe('MIGRATIONS_PENDING');
    } finally {
      await service.close();
      await http.close();
    }
    expect(await account.query('SHOW TABLES')).toHaveLength(0);
  });

  it('applies each schema once, barrier included, with binary collation on ids', async () => {
    expect(await migrateAccountDatabase({ ACCOUNT_DB_URL: account.url })).toEqual(['CreateTccBarrier1763900000000', 'CreateAccounts1763900000100', 'CreditsAndPoints1763900000300']);
    expect(await migrateAccountDatabase({ ACCOUNT_DB_URL: account.url })).toEqual([]);
    expect(await migrateOrderDatabase({ ORDER_DB_URL: order.url })).toEqual(['CreateTccBarrier1763900000000', 'CreateOrders1763900000200']);
    const service = await createAccountService({ ACCOUNT_DB_URL: account.url, ACCOUNT_HTTP_PORT: '0', ACCOUNT_GRPC_PORT: '0', ACCOUNT_HOST: '127.0.0.1', ACCOUNT_LOG_LEVEL: 'error' });
    const http = new Http();
    try {
      expect((await http.get(`${service.url}/health/ready`)).status).toBe(200);
    } finally {
      await service.close();
      await http.close();
    }
    const tables = (await account.query('SHOW TABLES')).map((row) => String(Object.values(row)[0])).sort();
    expect(tables).toEqual(['account_credits', 'account_freezes', 'account_migrations', 'accounts', 'points_awards', 'tcc_barrier']);
    const collations = await account.query(
      "SELECT table_name AS t, column_name AS c, collation_name AS k FROM information_schema.columns WHERE table_schema = ? AND column_name IN ('id', 'gid', 'branch_id') AND data_type = 'varchar'",
      [account.name],
    );
    for (const column of collations) expect(column.k).toBe('ascii_bin');
    // The CHECK constraint backs up the service's conditional updates.
    await account.query("INSERT INTO accounts (id, balance, frozen, created_at) VALUES ('a', 10, 0, 0)");
    await expect(account.query("UPDATE accounts SET frozen = 11 WHERE id = 'a'")).rejects.toThrow();
    await account.query("INSERT INTO accounts (id, balance, frozen, created_at) VALUES ('A', 10, 0, 0)");
  });
});

const built = existsSync(join(ROOT, 'dist/apps/account-service/main.js')) && existsSync(join(ROOT, 'dist/apps/order-service/main.js'));
(built ? describe : describe.skip)('built entry points (dist/apps/*/main.js)', () => {
  let dir: string;
  let db: TestDatabase;
  const http = new Http();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tcc-entry-'));
    db = await createDatabase('entry');
  });

  afterAll(async () => {
    await http.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('`migrate` applies the schema and exits 0; a bad setting exits 1 naming the variable', () => {
    const migrate = spawnSync(process.execPath, ['dist/apps/account-service/main.js', 'migrate'], {
      cwd: ROOT,
      env: { ...process.env, ACCOUNT_DB_URL: db.url },
      encoding: 'utf8',
    });
    expect(migrate.status).toBe(0);
    expect(migrate.stdout).toContain('CreateAccounts1763900000100');
    const bad = spawnSync(process.execPath, ['dist/apps/order-service/main.js'], {
      cwd: ROOT,
      env: { ...process.env, ORDER_HTTP_PORT: 'seventy' },
      encoding: 'utf8',
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('ORDER_HTTP_PORT');
  });

  it('serves on a random port (0) on the embedded file and prints the URL it listens on', async () => {
    const child = spawn(process.execPath, ['dist/apps/account-service/main.js'], {
      cwd: ROOT,
      env: { ...process.env, ACCOUNT_HTTP_PORT: '0', ACCOUNT_GRPC_PORT: '0', ACCOUNT_HOST: '127.0.0.1', ACCOUNT_SQLITE_PATH: join(dir, 'account.sqlite') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /listening on (http:\/\/\S+)/.exec(out);
          if (match) resolveUrl(match[1]);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await http.post(`${url}/accounts`, { id: 'carol', balance: 5 })).status).toBe(201);
      expect((await http.get(`${url}/accounts/carol`)).body).toEqual({ id: 'carol', balance: 5, frozen: 0, available: 5, points: 0 });
    } finally {
      const exited = new Promise((done) => child.on('exit', done));
      child.kill('SIGTERM');
      await exited;
    }
  });
});
