/**
 * Every coordinator setting, read from the environment once at start and validated: a bad value
 * stops the process with a message naming the variable and what it accepts.
 */
import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, validateSync } from 'class-validator';
import { DEFAULT_TIMEOUT_MS, MAX_ATTEMPTS_LIMIT, MAX_RETRY_FOR_MS, MAX_TIMEOUT_MS } from '@tcc/client/protocol';
import { checkCa, checkCertificateAndKey, parseSigningKeys, type TlsClientOptions, type TlsServerOptions } from '@tcc/client/caller';
import { readFileSync } from 'node:fs';
import { DATABASE_URL } from '@tcc/service-kit';
import { TargetPolicy } from '../domain/target.policy';
import { parseApiKeys, type ApiKey } from './api-keys.parser';
import { parseBrokers, type BrokerConfig } from './brokers.parser';

const toInt = ({ value }: { value: unknown }): unknown => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value);
const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  return value;
};

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The raw environment, with one decorated field per variable. */
class CoordinatorEnvironment {
  @IsOptional() @IsString() @Matches(DATABASE_URL, { message: 'TCC_DB_URL must look like mysql://user:password@host:3306/database or postgres://user:password@host:5432/database (unset: the embedded SQLite file)' })
  TCC_DB_URL?: string;

  @IsOptional() @IsString()
  TCC_SQLITE_PATH = 'data/coordinator.sqlite';

  @IsOptional() @IsString()
  TCC_HOST = '0.0.0.0';

  @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  TCC_HTTP_PORT = 7070;

  @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  TCC_GRPC_PORT = 7071;

  @IsString()
  TCC_ALLOWED_TARGETS = '127.0.0.1:*,localhost:*,[::1]:*';

  @Transform(toInt) @IsInt() @Min(10) @Max(600_000)
  TCC_REQUEST_TIMEOUT_MS = 10_000;

  @Transform(toInt) @IsInt() @Min(1) @Max(3_600_000)
  TCC_RETRY_BASE_MS = 1_000;

  @Transform(toInt) @IsInt() @Min(1) @Max(86_400_000)
  TCC_RETRY_MAX_MS = 60_000;

  @Transform(toInt) @IsInt() @Min(10) @Max(3_600_000)
  TCC_SCAN_INTERVAL_MS = 1_000;

  /** The default retry budget of a branch's phase-two work (docs/contract.md §2.1); unset: unlimited. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(MAX_RETRY_FOR_MS)
  TCC_RETRY_FOR_MS?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(MAX_ATTEMPTS_LIMIT)
  TCC_MAX_ATTEMPTS?: number;

  @Transform(toInt) @IsInt() @Min(1) @Max(10_000)
  TCC_SCAN_BATCH = 100;

  @Transform(toInt) @IsInt() @Min(1) @Max(64)
  TCC_WRITE_BATCHES = 4;

  @Transform(toInt) @IsInt() @Min(0) @Max(1_000)
  TCC_WRITE_BATCH_WINDOW_MS = 0;

  @Transform(toInt) @IsInt() @Min(100) @Max(86_400_000)
  TCC_LEASE_MS = 30_000;

  @Transform(toInt) @IsInt() @Min(0) @Max(600_000)
  TCC_COMMIT_WAIT_MS = 10_000;

  @Transform(toInt) @IsInt() @Min(1) @Max(MAX_TIMEOUT_MS)
  TCC_DEFAULT_TIMEOUT_MS = DEFAULT_TIMEOUT_MS;

  @Transform(toInt) @IsInt() @Min(1) @Max(MAX_TIMEOUT_MS)
  TCC_MAX_TIMEOUT_MS = MAX_TIMEOUT_MS;

  @Transform(toInt) @IsInt() @Min(1) @Max(16 * 1024 * 1024)
  TCC_MAX_PAYLOAD_BYTES = 64 * 1024;

  @Transform(toInt) @IsInt() @Min(1) @Max(100_000)
  TCC_PHASE_TWO_CONCURRENCY = 256;

  @Transform(toInt) @IsInt() @Min(1) @Max(1_000)
  TCC_DB_POOL_SIZE = 20;

  @IsOptional() @Transform(toBool) @IsBoolean()
  TCC_MIGRATE_ON_START?: boolean;

  @IsIn(LOG_LEVELS as unknown as string[])
  TCC_LOG_LEVEL: LogLevel = 'info';

  @IsOptional() @IsString() @Matches(/^rediss?:\/\/.+/, { message: 'TCC_REDIS_URL must look like redis://host:6379 (unset: no Redis)' })
  TCC_REDIS_URL?: string;

  @IsString() @Matches(/^[A-Za-z0-9_.:-]{1,64}$/, { message: 'TCC_REDIS_PREFIX must be 1-64 characters of A-Z a-z 0-9 _ . : -' })
  TCC_REDIS_PREFIX = 'tcc:';

  @Transform(toInt) @IsInt() @Min(300) @Max(600_000)
  TCC_LEADER_LEASE_MS = 5_000;

  @Transform(toInt) @IsInt() @Min(0) @Max(30 * 86_400_000)
  TCC_ATTENTION_AFTER_MS = 600_000;

  @IsOptional() @IsString() @Matches(/^https?:\/\/.+/, { message: 'TCC_ALERT_WEBHOOK_URL must be an http:// or https:// URL' })
  TCC_ALERT_WEBHOOK_URL?: string;

  @Transform(toInt) @IsInt() @Min(0) @Max(600_000)
  TCC_SHUTDOWN_GRACE_MS = 10_000;

  @IsOptional() @IsString() @Matches(/^\S{16,}$/, { message: 'TCC_ADMIN_TOKEN must be at least 16 characters without spaces' })
  TCC_ADMIN_TOKEN?: string;

  /** Comma-separated HMAC keys of participant calls: the first signs, all are accepted (see the README). */
  @IsOptional() @IsString()
  TCC_SIGNING_KEYS?: string;

