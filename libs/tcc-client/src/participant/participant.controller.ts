/**
 * The participant endpoints of docs/contract.md §5: `POST /<prefix>/:participant/:phase` with body
 * `{ gid, branchId, phase, payload }`. 200 when done (also for duplicates and empty rollbacks), the
 * refusal's 4xx when a try refuses, 409 BRANCH_CANCELLED for a try arriving after its cancel, 409
 * BRANCH_NOT_TRIED for a confirm with no try before it (see participant.answer.ts).
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
import type { BranchPhase, JsonValue } from '../protocol';
import type { BranchCall } from './branch-call.types';
import { PHASES, parseBranchCall } from './branch-call.parser';
import { answerCall, type ParticipantAnswer } from './participant.answer';
import { ParticipantDispatcher } from './participant.dispatcher';
import { SignatureVerifier } from '../signing/signature.verifier';

export type { ParticipantAnswer } from './participant.answer';

function parseCall(phase: string, body: unknown, headers: Record<string, string | undefined>): BranchCall {
  if (!PHASES.includes(phase as BranchPhase)) throw new NotFoundException(`unknown phase "${phase}"`);
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: 'body must be a JSON object', fields: ['body'] });
  }
  const { gid, branchId, phase: bodyPhase, payload } = body as Record<string, unknown>;
  const parsed = parseBranchCall(phase as BranchPhase, { gid, branchId, phase: bodyPhase, payload: (payload ?? null) as JsonValue | null }, headers);
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
    ) {}

    @Post(':participant/:phase')
    @HttpCode(200)
    async call(
      @Param('participant') participant: string,
      @Param('phase') phase: string,
      @Body() body: unknown,
      @Headers() headers: Record<string, string | undefined>,
    ): Promise<ParticipantAnswer> {
      const call = parseCall(phase, body, headers);
      const refused = this.signatures.refusal(call, headers);
      if (refused) throw new UnauthorizedException({ statusCode: 401, error: 'SIGNATURE_INVALID', message: refused });
      const answer = await answerCall(participant, call, () => this.dispatcher.dispatch(participant, call.phase, call));
      switch (answer.kind) {
        case 'done':
          return answer.answer;
        case 'unknown-participant':
          throw new NotFoundException({ statusCode: 404, error: 'Not Found', message: answer.message });
        case 'refused':
        case 'failed':
          throw new HttpException(answer.body, answer.statusCode);
      }
    }
  }

  controllers.set(prefix, ParticipantController);
  return ParticipantController;
}
