import { Transform } from 'class-transformer';
import { IsDefined, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

/** The ISO 8601 forms Date.parse reads (as list-transactions.dto.ts). */
const CALENDAR_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** `POST /admin/v1/reconciliations`: the window [from, to) of finish times to reconcile. */
export class StartReconciliationDto {
  @IsDefined({ message: 'from is required: a calendar date or date-time, e.g. 2026-12-01T10:00:00Z' })
  @IsString()
  @IsISO8601()
  @Matches(CALENDAR_TIME, { message: 'from must be a calendar date or date-time, e.g. 2026-12-01T10:00:00Z' })
  from!: string;

  @IsDefined({ message: 'to is required: a calendar date or date-time, e.g. 2026-12-01T11:00:00Z' })
  @IsString()
  @IsISO8601()
  @Matches(CALENDAR_TIME, { message: 'to must be a calendar date or date-time, e.g. 2026-12-01T11:00:00Z' })
  to!: string;
}

export class ListReconciliationsDto {
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value))
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}

export class RunFindingsDto {
  /** The `nextCursor` of the previous page of findings. */
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value))
  @IsInt()
  @Min(0)
  cursor?: number;

  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value))
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}
