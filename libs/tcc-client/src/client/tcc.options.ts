/** Settings of TccModule: where the coordinator is, how long calls may take, how this service is reached. */
import type { BarrierCleanupSettings } from '../barrier/barrier-cleanup.job';
import { DEFAULT_BARRIER_CLEANUP } from '../barrier/barrier-cleanup.job';
import { DEFAULT_TIMEOUT_MS } from '../protocol';

export interface TccModuleOptions {
  /** Base URL of the coordinator's HTTP API. Default `http://127.0.0.1:7070`. */
  coordinatorUrl?: string;
  /** Bound on begin, register, get and on each try call. Default 10000 ms. */
  requestTimeoutMs?: number;
  /** Bound on commit and rollback, which wait for phase two. Default 60000 ms. */
  decisionTimeoutMs?: number;
  /** Global transaction timeout when the decorator names none. Default 30000 ms. */
  defaultTransactionTimeoutMs?: number;
  /**
   * Base URL at which the coordinator reaches this service's participant endpoints, e.g.
   * `http://orders.internal:7090`. Default: the address this process is listening on.
   */
  selfUrl?: string;
  /** Path prefix of the participant endpoints: `POST /<prefix>/<participant>/<phase>`. Default `tcc`. */
  participantPath?: string;
  /** Name of the @nestjs/typeorm DataSource holding the barrier table. Default: the unnamed one. */
  dataSourceName?: string;
  /** Periodic removal of old barrier rows. */
  barrierCleanup?: Partial<BarrierCleanupSettings>;
  /** Participant name sent with each branch registration when a branch names none. */
  serviceName?: string;
}

export interface ResolvedTccOptions {
  coordinatorUrl: string;
  requestTimeoutMs: number;
  decisionTimeoutMs: number;
  defaultTransactionTimeoutMs: number;
  selfUrl: string | undefined;
  participantPath: string;
  dataSourceName: string | undefined;
  barrierCleanup: BarrierCleanupSettings;
  serviceName: string | undefined;
}

export const TCC_OPTIONS = Symbol('TCC_OPTIONS');
export const DEFAULT_COORDINATOR_URL = 'http://127.0.0.1:7070';
export const DEFAULT_PARTICIPANT_PATH = 'tcc';

export function resolveTccOptions(options: TccModuleOptions): ResolvedTccOptions {
  const trim = (url: string): string => url.replace(/\/+$/, '');
  return {
    coordinatorUrl: trim(options.coordinatorUrl ?? DEFAULT_COORDINATOR_URL),
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    decisionTimeoutMs: options.decisionTimeoutMs ?? 60_000,
    defaultTransactionTimeoutMs: options.defaultTransactionTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    selfUrl: options.selfUrl ? trim(options.selfUrl) : undefined,
    participantPath: (options.participantPath ?? DEFAULT_PARTICIPANT_PATH).replace(/^\/+|\/+$/g, ''),
    dataSourceName: options.dataSourceName,
    barrierCleanup: { ...DEFAULT_BARRIER_CLEANUP, ...options.barrierCleanup },
    serviceName: options.serviceName,
  };
}
