/**
 * Fields that several requests share, declared once: a retry budget (docs/contract.md §2.1), which
 * a transaction and each of its branches or steps may give, and a completion callback (§11), which
 * every way of starting a transaction (begin, saga, message) may give.
 */
import { IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { MAX_ATTEMPTS_LIMIT, MAX_RETRY_FOR_MS, type Protocol } from '@tcc/client/protocol';

export class RetryBudgetDto {
  /** ms from a branch's first failed phase-two call before a person is asked. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_RETRY_FOR_MS)
  retryFor?: number;

  /** Failed phase-two calls of a branch before a person is asked. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_ATTEMPTS_LIMIT)
  maxAttempts?: number;
}

export class FinishOptionsDto extends RetryBudgetDto {
  /** An http(s) URL or a gRPC target host:port/package.Service/Method, under TCC_ALLOWED_TARGETS. */
  @IsOptional()
  @IsString()
  callback?: string;

  /** How the callback is called; default: http for an http(s) URL, else grpc. */
  @IsOptional()
  @IsIn(['http', 'grpc'])
  callbackProtocol?: Protocol;
}
