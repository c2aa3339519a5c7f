/** Runs a compiled body validator (request.validation.ts) as a Nest pipe. */
import type { PipeTransform } from '@nestjs/common';
import type { BodyValidator } from './request.validation';

export class BodyPipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly validate: BodyValidator<T>) {}
  transform(value: unknown): T {
    return this.validate(value);
  }
}
