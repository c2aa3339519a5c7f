/**
 * Marks of a participant's methods: a TCC participant has @TccTry, @TccConfirm and @TccCancel; a saga
 * participant @SagaAction and @SagaCompensate; a message consumer @MessageHandler alone (see
 * ParticipantExplorer). Each method receives the BranchCall and the handle of the local transaction
 * that also holds the barrier row, and must do all its database work through it.
 */
import { SetMetadata } from '@nestjs/common';
import type { ParticipantPhase } from '../barrier/branch.barrier';
import { TCC_PHASE } from './participant.metadata';

const phase = (value: ParticipantPhase): MethodDecorator => SetMetadata(TCC_PHASE, value);

/** Reserves the resource; throw a BranchRefusal (or a 4xx HttpException) to refuse. */
export const TccTry = (): MethodDecorator => phase('try');
/** Uses what the try reserved. Must succeed eventually: it is retried until it does. */
export const TccConfirm = (): MethodDecorator => phase('confirm');
/** Releases what the try reserved. Must succeed eventually: it is retried until it does. */
export const TccCancel = (): MethodDecorator => phase('cancel');

/**
 * A saga step's action (docs/contract.md §9): does the work, visibly and at once. Throw a
 * BranchRefusal (or a 4xx HttpException) to refuse: the saga then compensates every step whose
 * action was sent, this one included. Any other failure is retried until the saga's deadline.
 * Runs at most once per gid and branch (a repeat is answered from the barrier); one arriving after
 * its compensation is refused (409 BRANCH_CANCELLED) without running.
 */
export const SagaAction = (): MethodDecorator => phase('action');
/**
 * Undoes what the action did. Must succeed eventually: it is retried until it does. A compensation
 * whose action never ran is answered as an empty compensation without running.
 */
export const SagaCompensate = (): MethodDecorator => phase('compensate');
/**
 * Consumes one step of a reliable message (docs/contract.md §10), in the same local transaction as
 * its barrier row: it runs once per gid and branch, and a redelivery is answered 200 without
 * running. Anything but success (a refusal included) is redelivered later.
 */
export const MessageHandler = (): MethodDecorator => phase('message');
