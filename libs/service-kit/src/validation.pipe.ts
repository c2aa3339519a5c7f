/**
 * Body validation for the example services: unknown fields are refused, and a 400
 * names every bad field. `flattenValidationErrors` is shared with the coordinator's own pipe.
 */
import { BadRequestException, ValidationPipe, type ValidationError } from '@nestjs/common';

export function flattenValidationErrors(errors: ValidationError[], prefix = ''): { fields: string[]; messages: string[] } {
  const fields: string[] = [];
  const messages: string[] = [];
  for (const error of errors) {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    if (error.constraints) {
      fields.push(path);
      messages.push(...Object.values(error.constraints));
    }
    const nested = flattenValidationErrors(error.children ?? [], path);
    fields.push(...nested.fields);
    messages.push(...nested.messages);
  }
  return { fields, messages };
}

/** The error a failed validation throws; by default a 400 naming the fields. */
export type ValidationFailure = (invalid: { fields: string[]; messages: string[] }) => Error;

const badRequest: ValidationFailure = ({ fields, messages }) =>
  new BadRequestException({ statusCode: 400, error: 'Bad Request', message: messages, fields });

export function createValidationPipe(failure: ValidationFailure = badRequest): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: (errors) => failure(flattenValidationErrors(errors)),
  });
}
