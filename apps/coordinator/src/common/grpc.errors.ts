/** Domain errors as gRPC statuses (docs/contract.md §4), with the details in trailing metadata. */
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { TccError, TccErrorCode } from '../domain/transaction.errors';
import { isTransient } from '../store/database';

export interface GrpcError {
  code: GrpcStatus;
  details: string;
  metadata: Metadata;
}

const CODE_OF: Record<TccErrorCode, GrpcStatus> = {
  [TccErrorCode.INVALID_ARGUMENT]: GrpcStatus.INVALID_ARGUMENT,
  [TccErrorCode.NOT_FOUND]: GrpcStatus.NOT_FOUND,
  [TccErrorCode.CONFLICT]: GrpcStatus.FAILED_PRECONDITION,
  [TccErrorCode.TOO_LARGE]: GrpcStatus.RESOURCE_EXHAUSTED,
  [TccErrorCode.UNAVAILABLE]: GrpcStatus.UNAVAILABLE,
  [TccErrorCode.UNAUTHENTICATED]: GrpcStatus.UNAUTHENTICATED,
  [TccErrorCode.PERMISSION_DENIED]: GrpcStatus.PERMISSION_DENIED,
};

export function toGrpcError(exception: unknown): GrpcError {
  const metadata = new Metadata();
  if (exception instanceof TccError) {
    if (exception.details.status) metadata.set('tcc-status', exception.details.status);
    if (exception.details.fields?.length) metadata.set('tcc-fields', exception.details.fields.join(','));
    const fields = exception.details.fields?.length ? ` [fields: ${exception.details.fields.join(', ')}]` : '';
    const status = exception.details.status ? ` [status: ${exception.details.status}]` : '';
    return { code: CODE_OF[exception.code], details: `${exception.message}${fields}${status}`, metadata };
  }
  if (isTransient(exception)) return { code: GrpcStatus.UNAVAILABLE, details: 'storage is unavailable, try again', metadata };
  return { code: GrpcStatus.INTERNAL, details: 'internal error', metadata };
}
