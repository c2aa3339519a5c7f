import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { REASON_MAX_LENGTH } from '@tcc/client/protocol';

export class RetryDto {
  @IsOptional()
  @IsString()
  @MaxLength(REASON_MAX_LENGTH)
  reason?: string;
}

/** A manual action that changes an outcome must say why. */
export class ReasonDto {
  @IsString()
  @IsNotEmpty()
  @Matches(/\S/, { message: 'reason must not be blank' })
  @MaxLength(REASON_MAX_LENGTH)
  reason!: string;
}
