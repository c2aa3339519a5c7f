import { Injectable, type PipeTransform } from '@nestjs/common';
import { GID_MAX_LENGTH, ID_PATTERN } from '@tcc/client/protocol';
import { invalidArgument } from '../domain/transaction.errors';

/** Checks the `:gid` path parameter with the same rule as a gid in a body. */
@Injectable()
export class GidPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (typeof value !== 'string' || value.length < 1 || value.length > GID_MAX_LENGTH || !ID_PATTERN.test(value)) {
      throw invalidArgument('gid', `gid must be 1 to ${GID_MAX_LENGTH} characters of A-Z a-z 0-9 _ . : -`);
    }
    return value;
  }
}
