/**
 * HTTP API v1 (docs/contract.md §3). Thin: bodies checked by the compiled schemas of
 * request.validation.ts, decisions in the service. The DTO classes describe the bodies in the
 * OpenAPI document only.
 */
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiTags } from '@nestjs/swagger';
import { RouteSchema } from '@nestjs/platform-fastify';
import type { BeginResponse, DecisionResponse, RegisterBranchResponse, TransactionView } from '@tcc/client/protocol';
import { TransactionService } from './transaction.service';
import { BeginDto } from './dto/begin.dto';
import { RegisterBranchDto } from './dto/register-branch.dto';
import { CommitDto, RollbackDto } from './dto/decision.dto';
import { GidPipe } from './gid.pipe';
import { ApiClientGuard } from '../auth/api-client.guard';
import { ApiClient } from '../auth/api-client.decorator';
import { BodyPipe } from './body.pipe';
import {
  validateBegin,
  validateCommit,
  validateRegister,
  validateRollback,
  type BeginBody,
  type CommitBody,
  type RegisterBody,
  type RollbackBody,
} from './request.validation';


// Answers are written by serialisers Fastify compiles from these schemas once (fast-json-stringify),
// not by JSON.stringify per request. Error answers keep their own shape (see ApiExceptionFilter).
const text = { type: 'string' } as const;
const BEGUN = { type: 'object', properties: { gid: text, status: text, createdAt: text, expiresAt: text } } as const;
const REGISTERED = { type: 'object', properties: { gid: text, branchId: text, status: text } } as const;
const DECIDED = { type: 'object', properties: { gid: text, status: text } } as const;

const TRACEPARENT_HEADER = { name: 'traceparent', required: false, description: 'W3C trace context, passed on to the confirms and cancels' };

@ApiTags('transactions')
@ApiBearerAuth()
@UseGuards(ApiClientGuard)
@Controller('v1/transactions')
export class TransactionsController {
  constructor(private readonly transactions: TransactionService) {}

  @Post()
  @RouteSchema({ response: { 200: BEGUN, 201: BEGUN } })
  @ApiBody({ type: BeginDto, required: false })
  @ApiHeader(TRACEPARENT_HEADER)
  async begin(
    @Body(new BodyPipe(validateBegin)) body: BeginBody,
    @ApiClient() client: string,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('traceparent') traceparent?: string,
  ): Promise<BeginResponse> {
    const { created, body: answer } = await this.transactions.begin(body, client, traceparent);
    reply.status(created ? 201 : 200);
    return answer;
  }

  @Post(':gid/branches')
  @RouteSchema({ response: { 200: REGISTERED, 201: REGISTERED } })
  @ApiBody({ type: RegisterBranchDto })
  async register(
    @Param('gid', GidPipe) gid: string,
    @Body(new BodyPipe(validateRegister)) body: RegisterBody,
    @ApiClient() client: string,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('traceparent') traceparent?: string,
  ): Promise<RegisterBranchResponse> {
    const { created, body: answer } = await this.transactions.registerBranch(gid, body, client, traceparent);
    reply.status(created ? 201 : 200);
    return answer;
  }

  @Post(':gid/commit')
  @RouteSchema({ response: { 200: DECIDED } })
  @ApiBody({ type: CommitDto, required: false })
  @ApiHeader(TRACEPARENT_HEADER)
  @HttpCode(200)
  commit(
    @Param('gid', GidPipe) gid: string,
    @Body(new BodyPipe(validateCommit)) body: CommitBody,
    @ApiClient() client: string,
    @Headers('traceparent') traceparent?: string,
  ): Promise<DecisionResponse> {
    return this.transactions.commit(gid, client, body.wait ?? true, traceparent);
  }

  @Post(':gid/rollback')
  @RouteSchema({ response: { 200: DECIDED } })
  @ApiBody({ type: RollbackDto, required: false })
  @ApiHeader(TRACEPARENT_HEADER)
  @HttpCode(200)
  rollback(
    @Param('gid', GidPipe) gid: string,
    @Body(new BodyPipe(validateRollback)) body: RollbackBody,
    @ApiClient() client: string,
    @Headers('traceparent') traceparent?: string,
  ): Promise<DecisionResponse> {
    return this.transactions.rollback(gid, client, body.wait ?? true, body.reason, traceparent);
  }

  @Get(':gid')
  get(@Param('gid', GidPipe) gid: string, @ApiClient() client: string): Promise<TransactionView> {
    return this.transactions.get(gid, client);
  }
}
