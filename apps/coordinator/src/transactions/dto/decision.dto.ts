import { IsBoolean, IsOptional, IsString, MaxLength } from 'class-validator';
import { REASON_MAX_LENGTH, type CommitRequest, type RollbackRequest } from '@tcc/client/protocol';

export class CommitDto implements CommitRequest {
  @IsOptional()
  @IsBoolean()
  wait?: boolean;
}

export class RollbackDto implements RollbackRequest {
  @IsOptional()
  @IsBoolean()
  wait?: boolean;

  @IsOptional()
  @IsString()
  @MaxLength(REASON_MAX_LENGTH)
  reason?: string;
}
