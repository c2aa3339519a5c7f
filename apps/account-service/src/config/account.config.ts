/**
 * Every account-service setting, read from the environment once at start and validated: a bad value
 * stops the process with a message naming the variable and what it accepts.
 */
import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, validateSync } from 'class-validator';
import { parseSigningKeys, type BarrierCleanupSettings } from '@tcc/client';
import { DATABASE_URL, readTlsFiles } from '@tcc/service-kit';

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

class AccountEnvironment {
  @IsOptional() @IsString() @Matches(DATABASE_URL, { message: 'must look like mysql://user:password@host:3306/database or postgres://user:password@host:5432/database (unset: the embedded SQLite file)' })
  ACCOUNT_DB_URL?: string;

  @IsString()
  ACCOUNT_SQLITE_PATH = 'data/account.sqlite';

  @IsString()
  ACCOUNT_HOST = '0.0.0.0';

  @Transform(toInt) @IsInt({ message: 'must be an integer port between 0 and 65535' }) @Min(0) @Max(65535)
  ACCOUNT_HTTP_PORT = 7080;

  /** The account-freeze branch over gRPC (tcc.v1.participants.AccountFreeze), on ACCOUNT_HOST. */
  @Transform(toInt) @IsInt({ message: 'must be an integer port between 0 and 65535 (0: any free port)' }) @Min(0) @Max(65535)
  ACCOUNT_GRPC_PORT = 7081;

  @IsOptional() @Transform(toBool) @IsBoolean({ message: 'must be true or false' })
  ACCOUNT_MIGRATE_ON_START?: boolean;

  @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  ACCOUNT_DB_POOL_SIZE = 20;

  @IsIn(LOG_LEVELS as unknown as string[], { message: `must be one of ${LOG_LEVELS.join(', ')}` })
  ACCOUNT_LOG_LEVEL: LogLevel = 'info';

  /** Time a client has to send its request headers, and its whole request (see applyHttpServerLimits). */
  @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  ACCOUNT_HTTP_HEADERS_TIMEOUT_MS = 10_000;

  @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000)
  ACCOUNT_HTTP_REQUEST_TIMEOUT_MS = 30_000;

  @Transform(toInt) @IsInt() @Min(60_000)
  ACCOUNT_BARRIER_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

  @Transform(toInt) @IsInt() @Min(0)
  ACCOUNT_BARRIER_CLEANUP_INTERVAL_MS = 60 * 60 * 1000;
}

export interface AccountConfig {
  db: { url: string | undefined; sqlitePath: string; poolSize: number; migrateOnStart: boolean };
  /** headersTimeoutMs, requestTimeoutMs: bounds on receiving a request, not on answering it. */
  http: { host: string; port: number; headersTimeoutMs: number; requestTimeoutMs: number };
  grpc: { host: string; port: number; tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer } };
  logLevel: LogLevel;
  barrierCleanup: Partial<BarrierCleanupSettings>;
  /** TCC_SIGNING_KEYS: signed participant calls (see TccModuleOptions.signingKeys). */
  signingKeys: string[];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadAccountConfig(env: Record<string, string | undefined>): AccountConfig {
  const present: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('ACCOUNT_') && value !== undefined && value.trim() !== '') present[key] = value.trim();
  }
  const parsed = plainToInstance(AccountEnvironment, present);
  const problems: string[] = validateSync(parsed).map(
    (e) => `${e.property}=${JSON.stringify(present[e.property] ?? null)}: ${Object.values(e.constraints ?? {}).join('; ')}`,
  );
  // The participant gRPC server over TLS: ACCOUNT_GRPC_TLS_CERT and _KEY (and _CLIENT_CA to require client certificates).
  const grpcTls = readTlsFiles(env, { ca: 'ACCOUNT_GRPC_TLS_CLIENT_CA', cert: 'ACCOUNT_GRPC_TLS_CERT', key: 'ACCOUNT_GRPC_TLS_KEY' }, problems);
  if (parsed.ACCOUNT_HTTP_HEADERS_TIMEOUT_MS > parsed.ACCOUNT_HTTP_REQUEST_TIMEOUT_MS) {
    problems.push(`ACCOUNT_HTTP_HEADERS_TIMEOUT_MS (${parsed.ACCOUNT_HTTP_HEADERS_TIMEOUT_MS}) must not exceed ACCOUNT_HTTP_REQUEST_TIMEOUT_MS (${parsed.ACCOUNT_HTTP_REQUEST_TIMEOUT_MS})`);
  }
  if (grpcTls && (!grpcTls.cert || !grpcTls.key)) problems.push('ACCOUNT_GRPC_TLS_CLIENT_CA needs ACCOUNT_GRPC_TLS_CERT and ACCOUNT_GRPC_TLS_KEY');
  let signingKeys: string[] = [];
  try {
    // The same variable as the coordinator's: the keys of signed participant calls.
    signingKeys = parseSigningKeys(env.TCC_SIGNING_KEYS, 'TCC_SIGNING_KEYS');
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (problems.length > 0) throw new ConfigError(`invalid account-service settings:\n  ${problems.join('\n  ')}`);
  return {
    db: {
      url: parsed.ACCOUNT_DB_URL,
      sqlitePath: parsed.ACCOUNT_SQLITE_PATH,
      poolSize: parsed.ACCOUNT_DB_POOL_SIZE,
      migrateOnStart: parsed.ACCOUNT_MIGRATE_ON_START ?? !parsed.ACCOUNT_DB_URL,
    },
    http: {
      host: parsed.ACCOUNT_HOST,
      port: parsed.ACCOUNT_HTTP_PORT,
      headersTimeoutMs: parsed.ACCOUNT_HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: parsed.ACCOUNT_HTTP_REQUEST_TIMEOUT_MS,
    },
    grpc: {
      host: parsed.ACCOUNT_HOST,
      port: parsed.ACCOUNT_GRPC_PORT,
      tls: grpcTls?.cert && grpcTls.key ? { cert: grpcTls.cert, key: grpcTls.key, clientCa: grpcTls.ca } : undefined,
    },
    logLevel: parsed.ACCOUNT_LOG_LEVEL,
    signingKeys,
    barrierCleanup: { retentionMs: parsed.ACCOUNT_BARRIER_RETENTION_MS, intervalMs: parsed.ACCOUNT_BARRIER_CLEANUP_INTERVAL_MS },
  };
}
