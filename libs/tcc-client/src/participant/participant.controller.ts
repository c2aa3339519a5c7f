/**
 * The participant endpoints of docs/contract.md §5: `POST /<prefix>/:participant/:phase` with body
 * `{ gid, branchId, phase, payload }`, for the TCC phases, a saga's action and compensate, and a
 * message's delivery. 200 when done (also for duplicates and empty rollbacks), the refusal's 4xx
 * when a try or action refuses, 409 BRANCH_CANCELLED for a try (action) arriving after its cancel
 * (compensation), 409 BRANCH_NOT_TRIED for a confirm with no try before it (see participant.answer.ts).
 *
 * And a message initiator's queryPrepared endpoint (§10): `POST /<prefix>/query-prepared` with body
 * `{ gid, branchId: "prepared", phase: "query", payload: null }`, signed like the others, answering
 * 200 `{ status: "COMMITTED" | "ROLLED_BACK" }`. One path segment, so it never meets
 * `:participant/:phase`.
 */
import {
  BadRequestException,
  Body,
  Controller,
  Headers,
  HttpCode,
  HttpException,
  NotFoundException,
  Param,
  Post,
  Type,
  UnauthorizedException,
} from '@nestjs/common';
import { RECONCILE_PATH, type BranchPhase, type JsonValue, type PreparedAnswer, type ReconcileAnswer } from '../protocol';
import type { BranchCall } from './branch-call.types';
import { PHASES, parseBranchCall } from './branch-call.parser';
import { answerCall, type ParticipantAnswer } from './participant.answer';
import { ParticipantDispatcher } from './participant.dispatcher';
import { ParticipantReconciler } from './participant.reconciler';
import { PreparedQuery } from '../initiator/prepared-query.service';
import type { ParticipantPhase } from '../barrier/branch.barrier';
import { SignatureVerifier } from '../signing/signature.verifier';

export type { ParticipantAnswer } from './participant.answer';

/** The path of the queryPrepared endpoint under the participant prefix. */
export const QUERY_PREPARED_PATH = 'query-prepared';

function parseCall(phase: BranchPhase, body: unknown, headers: Record<string, string | undefined>): BranchCall {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: 'body must be a JSON object', fields: ['body'] });
  }
  const { gid, branchId, phase: bodyPhase, payload } = body as Record<string, unknown>;
  const parsed = parseBranchCall(phase, { gid, branchId, phase: bodyPhase, payload: (payload ?? null) as JsonValue | null }, headers);
  if ('invalid' in parsed) {
    const fields = parsed.invalid;
    throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: `invalid ${fields.join(', ')}`, fields });
  }
  return parsed.call;
}

const controllers = new Map<string, Type<unknown>>();

/** One controller class per path prefix, since a route path is fixed when its class is declared. */
export function participantControllerFor(prefix: string): Type<unknown> {
  const existing = controllers.get(prefix);
  if (existing) return existing;

  @Controller(prefix)
  class ParticipantController {
    constructor(
      private readonly dispatcher: ParticipantDispatcher,
      private readonly signatures: SignatureVerifier,
      private readonly prepared: PreparedQuery,
      private readonly reconciler: ParticipantReconciler,
    ) {}

    @Post(QUERY_PREPARED_PATH)
    @HttpCode(200)
    async queryPrepared(@Body() body: unknown, @Headers() headers: Record<string, string | undefined>): Promise<PreparedAnswer> {
      const call = parseCall('query', body, headers);
      const refused = this.signatures.refusal(call, headers);
      if (refused) throw new UnauthorizedException({ statusCode: 401, error: 'SIGNATURE_INVALID', message: refused });
      // A database failure answers 500: the coordinator asks again later.
      return { status: await this.prepared.answer(call.gid) };
    }

    @Post(':participant/:phase')
    @HttpCode(200)
    async call(
      @Param('participant') participant: string,
      @Param('phase') phase: string,
      @Body() body: unknown,
      @Headers() headers: Record<string, string | undefined>,
    ): Promise<ParticipantAnswer | ReconcileAnswer> {
      if (phase === RECONCILE_PATH) return this.reconcile(participant, body, headers);
      if (!PHASES.includes(phase as ParticipantPhase)) throw new NotFoundException(`unknown phase "${phase}"`);
      const call = parseCall(phase as ParticipantPhase, body, headers);
      const refused = this.signatures.refusal(call, headers);
      if (refused) throw new UnauthorizedException({ statusCode: 401, error: 'SIGNATURE_INVALID', message: refused });
      const answer = await answerCall(participant, call, () => this.dispatcher.dispatch(participant, phase as ParticipantPhase, call));
      switch (answer.kind) {
        case 'done':
          return answer.answer;
        case 'not-found':
          throw new NotFoundException({ statusCode: 404, error: 'Not Found', message: answer.message });
        case 'refused':
        case 'failed':
          throw new HttpException(answer.body, answer.statusCode);
      }
    }

    /** Reconciliation (docs/contract.md §12): what this participant did for a branch; reads only. */
    private async reconcile(participant: string, body: unknown, headers: Record<string, string | undefined>): Promise<ReconcileAnswer> {
      const call = parseCall('reconcile', body, headers);
      const refused = this.signatures.refusal(call, headers);
      if (refused) throw new UnauthorizedException({ statusCode: 401, error: 'SIGNATURE_INVALID', message: refused });
      // A database failure answers 500: the coordinator asks again, then reports the branch UNREACHABLE.
      const result = await this.reconciler.answer(participant, call);
      if (result.kind === 'not-found') throw new NotFoundException({ statusCode: 404, error: 'Not Found', message: result.message });
      return result.answer;
    }
  }

  controllers.set(prefix, ParticipantController);
  return ParticipantController;
}
