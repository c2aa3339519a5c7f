/** Body validation for every DTO: unknown fields are refused, and a 400 names every bad field. */
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

const sharedPipe = createValidationPipe();

/** Validates a plain object against a DTO class outside HTTP (gRPC): same rules, same errors. */
export async function validateDto<T extends object>(dto: new () => T, plain: Record<string, unknown>): Promise<T> {
  return (await sharedPipe.transform(plain, { type: 'body', metatype: dto })) as T;
}
