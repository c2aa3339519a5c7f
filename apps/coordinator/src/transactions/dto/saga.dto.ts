/** The saga body (docs/contract.md §9) as the OpenAPI document describes it; request.validation.ts holds the rules. */
import { Allow, IsBoolean, IsIn, IsInt, IsObject, IsOptional, IsString } from 'class-validator';
import type { JsonValue, Protocol, SagaStep, StartSagaRequest } from '@tcc/client/protocol';
import { FinishOptionsDto, RetryBudgetDto } from './finish-options.dto';

export class SagaStepDto extends RetryBudgetDto implements SagaStep {
  @IsString()
  branchId!: string;

  @IsOptional()
  @IsString()
  participant?: string;

  @IsIn(['http', 'grpc'])
  protocol!: Protocol;

  /** The action's target: an http(s) URL or host:port/package.Service/Method. */
  @IsString()
  action!: string;

  /** The compensation's target, same forms. */
  @IsString()
  compensate!: string;

  @Allow()
  payload?: JsonValue;
}

export class StartSagaDto extends FinishOptionsDto implements StartSagaRequest {
  @IsOptional()
  @IsString()
  gid?: string;

  @IsOptional()
  @IsInt()
  timeoutMs?: number;

  steps!: SagaStepDto[];

  @IsOptional()
  @IsBoolean()
  concurrent?: boolean;

  /** With concurrent: branchId -> the branchIds whose actions must succeed first. */
  @IsOptional()
  @IsObject()
  after?: Record<string, string[]>;

  @IsOptional()
  @IsBoolean()
  wait?: boolean;

  @IsOptional()
  @IsObject()
  metadata?: Record<string, JsonValue>;}
