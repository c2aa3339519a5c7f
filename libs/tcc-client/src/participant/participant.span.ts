/**
 * The span of one participant call (docs/contract.md §12): `tcc.participant.<phase>`, a SERVER span
 * child of the caller's traceparent (an INTERNAL one for the initiator's in-process try), with the
 * barrier's verdict as `tcc.barrier.outcome`.
 */
import { TCC_ATTRIBUTES, modeOfPhase } from '../tracing/span-attributes';
import { inSpan, type TccSpanAttributes, type TccSpanKind } from '../tracing/tcc.tracing';
import type { BranchCall } from './branch-call.types';
import { answerCall, type BranchAnswer } from './participant.answer';
import type { DispatchResult } from './participant.dispatcher';

/** What the barrier made of the call; undefined when it never reached the barrier. */
export function barrierOutcome(result: DispatchResult): string | undefined {
  switch (result.kind) {
    case 'done':
      return result.outcome;
    case 'hanging':
      return 'refused-late';
    case 'not-tried':
      return 'not-tried';
    default:
      return undefined;
  }
}

export interface ParticipantSpanOrigin {
  kind: Extract<TccSpanKind, 'server' | 'internal'>;
  /** The incoming traceparent header or metadata. */
  traceparent?: string;
  /** Transport attributes (http.route, rpc.*). */
  attributes: TccSpanAttributes;
  /** The transport's answer status to record (http.response.status_code, rpc.grpc.status_code). */
  statusAttributes?: (answer: BranchAnswer) => TccSpanAttributes;
}

/** answerCall inside the call's span. */
export function answerTraced(participant: string, call: BranchCall, origin: ParticipantSpanOrigin, dispatch: () => Promise<DispatchResult>): Promise<BranchAnswer> {
  const attributes = {
    [TCC_ATTRIBUTES.gid]: call.gid,
    [TCC_ATTRIBUTES.branchId]: call.branchId,
    [TCC_ATTRIBUTES.phase]: call.phase,
    [TCC_ATTRIBUTES.mode]: modeOfPhase(call.phase),
    'tcc.participant': participant,
    ...origin.attributes,
  };
  return inSpan(`tcc.participant.${call.phase}`, { kind: origin.kind, parent: origin.traceparent, attributes }, async (span) => {
    const answer = await answerCall(participant, call, async () => {
      const result = await dispatch();
      span.set({ [TCC_ATTRIBUTES.barrierOutcome]: barrierOutcome(result) });
      return result;
    });
    if (origin.statusAttributes) span.set(origin.statusAttributes(answer));
    if (answer.kind === 'failed') span.fail(answer.message);
    return answer;
  });
}

/** The HTTP status an answer goes out with. */
export function httpStatusOfAnswer(answer: BranchAnswer): number {
  switch (answer.kind) {
    case 'done':
      return 200;
    case 'not-found':
      return 404;
    default:
      return answer.statusCode;
  }
}
