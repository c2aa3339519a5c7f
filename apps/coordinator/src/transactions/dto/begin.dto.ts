import { IsInt, IsObject, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { GID_MAX_LENGTH, ID_PATTERN, MAX_TIMEOUT_MS, type BeginRequest, type JsonValue } from '@tcc/client/protocol';
import { FinishOptionsDto } from './finish-options.dto';

export class BeginDto extends FinishOptionsDto implements BeginRequest {
  @IsOptional()
  @IsString()
  @Length(1, GID_MAX_LENGTH)
  @Matches(ID_PATTERN, { message: 'gid must contain only the characters A-Z a-z 0-9 _ . : -' })
  gid?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TIMEOUT_MS)
  timeoutMs?: number;

  @IsOptional()
  @IsObject()
  metadata?: Record<string, JsonValue>;}
