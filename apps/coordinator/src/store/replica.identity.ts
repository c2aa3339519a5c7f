/** This replica's name in leases: unique per process, readable by an operator. */
import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

@Injectable()
export class ReplicaIdentity {
  readonly id = `${hostname().slice(0, 40)}:${process.pid}:${randomBytes(4).toString('hex')}`;
}
