/** Settings of TccModule: where the coordinator is and how this service authenticates to it, how long calls may take, how this service is reached. */
import type { BarrierAdapter } from './barrier/barrier.adapter';
import { typeormBarrier } from './barrier/adapters/typeorm.adapter';
import type { BarrierCleanupSettings } from './barrier/barrier-cleanup.job';
import { DEFAULT_BARRIER_CLEANUP } from './barrier/barrier-cleanup.job';
import { DEFAULT_TIMEOUT_MS } from './protocol';
import { DEFAULT_SIGNATURE_CLOCK_SKEW_MS, DEFAULT_SIGNATURE_WINDOW_MS, parseSigningKeys } from './signing/branch-signature';
import { checkCa, checkCertificateAndKey, type TlsClientOptions, type TlsServerOptions } from './tls/tls.options';

/** Where this service serves its participants over gRPC (see ParticipantGrpcServer). */
export interface ParticipantGrpcOptions {
  /** Port of the gRPC server; 0 picks a free one. */
  port: number;
  /** Interface to listen on. Default `0.0.0.0`. */
  host?: string;
  /**
   * `host:port` at which the coordinator and initiators reach this server, used in the targets this
   * service registers for its own gRPC branches. Default: 127.0.0.1 and the port actually bound.
   */
  publicAddress?: string;
  /** Serve over TLS with this certificate and key (and require client certificates of `clientCa`). Unset: plaintext. */
  tls?: TlsServerOptions;
}

export interface TccModuleOptions {
  /** How to talk to the coordinator: its HTTP API (default) or its gRPC API. */
  transport?: 'http' | 'grpc';
  /** Base URL of the coordinator's HTTP API. Default `http://127.0.0.1:7070`. */
  coordinatorUrl?: string;
  /**
   * This service's API key at the coordinator (the secret of its entry in the coordinator's
   * TCC_API_KEYS), sent with every coordinator call as `Authorization: Bearer <apiKey>` (HTTP) or
   * the `authorization` metadata of the same value (gRPC). A coordinator that refuses it answers
   * 401 / 403, thrown as CoordinatorAuthError and never retried. Unset: calls carry no key. Never logged.
   */
  apiKey?: string;
  /** `host:port` of the coordinator's gRPC API, used with `transport: 'grpc'`. Default `127.0.0.1:7071`. */
  coordinatorGrpcAddress?: string;
  /**
   * Serve this service's participants over gRPC too (they are always served over HTTP): each
   * @TccParticipant('name') becomes the service `tcc.v1.participants.<Name>` with the methods Try,
   * Confirm and Cancel (see participantGrpcService). Unset: no gRPC server.
   */
  grpc?: ParticipantGrpcOptions;
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
  /**
   * Where the participants' barrier table and business tables are: a barrier adapter
   * (typeormBarrier, drizzleBarrier, kyselyBarrier, pgBarrier, mysql2Barrier). Default:
   * `typeormBarrier({ dataSourceName })`.
   */
  barrier?: BarrierAdapter;
  /** Name of the @nestjs/typeorm DataSource holding the barrier table, for the default TypeORM barrier. Default: the unnamed one. */
  dataSourceName?: string;
  /**
   * What a missing barrier table does at start-up in an app hosting participants: `stop` it (the
   * default) or only `warn`, for an app that starts before its migrations run and says so itself
   * (a readiness check).
   */
  barrierTableCheck?: 'stop' | 'warn';
  /** Periodic removal of old barrier rows. */
  barrierCleanup?: Partial<BarrierCleanupSettings>;
  /** Participant name sent with each branch registration when a branch names none. */
  serviceName?: string;
  /**
   * HMAC keys of signed participant calls (at least 16 characters each). Tries this service makes
   * are signed with the first; calls to its participants must carry a signature by any of them,
   * else they are refused with 401 / UNAUTHENTICATED. Unset or empty: calls are neither signed nor
   * checked (a warning says so at start).
   */
  signingKeys?: string[];
  /** How old a signature's timestamp may be by this clock. Default 300000 ms. */
  signatureWindowMs?: number;
  /**
   * How far a signature's timestamp may be ahead of this clock (the signer's clock running fast).
   * Further ahead is refused (`future`), so a call signed in advance cannot be held back and
   * replayed for longer than the window. Default 30000 ms.
   */
  signatureClockSkewMs?: number;
  /**
   * TLS of the calls this service makes: to an https:// coordinatorUrl, to HTTPS participants,
   * and over gRPC (with it, every gRPC channel this service opens uses TLS). `ca` replaces the
   * system's CAs; `cert` and `key` are presented to servers that require a client certificate.
   */
  tls?: TlsClientOptions;
  /**
   * How the coordinator reaches this service's completion callback endpoint (docs/contract.md §11)
   * when it declares an @OnTransactionFinished() handler: `http` (default: `POST <selfUrl>/<prefix>/callback`)
   * or `grpc` (`tcc.v1.Initiator/Finished` on the participant gRPC server; needs `grpc`).
   */
  callbackProtocol?: 'http' | 'grpc';
}

