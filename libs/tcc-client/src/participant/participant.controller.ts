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
import { RECONCILE_PATH, TCC_HEADERS, type BranchPhase, type JsonValue, type PreparedAnswer, type ReconcileAnswer, type TransactionFinished } from '../protocol';
import type { BranchCall } from './branch-call.types';
import { PHASES, parseBranchCall } from './branch-call.parser';
import type { BranchAnswer, ParticipantAnswer } from './participant.answer';
import { answerTraced, httpStatusOfAnswer } from './participant.span';
import { ParticipantDispatcher } from './participant.dispatcher';
import { ParticipantReconciler } from './participant.reconciler';
import { PreparedQuery } from '../initiator/prepared-query.service';
import { NoFinishedHandlerError, TransactionFinishedHandlers } from '../initiator/transaction-finished.handlers';
import type { ParticipantPhase } from '../barrier/branch.barrier';
import { SignatureVerifier } from '../signing/signature.verifier';

export type { ParticipantAnswer } from './participant.answer';

/** The path of the queryPrepared endpoint under the participant prefix. */
export const QUERY_PREPARED_PATH = 'query-prepared';
/** The path of the completion callback endpoint (docs/contract.md §11) under the participant prefix. */
export const CALLBACK_PATH = 'callback';

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
      private readonly finished: TransactionFinishedHandlers,
      private readonly reconciler: ParticipantReconciler,
    ) {}

    /**
     * A completion callback (docs/contract.md §11): checked and signed like every call, then handed
     * to the @OnTransactionFinished() handlers; 200 only once they all returned. A throwing handler
     * (500) or none at all (404) leaves it to the coordinator to send again.
     */
    @Post(CALLBACK_PATH)
    @HttpCode(200)
    async callback(@Body() body: unknown, @Headers() headers: Record<string, string | undefined>): Promise<{ gid: string; received: true }> {
      const call = parseCall('callback', body, headers);
      const refused = this.signatures.refusal(call, headers);
      if (refused) throw new UnauthorizedException({ statusCode: 401, error: 'SIGNATURE_INVALID', message: refused });
      try {
        await this.finished.deliver(call.payload as unknown as TransactionFinished);
      } catch (error) {
        if (error instanceof NoFinishedHandlerError) throw new NotFoundException({ statusCode: 404, error: 'Not Found', message: error.message });
        throw new HttpException({ statusCode: 500, error: 'CALLBACK_HANDLER_FAILED', message: error instanceof Error ? error.message : String(error) }, 500);
      }
      return { gid: call.gid, received: true };
    }

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
      const origin = {
        kind: 'server' as const,
        traceparent: headers[TCC_HEADERS.traceparent],
        attributes: { 'http.request.method': 'POST', 'http.route': `/${prefix.replace(/^\/+/, '')}/:participant/:phase` },
        statusAttributes: (answer: BranchAnswer) => ({ 'http.response.status_code': httpStatusOfAnswer(answer) }),
      };
      const answer = await answerTraced(participant, call, origin, () => this.dispatcher.dispatch(participant, phase as ParticipantPhase, call));
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

    /** Reconciliation (docs/contract.md §13): what this participant did for a branch; reads only. */
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
