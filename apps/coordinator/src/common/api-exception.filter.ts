/**
 * The edge where errors become HTTP answers: domain codes map to statuses, every body has the
 * same shape (ErrorBody), bad input is always a 4xx, and an unexpected failure is logged once.
 */
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { throwError, type Observable } from 'rxjs';
import { toGrpcError } from './grpc.errors';
import type { ErrorBody } from '@tcc/client/protocol';
import { TccError, TccErrorCode } from '../domain/transaction.errors';
import { isTransient } from '../store/database';

const STATUS_OF: Record<TccErrorCode, number> = {
  [TccErrorCode.INVALID_ARGUMENT]: 400,
  [TccErrorCode.NOT_FOUND]: 404,
  [TccErrorCode.CONFLICT]: 409,
  [TccErrorCode.TOO_LARGE]: 413,
  [TccErrorCode.UNAVAILABLE]: 503,
  [TccErrorCode.UNAUTHENTICATED]: 401,
  [TccErrorCode.PERMISSION_DENIED]: 403,
};

/** The error name of the auth refusals is their code, so clients tell them apart from a Fastify 401. */
const NAMED_BY_CODE = new Set([TccErrorCode.UNAUTHENTICATED, TccErrorCode.PERMISSION_DENIED]);

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function errorBody(statusCode: number, message: string | string[], extra: Partial<ErrorBody> = {}): ErrorBody {
  return { statusCode, error: REASON[statusCode] ?? 'Error', message, ...extra };
}

function isHealthResult(response: unknown): boolean {
  return typeof response === 'object' && response !== null && 'status' in response && 'details' in response && 'error' in response;
}

@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Api');

  catch(exception: unknown, host: ArgumentsHost): void | Observable<never> {
    if (host.getType() === 'rpc') {
      const error = toGrpcError(exception);
      if (error.code === 13) this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
      return throwError(() => error);
    }
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    // A health check's answer (terminus) is already the body: it names what is down.
    if (exception instanceof HttpException && isHealthResult(exception.getResponse())) {
      void reply.status(exception.getStatus()).header('content-type', 'application/json; charset=utf-8').send(exception.getResponse());
      return;
    }
    const body = this.toBody(exception);
    void reply.status(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof TccError) {
      const status = STATUS_OF[exception.code];
      const message = status === 400 ? (exception.details.messages ?? [exception.message]) : exception.message;
      return errorBody(status, message, {
        ...(NAMED_BY_CODE.has(exception.code) ? { error: exception.code } : {}),
        ...(exception.details.fields ? { fields: exception.details.fields } : {}),
        ...(exception.details.status ? { status: exception.details.status } : {}),
      });
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const message =
        typeof response === 'object' && response !== null && 'message' in response
          ? (response as { message: string | string[] }).message
          : exception.message;
      return errorBody(status, message);
    }
    // Errors raised by Fastify itself before a handler ran (malformed JSON, body too large, ...).
    const e = exception as { statusCode?: unknown; message?: unknown };
    if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return errorBody(e.statusCode, typeof e.message === 'string' ? e.message : 'bad request');
    }
    if (isTransient(exception)) {
      this.logger.warn(`storage unavailable: ${(exception as Error).message}`);
      return errorBody(503, 'storage is unavailable, try again');
    }
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    return errorBody(500, 'internal error');
  }
}
