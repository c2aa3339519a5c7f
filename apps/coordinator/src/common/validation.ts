/**
 * Body validation for the DTOs of the admin API: unknown fields are refused, and a 400 names every
 * bad field. (The v1 API checks its bodies with compiled schemas: transactions/request.validation.ts.)
 */
import { ValidationPipe } from '@nestjs/common';
import { flattenValidationErrors } from '@tcc/service-kit';
import { TccError, TccErrorCode } from '../transactions/transaction.errors';

export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    // A missing body is an empty one: every field of commit and rollback is optional.
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: (errors) => {
      const { fields, messages } = flattenValidationErrors(errors);
      return new TccError(TccErrorCode.INVALID_ARGUMENT, messages.join('; '), { fields, messages });
    },
  });
}
