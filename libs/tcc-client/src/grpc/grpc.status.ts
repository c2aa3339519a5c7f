/**
 * gRPC statuses as the rest of the library understands them: the HTTP status with the same meaning
 * (so CoordinatorError and BranchRefusedError keep one `statusCode` vocabulary), and whether a call
 * that failed with it may simply have got no answer (retry) or was refused (do not).
 */
import type { Metadata, ServiceError } from '@grpc/grpc-js';

/** The gRPC status codes (fixed by the gRPC specification), so mapping them needs no grpc-js loaded. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatus = (typeof GrpcStatus)[keyof typeof GrpcStatus];
const NAME_OF = Object.fromEntries(Object.entries(GrpcStatus).map(([name, code]) => [code, name])) as Record<number, string>;

/** Trailers the coordinator sets on its errors (coordinator.proto) and participants on refusals. */
export const TCC_TRAILERS = {
  /** Comma-separated offending fields of an INVALID_ARGUMENT. */
  fields: 'tcc-fields',
  /** Current transaction status of a FAILED_PRECONDITION. */
  status: 'tcc-status',
  /** Business code of a refused try, e.g. INSUFFICIENT_FUNDS. */
  errorCode: 'tcc-error-code',
  /** The HTTP status the same refusal answers over HTTP (e.g. 409, 404). */
  httpStatus: 'tcc-http-status',
} as const;

const HTTP_OF: Partial<Record<number, number>> = {
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.OUT_OF_RANGE]: 400,
  [GrpcStatus.UNAUTHENTICATED]: 401,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.NOT_FOUND]: 404,
  [GrpcStatus.ALREADY_EXISTS]: 409,
  [GrpcStatus.FAILED_PRECONDITION]: 409,
  [GrpcStatus.ABORTED]: 409,
  [GrpcStatus.RESOURCE_EXHAUSTED]: 413,
  [GrpcStatus.UNIMPLEMENTED]: 501,
};

/** The HTTP status with the meaning of `code`; 503 for the codes that mean "no usable answer". */
export function httpStatusOf(code: number): number {
  return HTTP_OF[code] ?? 503;
}

/** Codes after which the call may or may not have happened: UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL... */
export function isUnanswered(code: number): boolean {
  return HTTP_OF[code] === undefined;
}

export function grpcStatusName(code: number): string {
  return NAME_OF[code] ?? `CODE_${code}`;
}

/** First value of a metadata key as text. */
export function metadataText(metadata: Metadata | undefined, key: string): string | undefined {
  const value = metadata?.get(key)[0];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
}

export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === 'number' && 'metadata' in error;
}