  // TLS, as paths of PEM files: the gRPC API's certificate and key (and the CA its clients'
  // certificates must chain to), and what the calls to participants trust and present.
  @IsOptional() @IsString() TCC_GRPC_TLS_CERT?: string;
  @IsOptional() @IsString() TCC_GRPC_TLS_KEY?: string;
  @IsOptional() @IsString() TCC_GRPC_TLS_CLIENT_CA?: string;
  @IsOptional() @IsString() TCC_PARTICIPANT_TLS_CA?: string;
  @IsOptional() @IsString() TCC_PARTICIPANT_TLS_CERT?: string;
  @IsOptional() @IsString() TCC_PARTICIPANT_TLS_KEY?: string;
  // HTTPS of the HTTP API (v1, admin, health, metrics), and the CA its clients' certificates must chain to.
  @IsOptional() @IsString() TCC_HTTP_TLS_CERT?: string;
  @IsOptional() @IsString() TCC_HTTP_TLS_KEY?: string;
  @IsOptional() @IsString() TCC_HTTP_TLS_CLIENT_CA?: string;

  /** Named API keys of the v1 API: `name=secret,...`; a name may repeat so its keys rotate. */
  @IsOptional() @IsString()
  TCC_API_KEYS?: string;

  /** `off` opens the v1 API to every caller without credentials (a warning says so at start). */
  @IsIn(['on', 'off'], { message: 'TCC_API_AUTH must be on or off' })
  TCC_API_AUTH: 'on' | 'off' = 'on';

  @Transform(toInt) @IsInt() @Min(1) @Max(10_000)
  TCC_MAX_BRANCHES = 100;

  /** Brokers message steps are published to: `name=url,...` (amqp://, amqps://, nats://, tls://); see brokers.parser.ts. */
  @IsOptional() @IsString()
  TCC_BROKERS?: string;

  @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  TCC_HTTP_HEADERS_TIMEOUT_MS = 10_000;

