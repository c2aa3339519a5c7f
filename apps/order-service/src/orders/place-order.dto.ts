/** Body of `POST /orders`. */
import { IsInt, IsString, Length, Matches, Max, Min } from 'class-validator';
import { ID_PATTERN } from '@tcc/client';

export const MAX_AMOUNT = 1_000_000_000_000;

export class PlaceOrderDto {
  @IsString() @Length(1, 64) @Matches(ID_PATTERN, { message: 'accountId must be 1 to 64 characters of [A-Za-z0-9_.:-]' })
  accountId!: string;

  @IsInt({ message: 'amount must be an integer number of minor units' })
  @Min(1, { message: 'amount must be positive' })
  @Max(MAX_AMOUNT, { message: `amount must be at most ${MAX_AMOUNT}` })
  amount!: number;
}
