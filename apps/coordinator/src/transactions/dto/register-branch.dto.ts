import { Allow, IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';
import {
  BRANCH_ID_MAX_LENGTH,
  ID_PATTERN,
  PARTICIPANT_MAX_LENGTH,
  TARGET_MAX_LENGTH,
  type JsonValue,
  type Protocol,
  type RegisterBranchRequest,
} from '@tcc/client/protocol';
import { RetryBudgetDto } from './finish-options.dto';

/** Its retry budget (the inherited retryFor, maxAttempts) is this branch's own, and wins over the transaction's. */
export class RegisterBranchDto extends RetryBudgetDto implements RegisterBranchRequest {
  @IsString()
  @Length(1, BRANCH_ID_MAX_LENGTH)
  @Matches(ID_PATTERN, { message: 'branchId must contain only the characters A-Z a-z 0-9 _ . : -' })
  branchId!: string;

  @IsOptional()
  @IsString()
  @Length(1, PARTICIPANT_MAX_LENGTH)
  participant?: string;

  @IsIn(['http', 'grpc'])
  protocol!: Protocol;

  @IsString()
  @Length(1, TARGET_MAX_LENGTH)
  confirm!: string;

  @IsString()
  @Length(1, TARGET_MAX_LENGTH)
  cancel!: string;

  /** Any JSON value, handed back to the participant in confirm and cancel. */
  @Allow()
  payload?: JsonValue;
}
