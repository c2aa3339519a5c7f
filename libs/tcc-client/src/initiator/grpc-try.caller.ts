/**
 * Calls a gRPC participant's try (DESIGN.md §5): the method named in the target
 * (`host:port/package.Service/Method`) with a tcc.v1.BranchRequest, the x-tcc-* metadata and a
 * deadline, on the pooled channel to `host:port`. Outcomes as over HTTP: OK answers the reply's
 * `result` (parsed when it is JSON); a status meaning a 4xx (INVALID_ARGUMENT, NOT_FOUND,
 * FAILED_PRECONDITION, ..., or the `tcc-http-status` trailer) is a refusal; anything else (no answer,
 * UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, UNIMPLEMENTED) leaves the try's fate unknown.
 */
import { Injectable } from '@nestjs/common';
import { Metadata } from '@grpc/grpc-js';
import type { BranchCallBody, JsonValue } from '../protocol';
import { TCC_HEADERS } from '../protocol';
import { GrpcChannels } from '../grpc/grpc.channels';
import { participantMethods } from '../grpc/grpc.messages';
import { grpcStatusName, httpStatusOf, isServiceError, metadataText, TCC_TRAILERS } from '../grpc/grpc.status';
import { splitGrpcTarget } from '../participant/participant-grpc.naming';
import { BranchFailedError, BranchRefusedError } from './initiator.errors';

function parseResult(text: string | undefined): JsonValue | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

@Injectable()
export class GrpcTryCaller {
  constructor(private readonly channels: GrpcChannels) {}

  async call(target: string, body: BranchCallBody, timeoutMs: number, traceparent?: string): Promise<JsonValue | undefined> {
    const { gid, branchId } = body;
    const split = splitGrpcTarget(target);
    if (!split) throw new BranchFailedError(gid, branchId, `try target "${target}" is not host:port/package.Service/Method`);
    const metadata = new Metadata();
    metadata.set(TCC_HEADERS.gid, gid);
    metadata.set(TCC_HEADERS.branchId, branchId);
    metadata.set(TCC_HEADERS.phase, 'try');
    if (traceparent) metadata.set(TCC_HEADERS.traceparent, traceparent);
    const request = { gid, branchId, phase: 'try', ...(body.payload === null ? {} : { payload: JSON.stringify(body.payload) }) };
    try {
      const reply = await this.channels.unary(split.address, participantMethods().Try, request, metadata, timeoutMs, split.path);
      return parseResult(reply.result);
    } catch (error) {
      if (!isServiceError(error)) throw new BranchFailedError(gid, branchId, error instanceof Error ? error.message : String(error));
      const declared = Number(metadataText(error.metadata, TCC_TRAILERS.httpStatus));
      const statusCode = Number.isInteger(declared) && declared >= 400 && declared <= 499 ? declared : httpStatusOf(error.code);
      const code = metadataText(error.metadata, TCC_TRAILERS.errorCode) ?? grpcStatusName(error.code);
      if (statusCode >= 400 && statusCode <= 499) {
        const answer = { error: code, message: error.details, grpcCode: grpcStatusName(error.code) };
        throw new BranchRefusedError(gid, branchId, statusCode, code, answer);
      }
      throw new BranchFailedError(gid, branchId, `try answered gRPC ${grpcStatusName(error.code)}: ${error.details}`);
    }
  }
}
