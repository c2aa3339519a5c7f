import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsISO8601, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { GID_MAX_LENGTH, GLOBAL_STATUSES, ID_PATTERN, PARTICIPANT_MAX_LENGTH, TRANSACTION_MODES, type GlobalStatus, type TransactionMode } from '@tcc/client/protocol';

/**
 * The ISO 8601 forms Date.parse reads (a calendar date, optionally a time and an offset): ISO
 * week and ordinal dates and the basic format pass IsISO8601 but would parse to NaN.
 */
const CALENDAR_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

export class ListTransactionsDto {
  /** tcc, saga or message. */
  @IsOptional()
  @IsIn(TRANSACTION_MODES as unknown as string[])
  mode?: TransactionMode;

  @IsOptional()
  @IsIn(GLOBAL_STATUSES as unknown as string[])
  status?: GlobalStatus;

  @IsOptional()
  @IsString()
  @Length(1, PARTICIPANT_MAX_LENGTH)
  participant?: string;

  /** The API client that began the transactions. */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  client?: string;

  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  attention?: boolean;

  @IsOptional()
  @IsISO8601()
  @Matches(CALENDAR_TIME, { message: 'createdFrom must be a calendar date or date-time, e.g. 2026-12-01T10:00:00Z' })
  createdFrom?: string;

  @IsOptional()
  @IsISO8601()
  @Matches(CALENDAR_TIME, { message: 'createdTo must be a calendar date or date-time, e.g. 2026-12-01T10:00:00Z' })
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
