/**
 * Marks of a participant's three methods. Each receives the BranchCall and the EntityManager of the
 * local transaction that also holds the barrier row, and must do all its database work through it.
 */
import { SetMetadata } from '@nestjs/common';
import type { BranchPhase } from '../protocol';
import { TCC_PHASE } from './participant.metadata';

const phase = (value: BranchPhase): MethodDecorator => SetMetadata(TCC_PHASE, value);

/** Reserves the resource; throw a BranchRefusal (or a 4xx HttpException) to refuse. */
export const TccTry = (): MethodDecorator => phase('try');
/** Uses what the try reserved. Must succeed eventually: it is retried until it does. */
export const TccConfirm = (): MethodDecorator => phase('confirm');
/** Releases what the try reserved. Must succeed eventually: it is retried until it does. */
export const TccCancel = (): MethodDecorator => phase('cancel');
