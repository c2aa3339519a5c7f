/** Body of `POST /accounts`. */
import { IsInt, IsString, Length, Matches, Max, Min } from 'class-validator';
import { ID_PATTERN } from '@tcc/client';
import { MAX_AMOUNT } from './amount.rules';

export class CreateAccountDto {
  @IsString() @Length(1, 64) @Matches(ID_PATTERN, { message: 'id must be 1 to 64 characters of [A-Za-z0-9_.:-]' })
  id!: string;

  @IsInt({ message: 'balance must be an integer number of minor units' })
  @Min(1, { message: 'balance must be positive' })
  @Max(MAX_AMOUNT, { message: `balance must be at most ${MAX_AMOUNT}` })
  balance!: number;
}
