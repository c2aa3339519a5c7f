/**
 * Body validation for the DTOs of the admin API: unknown fields are refused, and a 400 names every
 * bad field, as the coordinator's own INVALID_ARGUMENT error. (The v1 API checks its bodies with
 * compiled schemas: transactions/request.validation.ts.)
 */
import type { ValidationPipe } from '@nestjs/common';
import { createValidationPipe as servicePipe } from '@tcc/service-kit';
import { TccError, TccErrorCode } from '../domain/transaction.errors';

export function createValidationPipe(): ValidationPipe {
  return servicePipe(({ fields, messages }) => new TccError(TccErrorCode.INVALID_ARGUMENT, messages.join('; '), { fields, messages }));
}
