/**
 * Every order-service setting, read from the environment once at start and validated: a bad value
 * stops the process with a message naming the variable and what it accepts.
 */
import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, validateSync } from 'class-validator';
import { MAX_TIMEOUT_MS, parseSigningKeys, type BarrierCleanupSettings } from '@tcc/client';
import { DATABASE_URL, readTlsFiles, type TlsFiles } from '@tcc/service-kit';

const toInt = ({ value }: { value: unknown }): unknown => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value);
const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  return value;
};
const HTTP_URL = /^https?:\/\/[^\s/]+(\/[^\s]*)?$/;
const GRPC_ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):([1-9]\d{0,4})$/;
const TRANSPORTS = ['http', 'grpc'] as const;
export type Transport = (typeof TRANSPORTS)[number];

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

class OrderEnvironment {
  @IsOptional() @IsString() @Matches(DATABASE_URL, { message: 'must look like mysql://user:password@host:3306/database or postgres://user:password@host:5432/database (unset: the embedded SQLite file)' })
  ORDER_DB_URL?: string;

  @IsString()
  ORDER_SQLITE_PATH = 'data/order.sqlite';

  @IsString()
  ORDER_HOST = '0.0.0.0';

  @Transform(toInt) @IsInt({ message: 'must be an integer port between 0 and 65535' }) @Min(0) @Max(65535)
  ORDER_HTTP_PORT = 7090;

  @IsOptional() @Matches(HTTP_URL, { message: 'must be an http:// or https:// base URL at which the coordinator reaches this service' })
  ORDER_PUBLIC_URL?: string;

  @IsOptional() @Transform(toBool) @IsBoolean({ message: 'must be true or false' })
  ORDER_MIGRATE_ON_START?: boolean;

  @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  ORDER_DB_POOL_SIZE = 20;

  @IsIn(LOG_LEVELS as unknown as string[], { message: `must be one of ${LOG_LEVELS.join(', ')}` })
  ORDER_LOG_LEVEL: LogLevel = 'info';

  @Transform(toInt) @IsInt() @Min(100) @Max(MAX_TIMEOUT_MS)
  ORDER_TRANSACTION_TIMEOUT_MS = 30_000;

  @Transform(toInt) @IsInt() @Min(10) @Max(600_000)
  ORDER_REQUEST_TIMEOUT_MS = 10_000;

  @Transform(toInt) @IsInt() @Min(10) @Max(600_000)
  ORDER_DECISION_TIMEOUT_MS = 60_000;

  /**
   * How long a paid order's loyalty-points message may stay PREPARED (its submit lost, say) before
   * the coordinator asks this service whether the payment committed.
   */
  @Transform(toInt) @IsInt() @Min(100) @Max(MAX_TIMEOUT_MS)
  ORDER_POINTS_MESSAGE_TIMEOUT_MS = 5_000;

  /** Time a client has to send its request headers, and its whole request (see applyHttpServerLimits). */
  @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  ORDER_HTTP_HEADERS_TIMEOUT_MS = 10_000;

  @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000)
  ORDER_HTTP_REQUEST_TIMEOUT_MS = 30_000;

  @Transform(toInt) @IsInt() @Min(60_000)
  ORDER_BARRIER_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

  @Transform(toInt) @IsInt() @Min(0)
  ORDER_BARRIER_CLEANUP_INTERVAL_MS = 60 * 60 * 1000;

  @Matches(HTTP_URL, { message: 'must be an http:// or https:// base URL of the coordinator' })
  TCC_COORDINATOR_URL = 'http://127.0.0.1:7070';

  @IsIn(TRANSPORTS as unknown as string[], { message: 'must be http or grpc' })
  TCC_COORDINATOR_TRANSPORT: Transport = 'http';

  @Matches(GRPC_ADDRESS, { message: 'must be the host:port of the coordinator\'s gRPC API' })
  TCC_COORDINATOR_GRPC_ADDRESS = '127.0.0.1:7071';

  /** This service's secret in the coordinator's TCC_API_KEYS. Unset: calls carry no key. */
  @IsOptional() @IsString() @Matches(/^\S+$/, { message: 'must be this service\'s API key at the coordinator, without whitespace' })
  TCC_API_KEY?: string;

  @Matches(HTTP_URL, { message: 'must be an http:// or https:// base URL of the account service' })
  ACCOUNT_SERVICE_URL = 'http://127.0.0.1:7080';

  @IsIn(TRANSPORTS as unknown as string[], { message: 'must be http or grpc' })
  ACCOUNT_BRANCH_PROTOCOL: Transport = 'http';

  @Matches(GRPC_ADDRESS, { message: 'must be the host:port of the account service\'s gRPC server' })
  ACCOUNT_SERVICE_GRPC_ADDRESS = '127.0.0.1:7081';
}

const READ = ['ORDER_', 'TCC_API_KEY', 'TCC_COORDINATOR_URL', 'TCC_COORDINATOR_TRANSPORT', 'TCC_COORDINATOR_GRPC_ADDRESS', 'ACCOUNT_SERVICE_URL', 'ACCOUNT_BRANCH_PROTOCOL', 'ACCOUNT_SERVICE_GRPC_ADDRESS'];

/** Settings whose value a message never shows. */
const SECRETS = new Set(['TCC_API_KEY']);

