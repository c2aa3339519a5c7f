import { IsIn, IsInt, IsObject, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { GID_MAX_LENGTH, ID_PATTERN, MAX_TIMEOUT_MS, type BeginRequest, type JsonValue, type Protocol } from '@tcc/client/protocol';

export class BeginDto implements BeginRequest {
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
  metadata?: Record<string, JsonValue>;
  /** Completion callback (docs/contract.md §11): an http(s) URL or a gRPC target host:port/package.Service/Method, under TCC_ALLOWED_TARGETS. */
  @IsOptional()
  @IsString()
  callback?: string;

  /** How the callback is called; default: http for an http(s) URL, else grpc. */
  @IsOptional()
  @IsIn(['http', 'grpc'])
  callbackProtocol?: Protocol;
}