export interface ResolvedTccOptions {
  transport: 'http' | 'grpc';
  coordinatorUrl: string;
  apiKey: string | undefined;
  coordinatorGrpcAddress: string;
  grpc: { port: number; host: string; publicAddress: string | undefined; tls: TlsServerOptions | undefined } | undefined;
  requestTimeoutMs: number;
  decisionTimeoutMs: number;
  defaultTransactionTimeoutMs: number;
  selfUrl: string | undefined;
  participantPath: string;
  dataSourceName: string | undefined;
  barrier: BarrierAdapter;
  barrierTableCheck: 'stop' | 'warn';
  barrierCleanup: BarrierCleanupSettings;
  serviceName: string | undefined;
  signingKeys: string[];
  signatureWindowMs: number;
  signatureClockSkewMs: number;
  tls: TlsClientOptions | undefined;
  callbackProtocol: 'http' | 'grpc';
}

export const TCC_OPTIONS = Symbol('TCC_OPTIONS');
export const DEFAULT_COORDINATOR_URL = 'http://127.0.0.1:7070';
export const DEFAULT_PARTICIPANT_PATH = 'tcc';
export const DEFAULT_COORDINATOR_GRPC_ADDRESS = '127.0.0.1:7071';

/** `host:port` as gRPC channels take it (a bracketed IPv6 host is fine). */
export const GRPC_ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;

function grpcAddress(option: string, value: string): string {
  const match = GRPC_ADDRESS.exec(value);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
    throw new Error(`tcc: ${option} "${value}" is not a host:port address (e.g. 127.0.0.1:7071)`);
  }
  return value;
}

/** A bearer token: non-empty, no whitespace. The message never shows the value. */
function apiKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\S+$/.test(value)) {
    throw new Error('tcc: apiKey must be a non-empty string without whitespace (the secret of this client in the coordinator\'s TCC_API_KEYS)');
  }
  return value;
}

function barrierTableCheck(value: TccModuleOptions['barrierTableCheck']): 'stop' | 'warn' {
  if (value === undefined || value === 'stop' || value === 'warn') return value ?? 'stop';
  throw new Error(`tcc: barrierTableCheck must be "stop" or "warn", not "${String(value)}"`);
}

function nonNegativeInteger(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new Error(`tcc: ${option} must be a non-negative integer of milliseconds, not ${String(value)}`);
  return value;
}

function barrierOf(options: TccModuleOptions): BarrierAdapter {
  if (!options.barrier) return typeormBarrier({ dataSourceName: options.dataSourceName });
  if (options.dataSourceName !== undefined) {
    throw new Error('tcc: dataSourceName is an option of the default TypeORM barrier; with `barrier` set, pass it there: typeormBarrier({ dataSourceName })');
  }
  if (typeof options.barrier.connect !== 'function') {
    throw new Error('tcc: barrier must be a barrier adapter (typeormBarrier(), drizzleBarrier(), kyselyBarrier(), pgBarrier() or mysql2Barrier())');
  }
  return options.barrier;
}

