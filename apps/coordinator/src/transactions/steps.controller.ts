/**
 * HTTP API v1 for sagas and reliable messages (docs/contract.md §9, §10). Thin like the TCC
 * controller: bodies checked by the compiled schemas, everything else in the services.
 */
import { Body, Controller, Headers, HttpCode, Param, Post, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { RouteSchema } from '@nestjs/platform-fastify';
import type { BeginResponse, DecisionResponse } from '@tcc/client/protocol';
import { ApiClientGuard } from '../auth/api-client.guard';
import { ApiClient } from '../auth/api-client.decorator';
import { GidPipe } from './gid.pipe';
import { SagaService } from './saga.service';
import { MessageService } from './message.service';
import { StartSagaDto } from './dto/saga.dto';
import { AbortMessageDto, PrepareMessageDto, SubmitMessageDto } from './dto/message.dto';
import { BodyPipe } from './body.pipe';
import {
  validateAbort,
  validateMessage,
  validateSaga,
  validateSubmit,
  type AbortBody,
  type MessageBody,
  type SagaBody,
  type SubmitBody,
} from './request.validation';

const text = { type: 'string' } as const;
const DECIDED = { type: 'object', properties: { gid: text, status: text } } as const;
const PREPARED = { type: 'object', properties: { gid: text, status: text, createdAt: text, expiresAt: text } } as const;

@ApiTags('sagas')
@ApiBearerAuth()
@UseGuards(ApiClientGuard)
@Controller('v1/sagas')
export class SagasController {
  constructor(private readonly sagas: SagaService) {}

  @Post()
  @RouteSchema({ response: { 200: DECIDED, 201: DECIDED } })
  @ApiBody({ type: StartSagaDto })
  async start(
    @Body(new BodyPipe(validateSaga)) body: SagaBody,
    @ApiClient() client: string,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('traceparent') traceparent?: string,
  ): Promise<DecisionResponse> {
    const { created, body: answer } = await this.sagas.start(body, client, traceparent);
    reply.status(created ? 201 : 200);
    return answer;
  }
}

@ApiTags('messages')
@ApiBearerAuth()
@UseGuards(ApiClientGuard)
@Controller('v1/messages')
export class MessagesController {
  constructor(private readonly messages: MessageService) {}

  @Post()
  @RouteSchema({ response: { 200: PREPARED, 201: PREPARED } })
  @ApiBody({ type: PrepareMessageDto })
  async prepare(
    @Body(new BodyPipe(validateMessage)) body: MessageBody,
    @ApiClient() client: string,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('traceparent') traceparent?: string,
  ): Promise<BeginResponse> {
    const { created, body: answer } = await this.messages.prepare(body, client, traceparent);
    reply.status(created ? 201 : 200);
    return answer;
  }

  @Post(':gid/submit')
  @RouteSchema({ response: { 200: DECIDED } })
  @ApiBody({ type: SubmitMessageDto, required: false })
  @HttpCode(200)
  submit(
    @Param('gid', GidPipe) gid: string,
    @Body(new BodyPipe(validateSubmit)) body: SubmitBody,
    @ApiClient() client: string,
    @Headers('traceparent') traceparent?: string,
  ): Promise<DecisionResponse> {
    return this.messages.submit(gid, client, body.wait ?? false, traceparent);
  }

  @Post(':gid/abort')
  @RouteSchema({ response: { 200: DECIDED } })
  @ApiBody({ type: AbortMessageDto, required: false })
  @HttpCode(200)
  abort(
    @Param('gid', GidPipe) gid: string,
    @Body(new BodyPipe(validateAbort)) body: AbortBody,
    @ApiClient() client: string,
    @Headers('traceparent') traceparent?: string,
  ): Promise<DecisionResponse> {
    return this.messages.abort(gid, client, body.reason, traceparent);
  }
}