  @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000)
  TCC_HTTP_REQUEST_TIMEOUT_MS = 30_000;

  /** Reconciliation (docs/contract.md §13): period of the scheduled run; 0 (the default) schedules none. */
  @Transform(toInt) @IsInt() @Min(0) @Max(7 * 86_400_000)
  TCC_RECONCILE_INTERVAL_MS = 0;

  /** How far behind now a scheduled window ends, so late finishes and in-flight retries settle first. */
  @Transform(toInt) @IsInt() @Min(0) @Max(7 * 86_400_000)
  TCC_RECONCILE_LAG_MS = 600_000;

  /** Participant queries per second of one replica's run (a token bucket); 0: unthrottled. */
  @Transform(toInt) @IsInt() @Min(0) @Max(100_000)
  TCC_RECONCILE_RATE = 100;

  /** Finished transactions read per page of a run (the cursor moves once per page). */
  @Transform(toInt) @IsInt() @Min(1) @Max(10_000)
  TCC_RECONCILE_BATCH = 200;

  // Completion callbacks (docs/contract.md §11): the backoff of a failed delivery and the bound on each attempt.
  @Transform(toInt) @IsInt() @Min(1) @Max(3_600_000)
  TCC_CALLBACK_RETRY_BASE_MS = 1_000;

  @Transform(toInt) @IsInt() @Min(1) @Max(86_400_000)
  TCC_CALLBACK_RETRY_MAX_MS = 300_000;

  /** Unset: TCC_REQUEST_TIMEOUT_MS. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(10) @Max(600_000)
  TCC_CALLBACK_TIMEOUT_MS?: number;
}

export interface CoordinatorConfig {
  db: {
    url?: string;
    sqlitePath: string;
    poolSize: number;
    migrateOnStart: boolean;
    /** Group commit (MySQL): batches written at the same time, and how long a batch waits for more writes. */
    writeBatches: number;
    writeBatchWindowMs: number;
  };
  http: {
    host: string;
    port: number;
    /** HTTPS with this certificate and key; with `clientCa`, client certificates are required. */
    tls?: TlsServerOptions;
    /** Bounds on receiving a request: its headers, and the whole of it. Answering is not bounded here. */
    headersTimeoutMs: number;
    requestTimeoutMs: number;
  };
  /** Who may call the v1 API (see auth/api-client.guard.ts). */
  auth: { off: boolean; keys: ApiKey[] };
  /** Branches one transaction may register. */
  maxBranches: number;
  grpc: { port: number; tls?: TlsServerOptions };
  /** TLS of the calls to participants (HTTPS, and gRPC: with it every participant channel uses TLS). */
  participantTls?: TlsClientOptions;
  allowedTargets: string;
  requestTimeoutMs: number;
  retry: { baseMs: number; maxMs: number };
  /** The default retry budget (TCC_RETRY_FOR_MS, TCC_MAX_ATTEMPTS); null: unlimited. */
  retryBudget: { retryForMs: number | null; maxAttempts: number | null };
  scan: { intervalMs: number; batch: number };
  leaseMs: number;
  commitWaitMs: number;
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  maxPayloadBytes: number;
  phaseTwoConcurrency: number;
  logLevel: LogLevel;
  redis: { url?: string; prefix: string; leaderLeaseMs: number };
  attentionAfterMs: number;
  alertWebhookUrl?: string;
  shutdownGraceMs: number;
  adminToken?: string;
  /** Keys of signed participant calls; confirms and cancels are signed with the first. Empty: unsigned. */
  signingKeys: string[];
  /** Brokers message steps may be published to (TCC_BROKERS); empty: only http and grpc steps. */
  brokers: BrokerConfig[];
  /** Reconciliation (docs/contract.md §13): schedule (intervalMs 0: none), lag of its windows, queries per second (0: unthrottled), page size. */
  reconcile: { intervalMs: number; lagMs: number; rate: number; batch: number };
  /** Completion callbacks: backoff between failed deliveries, and the bound on one delivery. */
  callback: { retry: { baseMs: number; maxMs: number }; timeoutMs: number };
}

export class ConfigError extends Error {}

