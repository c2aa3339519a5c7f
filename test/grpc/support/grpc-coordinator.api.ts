/**
 * A thin client of the coordinator's gRPC API for the specs: one channel, and every call answers
 * the status code, details and tcc trailers (or the reply) instead of throwing, so tests assert
 * on both, as test/support/coordinator.api.ts does over HTTP.
 */
import { TEST_API_KEY } from '../../support/api-keys';
import { Client, credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import {
  coordinatorMethods,
  type BeginMsg,
  type BeginReplyMsg,
  type CommitMsg,
  type DecisionReplyMsg,
  type RegisterBranchMsg,
  type RegisterBranchReplyMsg,
  type RollbackMsg,
  type TransactionReplyMsg,
} from '@tcc/client/grpc/grpc.messages';
import type { AbortMessageMsg, PrepareMessageMsg, StartSagaMsg, SubmitMessageMsg } from '@tcc/client/protocol';

export interface GrpcResult<T> {
  code: GrpcStatus;
  /** Name of the code: OK, INVALID_ARGUMENT, ... */
  codeName: string;
  details: string;
  reply: T;
  /** The `tcc-fields` trailer, split. */
  fields: string[];
  /** The `tcc-status` trailer. */
  status: string | undefined;
}

export class GrpcCoordinatorApi {
  private readonly client: Client;
  private readonly methods = coordinatorMethods();

  /** `apiKey`: sent as metadata `authorization: Bearer <key>` on every call (the test key unless told; null sends none). */
  constructor(
    readonly address: string,
    readonly apiKey: string | null = TEST_API_KEY,
  ) {
    this.client = new Client(address, credentials.createInsecure());
  }

  begin(msg: Partial<BeginMsg> = {}, metadata?: Record<string, string>): Promise<GrpcResult<BeginReplyMsg>> {
    return this.call(this.methods.Begin, msg as BeginMsg, metadata);
  }

  register(msg: Partial<RegisterBranchMsg>, metadata?: Record<string, string>): Promise<GrpcResult<RegisterBranchReplyMsg>> {
    return this.call(this.methods.RegisterBranch, msg as RegisterBranchMsg, metadata);
  }

  commit(msg: Partial<CommitMsg>, metadata?: Record<string, string>): Promise<GrpcResult<DecisionReplyMsg>> {
    return this.call(this.methods.Commit, msg as CommitMsg, metadata);
  }

  rollback(msg: Partial<RollbackMsg>, metadata?: Record<string, string>): Promise<GrpcResult<DecisionReplyMsg>> {
    return this.call(this.methods.Rollback, msg as RollbackMsg, metadata);
  }

  startSaga(msg: Partial<StartSagaMsg>): Promise<GrpcResult<DecisionReplyMsg>> {
    return this.call(this.method<StartSagaMsg, DecisionReplyMsg>('StartSaga'), msg as StartSagaMsg);
  }

  prepareMessage(msg: Partial<PrepareMessageMsg>): Promise<GrpcResult<BeginReplyMsg>> {
    return this.call(this.method<PrepareMessageMsg, BeginReplyMsg>('PrepareMessage'), msg as PrepareMessageMsg);
  }

  submitMessage(msg: Partial<SubmitMessageMsg>): Promise<GrpcResult<DecisionReplyMsg>> {
    return this.call(this.method<SubmitMessageMsg, DecisionReplyMsg>('SubmitMessage'), msg as SubmitMessageMsg);
  }

  abortMessage(msg: Partial<AbortMessageMsg>): Promise<GrpcResult<DecisionReplyMsg>> {
    return this.call(this.method<AbortMessageMsg, DecisionReplyMsg>('AbortMessage'), msg as AbortMessageMsg);
  }

  /** A method of tcc.v1.Coordinator by name, as proto-loader loaded it from the .proto file. */
  private method<Req, Res>(name: string): MethodDefinition<Req, Res> {
    const found = (this.methods as unknown as Record<string, MethodDefinition<Req, Res> | undefined>)[name];
    if (!found) throw new Error(`tcc.v1.Coordinator has no method ${name}`);
    return found;
  }

  get(gid: string, metadata?: Record<string, string>): Promise<GrpcResult<TransactionReplyMsg>> {
    return this.call(this.methods.GetTransaction, { gid }, metadata);
  }

  /** GetTransaction, failing unless it answers OK. */
  async view(gid: string): Promise<TransactionReplyMsg> {
    const res = await this.get(gid);
    if (res.code !== GrpcStatus.OK) throw new Error(`GetTransaction ${gid} answered ${res.codeName}: ${res.details}`);
    return res.reply;
  }

  close(): void {
    this.client.close();
  }

  private call<Req, Res>(method: MethodDefinition<Req, Res>, request: Req, headers: Record<string, string> = {}): Promise<GrpcResult<Res>> {
    const metadata = new Metadata();
    if (this.apiKey !== null) metadata.set('authorization', `Bearer ${this.apiKey}`);
    for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        metadata,
        { deadline: Date.now() + 30_000 },
        (error: ServiceError | null, reply?: Res) => {
          if (!error) {
            resolve({ code: GrpcStatus.OK, codeName: 'OK', details: '', reply: reply as Res, fields: [], status: undefined });
            return;
          }
          const text = (key: string): string | undefined => {
            const value = error.metadata?.get(key)[0];
            return value === undefined ? undefined : String(value);
          };
          resolve({
            code: error.code,
            codeName: GrpcStatus[error.code],
            details: error.details,
            reply: undefined as Res,
            fields: text('tcc-fields')?.split(',') ?? [],
            status: text('tcc-status'),
          });
        },
      );
    });
  }
}
