/**
 * One coordinator replica as a separate process on a fixed port (so a restarted replica answers
 * at the same address, as behind a load balancer), with its API client, its metrics, and the
 * owner ids it writes into leases (`<host>:<pid>:<random>`, one per process it has been).
 */
import { CoordinatorApi } from '../../support/coordinator.api';
import { CoordinatorProcess, runCoordinatorToExit, type Env } from '../../support/coordinator.process';
import { replicaMetrics, type ReplicaMetrics } from './metrics';
import { freePort } from './ports';

/** Settings every replica of these specs starts with; a spec's env overrides them. */
export const REPLICA_DEFAULTS: Env = {
  TCC_HOST: '127.0.0.1',
  TCC_GRPC_PORT: '0',
  TCC_MIGRATE_ON_START: 'false',
  TCC_LOG_LEVEL: 'info',
};

export class Replica {
  readonly process: CoordinatorProcess;
  readonly api: CoordinatorApi;
  /** pid of every process this replica has been, oldest first. */
  readonly pids: number[] = [];

  private constructor(
    readonly name: string,
    readonly port: number,
    env: Env,
  ) {
    this.process = new CoordinatorProcess({ ...REPLICA_DEFAULTS, ...env, TCC_HTTP_PORT: String(port) });
    this.api = new CoordinatorApi(`http://127.0.0.1:${port}`);
  }

  /** Creates a replica on a free port (not started yet). */
  static async create(name: string, env: Env): Promise<Replica> {
    return new Replica(name, await freePort(), env);
  }

  get url(): string {
    return this.api.baseUrl;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get running(): boolean {
    return this.process.running;
  }

  /** SQL LIKE pattern matching the owner id of the current process in lease columns. */
  get ownerPattern(): string {
    return `%:${this.process.pid}:%`;
  }

  async start(): Promise<void> {
    await this.process.start(60_000);
    this.pids.push(this.process.pid as number);
  }

  kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL', timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.process.kill(signal, timeoutMs);
  }

  metrics(): Promise<ReplicaMetrics> {
    return replicaMetrics(this.url);
  }

  /** Log lines (JSON or plain) of every run so far that contain `text`. */
  logLines(text: string | RegExp): string[] {
    return this.process.logs.split('\n').filter((line) => (typeof text === 'string' ? line.includes(text) : text.test(line)));
  }

  /** Cleanup for afterAll: SIGKILL by pid, close the client; never throws. */
  async dispose(): Promise<void> {
    await this.process.stop();
    await this.api.close().catch(() => undefined);
  }
}

/** Applies the coordinator's migrations once (`main.js migrate`), before replicas start side by side. */
export async function migrateOnce(env: Env): Promise<void> {
  const result = await runCoordinatorToExit(['migrate'], { ...REPLICA_DEFAULTS, ...env }, 60_000);
  if (result.code !== 0) throw new Error(`migrate exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
}

/** Creates and starts `count` replicas with `env` (after migrating once); disposes them all if one fails. */
export async function startReplicas(count: number, env: Env, namePrefix = 'r'): Promise<Replica[]> {
  await migrateOnce(env);
  const replicas = await Promise.all(Array.from({ length: count }, (_, i) => Replica.create(`${namePrefix}${i}`, env)));
  try {
    await Promise.all(replicas.map((r) => r.start()));
  } catch (error) {
    await disposeAll(replicas);
    throw error;
  }
  return replicas;
}

export async function disposeAll(replicas: Replica[]): Promise<void> {
  await Promise.all(replicas.map((r) => r.dispose()));
}
