import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsISO8601, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { GID_MAX_LENGTH, GLOBAL_STATUSES, ID_PATTERN, PARTICIPANT_MAX_LENGTH, type GlobalStatus } from '@tcc/client/protocol';

export class ListTransactionsDto {
  @IsOptional()
  @IsIn(GLOBAL_STATUSES as unknown as string[])
  status?: GlobalStatus;

  @IsOptional()
  @IsString()
  @Length(1, PARTICIPANT_MAX_LENGTH)
  participant?: string;

  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  attention?: boolean;

  @IsOptional()
  @IsISO8601()
  createdFrom?: string;

  @IsOptional()
  @IsISO8601()
  createdTo?: string;

  /** The `nextCursor` of the previous page. */
  @IsOptional()
  @IsString()
  @Length(1, GID_MAX_LENGTH)
  @Matches(ID_PATTERN)
  cursor?: string;

  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value))
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}
