/**
 * Calls a gRPC participant's confirm or cancel: the method named in the target
 * (`host:port/package.Service/Method`), with a tcc.v1.BranchRequest and a deadline. One channel
 * per `host:port`, kept and reused by every call.
 */
import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { protoFiles, TCC_HEADERS, type BranchCallBody } from '@tcc/client';
import { PROTO_LOADER_OPTIONS } from '../grpc/grpc-options';

interface BranchRequestMsg {
  gid: string;
  branchId: string;
  phase: string;
  payload?: string;
}

export interface GrpcCallResult {
  ok: boolean;
  error?: string;
}

/** Splits `host:port/package.Service/Method` into the channel address and the method path. */
export function splitGrpcTarget(target: string): { address: string; path: string } {
  const slash = target.indexOf('/');
  return { address: target.slice(0, slash), path: `/${target.slice(slash + 1)}` };
}

@Injectable()
export class GrpcParticipantCaller implements OnModuleDestroy {
  private readonly channels = new Map<string, Client>();
  private readonly method: MethodDefinition<BranchRequestMsg, object>;

  constructor() {
    const files = protoFiles();
    const definition = loadSync(files.participant, { ...PROTO_LOADER_OPTIONS, includeDirs: [files.root] });
    // Every participant method has the shape of Participant.Confirm: BranchRequest -> BranchReply.
    const service = definition['tcc.v1.Participant'] as Record<string, MethodDefinition<BranchRequestMsg, object>>;
    this.method = service.Confirm;
  }

  call(target: string, body: BranchCallBody, timeoutMs: number, traceparent?: string): Promise<GrpcCallResult> {
    const { address, path } = splitGrpcTarget(target);
    const client = this.channel(address);
    const metadata = new Metadata();
    metadata.set(TCC_HEADERS.gid, body.gid);
    metadata.set(TCC_HEADERS.branchId, body.branchId);
    metadata.set(TCC_HEADERS.phase, body.phase);
    if (traceparent) metadata.set(TCC_HEADERS.traceparent, traceparent);
    const message: BranchRequestMsg = {
      gid: body.gid,
      branchId: body.branchId,
      phase: body.phase,
      ...(body.payload === null ? {} : { payload: JSON.stringify(body.payload) }),
    };
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        path,
        this.method.requestSerialize,
        this.method.responseDeserialize,
        message,
        metadata,
        { deadline: Date.now() + timeoutMs },
        (error: ServiceError | null) => {
          if (!error) return resolve({ ok: true });
          resolve({ ok: false, error: `gRPC ${error.code} ${error.details || error.message}`.slice(0, 300) });
        },
      );
    });
  }

  private channel(address: string): Client {
    let client = this.channels.get(address);
    if (!client) {
      client = new Client(address, credentials.createInsecure(), {
        'grpc.keepalive_time_ms': 30_000,
        'grpc.keepalive_permit_without_calls': 1,
      });
      this.channels.set(address, client);
    }
    return client;
  }

  onModuleDestroy(): void {
    for (const client of this.channels.values()) client.close();
    this.channels.clear();
  }
}