function callbackProtocol(value: TccModuleOptions['callbackProtocol'], grpc: boolean): 'http' | 'grpc' {
  if (value === undefined || value === 'http') return 'http';
  if (value !== 'grpc') throw new Error(`tcc: callbackProtocol must be "http" or "grpc", not "${String(value)}"`);
  if (!grpc) throw new Error('tcc: callbackProtocol "grpc" needs the grpc option (the callback is served by the participant gRPC server)');
  return value;
}

export function resolveTccOptions(options: TccModuleOptions): ResolvedTccOptions {
  const trim = (url: string): string => url.replace(/\/+$/, '');
  const transport = options.transport ?? 'http';
  if (transport !== 'http' && transport !== 'grpc') throw new Error(`tcc: transport must be "http" or "grpc", not "${String(transport)}"`);
  const grpc = options.grpc;
  if (grpc && (!Number.isInteger(grpc.port) || grpc.port < 0 || grpc.port > 65535)) {
    throw new Error(`tcc: grpc.port must be an integer port between 0 and 65535, not ${String(grpc.port)}`);
  }
  if (grpc?.tls) {
    checkCertificateAndKey('tcc: grpc.tls', grpc.tls.cert, grpc.tls.key);
    checkCa('tcc: grpc.tls.clientCa', grpc.tls.clientCa);
  }
  checkCa('tcc: tls.ca', options.tls?.ca);
  checkCertificateAndKey('tcc: tls', options.tls?.cert, options.tls?.key);
  const resolved: ResolvedTccOptions = {
    transport,
    coordinatorUrl: trim(options.coordinatorUrl ?? DEFAULT_COORDINATOR_URL),
    apiKey: apiKey(options.apiKey),
    coordinatorGrpcAddress: grpcAddress('coordinatorGrpcAddress', options.coordinatorGrpcAddress ?? DEFAULT_COORDINATOR_GRPC_ADDRESS),
    grpc: grpc && {
      port: grpc.port,
      host: grpc.host ?? '0.0.0.0',
      publicAddress: grpc.publicAddress === undefined ? undefined : grpcAddress('grpc.publicAddress', grpc.publicAddress),
      tls: grpc.tls,
    },
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    decisionTimeoutMs: options.decisionTimeoutMs ?? 60_000,
    defaultTransactionTimeoutMs: options.defaultTransactionTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    selfUrl: options.selfUrl ? trim(options.selfUrl) : undefined,
    participantPath: (options.participantPath ?? DEFAULT_PARTICIPANT_PATH).replace(/^\/+|\/+$/g, ''),
    dataSourceName: options.dataSourceName,
    barrier: barrierOf(options),
    barrierTableCheck: barrierTableCheck(options.barrierTableCheck),
    barrierCleanup: { ...DEFAULT_BARRIER_CLEANUP, ...options.barrierCleanup },
    serviceName: options.serviceName,
    signingKeys: parseSigningKeys((options.signingKeys ?? []).join(','), 'tcc: signingKeys'),
    signatureWindowMs: options.signatureWindowMs ?? DEFAULT_SIGNATURE_WINDOW_MS,
    signatureClockSkewMs: nonNegativeInteger('signatureClockSkewMs', options.signatureClockSkewMs ?? DEFAULT_SIGNATURE_CLOCK_SKEW_MS),
    tls: options.tls,
    callbackProtocol: callbackProtocol(options.callbackProtocol, grpc !== undefined),
  };
  // Kept out of JSON.stringify and util.inspect, so logging the options never shows the secret.
  Object.defineProperty(resolved, 'apiKey', { enumerable: false });
  return resolved;
}
