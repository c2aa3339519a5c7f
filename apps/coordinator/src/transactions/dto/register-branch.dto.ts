import { Allow, IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import {
  BRANCH_ID_MAX_LENGTH,
  ID_PATTERN,
  MAX_ATTEMPTS_LIMIT,
  MAX_RETRY_FOR_MS,
  PARTICIPANT_MAX_LENGTH,
  TARGET_MAX_LENGTH,
  type JsonValue,
  type Protocol,
  type RegisterBranchRequest,
} from '@tcc/client/protocol';

export class RegisterBranchDto implements RegisterBranchRequest {
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

  /** This branch's own retry budget (docs/contract.md §2.1): ms from a branch's first failed phase-two call before a person is asked. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_RETRY_FOR_MS)
  retryFor?: number;

  /** Retry budget: failed phase-two calls of a branch before a person is asked. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_ATTEMPTS_LIMIT)
  maxAttempts?: number;
}
