/** The message bodies (docs/contract.md §10) as the OpenAPI document describes them; request.validation.ts holds the rules. */
import { Allow, IsBoolean, IsIn, IsInt, IsObject, IsOptional, IsString } from 'class-validator';
import type { AbortMessageRequest, JsonValue, MessageProtocol, MessageStep, PrepareMessageRequest, SubmitMessageRequest } from '@tcc/client/protocol';
import { FinishOptionsDto, RetryBudgetDto } from './finish-options.dto';

export class MessageStepDto extends RetryBudgetDto implements MessageStep {
  @IsString()
  branchId!: string;

  @IsOptional()
  @IsString()
  participant?: string;

  @IsIn(['http', 'grpc', 'amqp', 'nats'])
  protocol!: MessageProtocol;

  /** http/grpc: the target called; amqp: <broker>/<exchange>/<routingKey>; nats: <broker>/<subject>. */
  @IsString()
  action!: string;

  @Allow()
  payload?: JsonValue;
}

export class PrepareMessageDto extends FinishOptionsDto implements PrepareMessageRequest {
  @IsString()
  gid!: string;

  steps!: MessageStepDto[];

  /** The initiator's endpoint answering whether its local transaction committed. */
  @IsString()
  queryPrepared!: string;

  @IsOptional()
  @IsInt()
  timeoutMs?: number;

  @IsOptional()
  @IsObject()
  metadata?: Record<string, JsonValue>;}

export class SubmitMessageDto implements SubmitMessageRequest {
  @IsOptional()
  @IsBoolean()
  wait?: boolean;
}

export class AbortMessageDto implements AbortMessageRequest {
  @IsOptional()
  @IsString()
  reason?: string;
}
