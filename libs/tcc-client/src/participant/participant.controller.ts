/**
 * The participant endpoints of DESIGN.md §5: `POST /<prefix>/:participant/:phase` with body
 * `{ gid, branchId, phase, payload }`. 200 when done (also for duplicates and empty rollbacks), the
 * refusal's 4xx when a try refuses, 409 BRANCH_CANCELLED for a try arriving after its cancel.
 */
import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  Headers,
  HttpCode,
  HttpException,
  InternalServerErrorException,
  Logger,
  NotFoundException,
  Param,
  Post,
  Type,
  UnauthorizedException,
} from '@nestjs/common';
import type { BranchPhase, JsonValue } from '../protocol';
import type { BranchCall } from './branch-call.types';
import { PHASES, parseBranchCall } from './branch-call.parser';
import { BranchRefusal } from './branch-refusal.error';
import { CallOutcome, ParticipantDispatcher } from './participant.dispatcher';
import { SignatureVerifier } from '../signing/signature.verifier';

export interface ParticipantAnswer {
  gid: string;
  branchId: string;
  phase: BranchPhase;
  outcome: CallOutcome;
  result: unknown;
}

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
    private readonly logger = new Logger('TccParticipant');

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
      let result;
      try {
        result = await this.dispatcher.dispatch(participant, call.phase, call);
      } catch (error) {
        if (error instanceof BranchRefusal) {
          throw new HttpException({ statusCode: error.statusCode, error: error.code, message: error.message }, error.statusCode);
        }
        if (error instanceof HttpException) throw error;
        const message = error instanceof Error ? error.message : String(error);
        const { gid, branchId } = call;
        this.logger.error({ gid, branchId, participant, phase: call.phase, msg: 'participant call failed', error: message });
        throw new InternalServerErrorException({ statusCode: 500, error: 'Internal Server Error', message });
      }
      switch (result.kind) {
        case 'unknown-participant':
          throw new NotFoundException({ statusCode: 404, error: 'Not Found', message: `unknown participant "${participant}"` });
        case 'hanging':
          throw new ConflictException({
            statusCode: 409,
            error: 'BRANCH_CANCELLED',
            message: `try of ${call.gid}/${call.branchId} arrived after its cancel`,
          });
        case 'done':
          return { gid: call.gid, branchId: call.branchId, phase: call.phase, outcome: result.outcome, result: result.result };
      }
    }
  }

  controllers.set(prefix, ParticipantController);
  return ParticipantController;
}
