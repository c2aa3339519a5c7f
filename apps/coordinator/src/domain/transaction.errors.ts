/**
 * Domain errors with codes. Services throw them; the exception filter is the only place that
 * turns them into HTTP statuses (and, later, gRPC codes).
 */
import type { GlobalStatus } from '@tcc/client/protocol';

export enum TccErrorCode {
  INVALID_ARGUMENT = 'INVALID_ARGUMENT',
  NOT_FOUND = 'NOT_FOUND',
  CONFLICT = 'CONFLICT',
  TOO_LARGE = 'TOO_LARGE',
  UNAVAILABLE = 'UNAVAILABLE',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  PERMISSION_DENIED = 'PERMISSION_DENIED',
}

export class TccError extends Error {
  constructor(
    readonly code: TccErrorCode,
    message: string,
    readonly details: { fields?: string[]; status?: GlobalStatus; messages?: string[] } = {},
  ) {
    super(message);
    this.name = 'TccError';
  }
}

export const invalidArgument = (field: string, message: string): TccError =>
  new TccError(TccErrorCode.INVALID_ARGUMENT, message, { fields: [field] });

export const transactionNotFound = (gid: string): TccError =>
  new TccError(TccErrorCode.NOT_FOUND, `transaction ${gid} not found`);

export const transactionConflict = (gid: string, status: GlobalStatus, message: string): TccError =>
  new TccError(TccErrorCode.CONFLICT, `transaction ${gid} is ${status}: ${message}`, { status });

export const tooLarge = (field: string, limit: number): TccError =>
  new TccError(TccErrorCode.TOO_LARGE, `${field} is larger than ${limit} bytes`, { fields: [field] });

/** The transaction belongs to another client; says nothing of its state. */
export const notTheOwner = (gid: string): TccError =>
  new TccError(TccErrorCode.PERMISSION_DENIED, `transaction ${gid} belongs to another client`);