export interface OrderConfig {
  db: { url: string | undefined; sqlitePath: string; poolSize: number; migrateOnStart: boolean };
  /** headersTimeoutMs, requestTimeoutMs: bounds on receiving a request, not on answering it. */
  http: { host: string; port: number; headersTimeoutMs: number; requestTimeoutMs: number };
  publicUrl: string | undefined;
  logLevel: LogLevel;
  coordinatorUrl: string;
  /** How the initiator talks to the coordinator. */
  coordinatorTransport: Transport;
  coordinatorGrpcAddress: string;
  /** TCC_API_KEY: sent with every coordinator call (see TccModuleOptions.apiKey). */
  apiKey: string | undefined;
  accountServiceUrl: string;
  /** How the account-freeze branch is called: over HTTP at accountServiceUrl, or gRPC at accountServiceGrpcAddress. */
  accountBranchProtocol: Transport;
  accountServiceGrpcAddress: string;
  transactionTimeoutMs: number;
  requestTimeoutMs: number;
  decisionTimeoutMs: number;
  /** ORDER_POINTS_MESSAGE_TIMEOUT_MS. */
  pointsMessageTimeoutMs: number;
  barrierCleanup: Partial<BarrierCleanupSettings>;
  /** TCC_SIGNING_KEYS: signed participant calls (see TccModuleOptions.signingKeys). */
  signingKeys: string[];
  /** TCC_TLS_*: what the calls this service makes trust and present. */
  tls?: TlsFiles;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadOrderConfig(env: Record<string, string | undefined>): OrderConfig {
  const present: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (READ.some((prefix) => key.startsWith(prefix)) && value !== undefined && value.trim() !== '') present[key] = value.trim();
  }
  const parsed = plainToInstance(OrderEnvironment, present);
  const problems: string[] = validateSync(parsed).map(
    (e) => `${e.property}=${SECRETS.has(e.property) ? '(hidden)' : JSON.stringify(present[e.property] ?? null)}: ${Object.values(e.constraints ?? {}).join('; ')}`,
  );
  if (parsed.ORDER_HTTP_HEADERS_TIMEOUT_MS > parsed.ORDER_HTTP_REQUEST_TIMEOUT_MS) {
    problems.push(`ORDER_HTTP_HEADERS_TIMEOUT_MS (${parsed.ORDER_HTTP_HEADERS_TIMEOUT_MS}) must not exceed ORDER_HTTP_REQUEST_TIMEOUT_MS (${parsed.ORDER_HTTP_REQUEST_TIMEOUT_MS})`);
  }
  // TLS of the calls this service makes (the coordinator, gRPC tries): TCC_TLS_CA, TCC_TLS_CERT, TCC_TLS_KEY.
  const tls = readTlsFiles(env, { ca: 'TCC_TLS_CA', cert: 'TCC_TLS_CERT', key: 'TCC_TLS_KEY' }, problems);
  let signingKeys: string[] = [];
  try {
    // The same variable as the coordinator's: the keys of signed participant calls.
    signingKeys = parseSigningKeys(env.TCC_SIGNING_KEYS, 'TCC_SIGNING_KEYS');
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (problems.length > 0) throw new ConfigError(`invalid order-service settings:\n  ${problems.join('\n  ')}`);
  return {
    db: {
      url: parsed.ORDER_DB_URL,
      sqlitePath: parsed.ORDER_SQLITE_PATH,
      poolSize: parsed.ORDER_DB_POOL_SIZE,
      migrateOnStart: parsed.ORDER_MIGRATE_ON_START ?? !parsed.ORDER_DB_URL,
    },
    http: { host: parsed.ORDER_HOST, port: parsed.ORDER_HTTP_PORT, headersTimeoutMs: parsed.ORDER_HTTP_HEADERS_TIMEOUT_MS, requestTimeoutMs: parsed.ORDER_HTTP_REQUEST_TIMEOUT_MS },
    publicUrl: parsed.ORDER_PUBLIC_URL,
    logLevel: parsed.ORDER_LOG_LEVEL,
    coordinatorUrl: parsed.TCC_COORDINATOR_URL,
    coordinatorTransport: parsed.TCC_COORDINATOR_TRANSPORT,
    coordinatorGrpcAddress: parsed.TCC_COORDINATOR_GRPC_ADDRESS,
    apiKey: parsed.TCC_API_KEY,
    accountServiceUrl: parsed.ACCOUNT_SERVICE_URL,
    accountBranchProtocol: parsed.ACCOUNT_BRANCH_PROTOCOL,
    accountServiceGrpcAddress: parsed.ACCOUNT_SERVICE_GRPC_ADDRESS,
    transactionTimeoutMs: parsed.ORDER_TRANSACTION_TIMEOUT_MS,
    requestTimeoutMs: parsed.ORDER_REQUEST_TIMEOUT_MS,
    decisionTimeoutMs: parsed.ORDER_DECISION_TIMEOUT_MS,
    pointsMessageTimeoutMs: parsed.ORDER_POINTS_MESSAGE_TIMEOUT_MS,
    signingKeys,
    tls,
    barrierCleanup: { retentionMs: parsed.ORDER_BARRIER_RETENTION_MS, intervalMs: parsed.ORDER_BARRIER_CLEANUP_INTERVAL_MS },
  };
}
