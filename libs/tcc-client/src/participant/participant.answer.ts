/**
 * What a participant call answers (docs/contract.md §5), decided once for the HTTP endpoint, the gRPC
 * server and the initiator's in-process try: each only carries the answer in its own form.
 */
import { HttpException, Logger } from '@nestjs/common';
import { BRANCH_CANCELLED, BRANCH_NOT_TRIED, refusalCode, type BranchPhase } from '../protocol';
import type { BranchCall } from './branch-call.types';
import { BranchRefusal } from './branch-refusal.error';
import type { CallOutcome, DispatchResult } from './participant.dispatcher';

/** The body of a call that is done, over HTTP and (as JSON text in `result`) over gRPC. */
export interface ParticipantAnswer {
  gid: string;
  branchId: string;
  phase: BranchPhase;
  outcome: CallOutcome;
  result: unknown;
}

export type BranchAnswer =
  | { kind: 'done'; answer: ParticipantAnswer }
  /**
   * A 4xx naming why (`code`): a try or action the business refused, a try after its cancel (an
   * action after its compensation), a confirm with no try. `body` is the HTTP answer: `{ statusCode, error: code, message }`, or the body of an
   * HttpException the method threw.
   */
  | { kind: 'refused'; statusCode: number; code: string; message: string; body: Record<string, unknown> }
  /** No such participant here, or not of the kind that has this phase: 404, gRPC NOT_FOUND. */
  | { kind: 'not-found'; message: string }
  /** Anything else the method threw: 500 (or a thrown HttpException's 5xx), gRPC INTERNAL; retried. */
  | { kind: 'failed'; statusCode: number; message: string; body: Record<string, unknown> };

const logger = new Logger('TccParticipant');

function refused(statusCode: number, code: string, message: string): BranchAnswer {
  return { kind: 'refused', statusCode, code, message, body: { statusCode, error: code, message } };
}

function bodyOf(error: HttpException): Record<string, unknown> {
  const response = error.getResponse();
  return typeof response === 'object' && response !== null
    ? (response as Record<string, unknown>)
    : { statusCode: error.getStatus(), message: String(response) };
}

function answerOfError(participant: string, call: BranchCall, error: unknown): BranchAnswer {
  if (error instanceof BranchRefusal) return refused(error.statusCode, error.code, error.message);
  if (error instanceof HttpException) {
    const statusCode = error.getStatus();
    const body = bodyOf(error);
    if (statusCode >= 400 && statusCode <= 499) {
      // Named by the rule the caller reads it with (ParticipantCaller).
      return { kind: 'refused', statusCode, code: refusalCode(body, statusCode), message: error.message, body };
    }
    if (statusCode >= 500) return { kind: 'failed', statusCode, message: error.message, body };
  }
  const message = error instanceof Error ? error.message : String(error);
  logger.error({ gid: call.gid, branchId: call.branchId, participant, phase: call.phase, msg: 'participant call failed', error: message });
  return { kind: 'failed', statusCode: 500, message, body: { statusCode: 500, error: 'Internal Server Error', message } };
}

/** Runs `dispatch` (the barrier and the business method) and decides what the call answers. */
export async function answerCall(participant: string, call: BranchCall, dispatch: () => Promise<DispatchResult>): Promise<BranchAnswer> {
  let result: DispatchResult;
  try {
    result = await dispatch();
  } catch (error) {
    return answerOfError(participant, call, error);
  }
  const { gid, branchId, phase } = call;
  switch (result.kind) {
    case 'done':
      return { kind: 'done', answer: { gid, branchId, phase, outcome: result.outcome, result: result.result } };
    case 'hanging':
      return refused(409, BRANCH_CANCELLED, `${phase} of ${gid}/${branchId} arrived after its ${phase === 'action' ? 'compensation' : 'cancel'}`);
    case 'not-tried':
      return refused(409, BRANCH_NOT_TRIED, `confirm of ${gid}/${branchId} arrived with no try before it`);
    case 'unknown-participant':
      return { kind: 'not-found', message: `unknown participant "${participant}"` };
    case 'unknown-phase':
      return { kind: 'not-found', message: `participant "${participant}" is a ${result.participantKind} participant and has no ${phase} method` };
  }
}