/** Parses and validates `env`; throws ConfigError naming every bad variable. */
export function loadCoordinatorConfig(env: Record<string, string | undefined>): CoordinatorConfig {
  const present: Record<string, string> = {};
  for (const key of Object.keys(env)) {
    const value = env[key];
    if (key.startsWith('TCC_') && value !== undefined && value.trim() !== '') present[key] = value.trim();
  }
  const parsed = plainToInstance(CoordinatorEnvironment, present);
  const errors = validateSync(parsed, { whitelist: false });
  const problems = errors.map((e) => `${e.property}=${JSON.stringify(present[e.property] ?? null)}: ${Object.values(e.constraints ?? {}).join('; ')}`);
  if (parsed.TCC_RETRY_MAX_MS < parsed.TCC_RETRY_BASE_MS) problems.push('TCC_RETRY_MAX_MS must be >= TCC_RETRY_BASE_MS');
  if (parsed.TCC_CALLBACK_RETRY_MAX_MS < parsed.TCC_CALLBACK_RETRY_BASE_MS) problems.push('TCC_CALLBACK_RETRY_MAX_MS must be >= TCC_CALLBACK_RETRY_BASE_MS');
  const callbackTimeoutMs = parsed.TCC_CALLBACK_TIMEOUT_MS ?? parsed.TCC_REQUEST_TIMEOUT_MS;
  if (parsed.TCC_CALLBACK_TIMEOUT_MS !== undefined && parsed.TCC_LEASE_MS < 2 * parsed.TCC_CALLBACK_TIMEOUT_MS) {
    problems.push(`TCC_LEASE_MS (${parsed.TCC_LEASE_MS}) must be at least twice TCC_CALLBACK_TIMEOUT_MS (${parsed.TCC_CALLBACK_TIMEOUT_MS}), so a callback's lease outlives its delivery`);
  }
  if (parsed.TCC_DEFAULT_TIMEOUT_MS > parsed.TCC_MAX_TIMEOUT_MS) problems.push('TCC_DEFAULT_TIMEOUT_MS must be <= TCC_MAX_TIMEOUT_MS');
  if (parsed.TCC_HTTP_HEADERS_TIMEOUT_MS > parsed.TCC_HTTP_REQUEST_TIMEOUT_MS) {
    problems.push('TCC_HTTP_HEADERS_TIMEOUT_MS must be <= TCC_HTTP_REQUEST_TIMEOUT_MS (the request timeout covers the headers too)');
  }
  if (parsed.TCC_LEASE_MS < 2 * parsed.TCC_REQUEST_TIMEOUT_MS) {
    problems.push(`TCC_LEASE_MS (${parsed.TCC_LEASE_MS}) must be at least twice TCC_REQUEST_TIMEOUT_MS (${parsed.TCC_REQUEST_TIMEOUT_MS}), so a lease outlives the calls made under it`);
  }
  try {
    new TargetPolicy(parsed.TCC_ALLOWED_TARGETS);
  } catch (error) {
    problems.push((error as Error).message);
  }
  const read = (name: keyof CoordinatorEnvironment): Buffer | undefined => {
    const path = parsed[name];
    if (typeof path !== 'string') return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      problems.push(`${name}: cannot read ${path}: ${(error as Error).message}`);
      return undefined;
    }
  };
  const check = (fn: () => void): void => {
    try {
      fn();
    } catch (error) {
      problems.push((error as Error).message);
    }
  };
  const grpcCert = read('TCC_GRPC_TLS_CERT');
  const grpcKey = read('TCC_GRPC_TLS_KEY');
  const grpcClientCa = read('TCC_GRPC_TLS_CLIENT_CA');
  check(() => checkCertificateAndKey('TCC_GRPC_TLS_CERT / TCC_GRPC_TLS_KEY', grpcCert, grpcKey));
  check(() => checkCa('TCC_GRPC_TLS_CLIENT_CA', grpcClientCa));
  if (grpcClientCa && !grpcCert) problems.push('TCC_GRPC_TLS_CLIENT_CA needs TCC_GRPC_TLS_CERT and TCC_GRPC_TLS_KEY');
  const httpCert = read('TCC_HTTP_TLS_CERT');
  const httpKey = read('TCC_HTTP_TLS_KEY');
  const httpClientCa = read('TCC_HTTP_TLS_CLIENT_CA');
  check(() => checkCertificateAndKey('TCC_HTTP_TLS_CERT / TCC_HTTP_TLS_KEY', httpCert, httpKey));
  check(() => checkCa('TCC_HTTP_TLS_CLIENT_CA', httpClientCa));
  if (httpClientCa && !httpCert) problems.push('TCC_HTTP_TLS_CLIENT_CA needs TCC_HTTP_TLS_CERT and TCC_HTTP_TLS_KEY');
  let apiKeys: ApiKey[] = [];
  try {
    apiKeys = parseApiKeys(parsed.TCC_API_KEYS);
  } catch (error) {
    problems.push((error as Error).message);
  }
  const participantCa = read('TCC_PARTICIPANT_TLS_CA');
  const participantCert = read('TCC_PARTICIPANT_TLS_CERT');
  const participantKey = read('TCC_PARTICIPANT_TLS_KEY');
  check(() => checkCa('TCC_PARTICIPANT_TLS_CA', participantCa));
  check(() => checkCertificateAndKey('TCC_PARTICIPANT_TLS_CERT / TCC_PARTICIPANT_TLS_KEY', participantCert, participantKey));
  let signingKeys: string[] = [];
  try {
    signingKeys = parseSigningKeys(parsed.TCC_SIGNING_KEYS, 'TCC_SIGNING_KEYS');
  } catch (error) {
    problems.push((error as Error).message);
  }
  let brokers: BrokerConfig[] = [];
  try {
    brokers = parseBrokers(parsed.TCC_BROKERS);
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (problems.length) throw new ConfigError(`invalid coordinator configuration:\n  ${problems.join('\n  ')}`);
  const embedded = !parsed.TCC_DB_URL;
  return {
    db: {
      url: parsed.TCC_DB_URL,
      sqlitePath: parsed.TCC_SQLITE_PATH,
      poolSize: parsed.TCC_DB_POOL_SIZE,
      migrateOnStart: parsed.TCC_MIGRATE_ON_START ?? embedded,
      writeBatches: parsed.TCC_WRITE_BATCHES,
      writeBatchWindowMs: parsed.TCC_WRITE_BATCH_WINDOW_MS,
    },
    http: {
      host: parsed.TCC_HOST,
      port: parsed.TCC_HTTP_PORT,
      tls: httpCert && httpKey ? { cert: httpCert, key: httpKey, clientCa: httpClientCa } : undefined,
      headersTimeoutMs: parsed.TCC_HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: parsed.TCC_HTTP_REQUEST_TIMEOUT_MS,
    },
    auth: { off: parsed.TCC_API_AUTH === 'off', keys: apiKeys },
    maxBranches: parsed.TCC_MAX_BRANCHES,
    grpc: {
      port: parsed.TCC_GRPC_PORT,
      tls: grpcCert && grpcKey ? { cert: grpcCert, key: grpcKey, clientCa: grpcClientCa } : undefined,
    },
    participantTls: participantCa || participantCert ? { ca: participantCa, cert: participantCert, key: participantKey } : undefined,
    allowedTargets: parsed.TCC_ALLOWED_TARGETS,
    requestTimeoutMs: parsed.TCC_REQUEST_TIMEOUT_MS,
    retry: { baseMs: parsed.TCC_RETRY_BASE_MS, maxMs: parsed.TCC_RETRY_MAX_MS },
    retryBudget: { retryForMs: parsed.TCC_RETRY_FOR_MS ?? null, maxAttempts: parsed.TCC_MAX_ATTEMPTS ?? null },
    scan: { intervalMs: parsed.TCC_SCAN_INTERVAL_MS, batch: parsed.TCC_SCAN_BATCH },
    leaseMs: parsed.TCC_LEASE_MS,
    commitWaitMs: parsed.TCC_COMMIT_WAIT_MS,
    defaultTimeoutMs: parsed.TCC_DEFAULT_TIMEOUT_MS,
    maxTimeoutMs: parsed.TCC_MAX_TIMEOUT_MS,
    maxPayloadBytes: parsed.TCC_MAX_PAYLOAD_BYTES,
    phaseTwoConcurrency: parsed.TCC_PHASE_TWO_CONCURRENCY,
    logLevel: parsed.TCC_LOG_LEVEL,
    redis: { url: parsed.TCC_REDIS_URL, prefix: parsed.TCC_REDIS_PREFIX, leaderLeaseMs: parsed.TCC_LEADER_LEASE_MS },
    attentionAfterMs: parsed.TCC_ATTENTION_AFTER_MS,
    alertWebhookUrl: parsed.TCC_ALERT_WEBHOOK_URL,
    shutdownGraceMs: parsed.TCC_SHUTDOWN_GRACE_MS,
    adminToken: parsed.TCC_ADMIN_TOKEN,
    signingKeys,
    brokers,
    reconcile: {
      intervalMs: parsed.TCC_RECONCILE_INTERVAL_MS,
      lagMs: parsed.TCC_RECONCILE_LAG_MS,
      rate: parsed.TCC_RECONCILE_RATE,
      batch: parsed.TCC_RECONCILE_BATCH,
    },
    callback: {
      retry: { baseMs: parsed.TCC_CALLBACK_RETRY_BASE_MS, maxMs: parsed.TCC_CALLBACK_RETRY_MAX_MS },
      timeoutMs: callbackTimeoutMs,
    },
  };
}

/** Injection token of the validated CoordinatorConfig. */
export const COORDINATOR_CONFIG = Symbol('COORDINATOR_CONFIG');
