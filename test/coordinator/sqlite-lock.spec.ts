/**
 * The embedded SQLite file is never shared silently (README "Configuration"): two built coordinator
 * processes on one temp file; the second exits non-zero naming the file, the holder's pid and
 * TCC_SQLITE_PATH. After a SIGKILL of the first (its lock file left behind with a dead pid) a new
 * one starts and takes the lock over; a graceful stop removes it. Needs dist/. SQLite only, so it
 * runs in the default (MariaDB) project alone.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertBuilt, CoordinatorProcess, runCoordinatorToExit, type Env } from '../support/coordinator.process';
import { testEngine } from '../support/test.database';

const onDefaultRun = testEngine() === 'mariadb' ? describe : describe.skip;

onDefaultRun('one coordinator process per embedded SQLite file', () => {
  let dir: string;
  let env: Env;
  let file: string;
  const started: CoordinatorProcess[] = [];

  beforeAll(() => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'tcc-sqlite-lock-'));
    file = join(dir, 'coordinator.sqlite');
    env = { TCC_SQLITE_PATH: file, TCC_HOST: '127.0.0.1', TCC_LOG_LEVEL: 'warn' };
  });

  afterAll(async () => {
    for (const proc of started) await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (): Promise<CoordinatorProcess> => {
    const proc = new CoordinatorProcess(env);
    started.push(proc);
    await proc.start();
    return proc;
  };
  const lockHolder = (): string => readFileSync(`${file}.lock`, 'utf8').trim();

  it('refuses a second coordinator on the file, naming it, the holder and TCC_SQLITE_PATH; takes over after a SIGKILL', async () => {
    const first = await start();
    expect(lockHolder()).toBe(String(first.pid));

    const second = await runCoordinatorToExit([], { ...env, TCC_HTTP_PORT: '0', TCC_GRPC_PORT: '0' }, 30_000);
    expect({ timedOut: second.timedOut, failed: second.code !== 0 && second.code !== null }).toEqual({ timedOut: false, failed: true });
    expect(second.stdout).not.toMatch(/listening on/);
    expect(second.stderr).toContain(`the embedded database file ${file} is in use`);
    expect(second.stderr).toContain(`pid ${first.pid}`);
    expect(second.stderr).toContain('TCC_SQLITE_PATH');
    // The refusal left the holder's lock and the holder alone.
    expect(lockHolder()).toBe(String(first.pid));
    expect(first.running).toBe(true);

    // Killed without a chance to clean up: the lock file stays, naming a dead pid.
    await first.kill('SIGKILL');
    expect(lockHolder()).toBe(String(first.pid));
    const third = await start();
    expect(lockHolder()).toBe(String(third.pid));

    // A graceful stop gives the file up.
    const stopped = await third.kill('SIGTERM');
    expect(stopped.code).toBe(0);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });
});
