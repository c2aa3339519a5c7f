/**
 * The coordinator's gRPC API (docs/contract.md §4, tcc.v1.Coordinator) on one pooled channel to
 * `coordinatorGrpcAddress`, with the same deadlines, retries and typed errors as over HTTP (see
 * CoordinatorClient), each call carrying the apiKey in the `authorization` metadata (`Bearer <apiKey>`)
 * when one is set. JSON fields travel as text; an error status becomes a CoordinatorError (401 /
 * 403: CoordinatorAuthError) whose body is rebuilt from the status details and the `tcc-fields` /
 * `tcc-status` trailers.
 */
import type { MethodDefinition } from '@grpc/proto-loader';
import type {
  AbortMessageRequest,
  BeginRequest,
  BeginResponse,
  CommitRequest,
  DecisionResponse,
  ErrorBody,
  GlobalStatus,
  BranchStatus,
  JsonValue,
  MessageProtocol,
  PrepareMessageRequest,
  RegisterBranchRequest,
  RegisterBranchResponse,
  RollbackRequest,
  StartSagaRequest,
  SubmitMessageRequest,
  TransactionMode,
  TransactionView,
} from '../protocol';
import { TCC_HEADERS } from '../protocol';
import type { GrpcChannels } from '../grpc/grpc.channels';
import { grpcJs } from '../grpc/grpc.runtime';
import { coordinatorMethods, type CoordinatorMethods, type TransactionReplyMsg } from '../grpc/grpc.messages';
import { grpcStatusName, httpStatusOf, isServiceError, isUnanswered, metadataText, TCC_TRAILERS } from '../grpc/grpc.status';
import { CoordinatorClient, IDEMPOTENT_ATTEMPTS, withRetries } from './coordinator.client';
import { AUTHORIZATION, bearer } from './coordinator.auth';
import { coordinatorError } from './coordinator.errors';
import type { ResolvedTccOptions } from '../tcc.options';

function jsonText(value: JsonValue | undefined): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

function parseJson(text: string | undefined): JsonValue | null {
  if (!text) return null;
  return JSON.parse(text) as JsonValue;
}

function toView(reply: TransactionReplyMsg): TransactionView {
  return {
    gid: reply.gid,
    // A coordinator from before sagas and messages sends no mode: all it runs is TCC.
    mode: (reply.mode || 'tcc') as TransactionMode,
    status: reply.status as GlobalStatus,
    createdAt: reply.createdAt,
    updatedAt: reply.updatedAt,
    expiresAt: reply.expiresAt,
    metadata: parseJson(reply.metadata) as Record<string, JsonValue> | null,
    branches: (reply.branches ?? []).map((branch) => ({
      branchId: branch.branchId,
      participant: branch.participant || null,
      protocol: branch.protocol as MessageProtocol,
      status: branch.status as BranchStatus,
      attempts: branch.attempts ?? 0,
      lastError: branch.lastError || null,
    })),
  };
}

export class GrpcCoordinatorClient extends CoordinatorClient {
  private readonly methods: CoordinatorMethods = coordinatorMethods();

  constructor(
    private readonly options: ResolvedTccOptions,
    private readonly channels: GrpcChannels,
  ) {
    super();
  }

  async begin(request: BeginRequest = {}, traceparent?: string): Promise<BeginResponse> {
    const reply = await this.call('begin', this.methods.Begin, 1, this.options.requestTimeoutMs, traceparent, {
      gid: request.gid,
      timeoutMs: request.timeoutMs,
      metadata: jsonText(request.metadata),
      callback: request.callback,
      callbackProtocol: request.callbackProtocol,
    });
    return { gid: reply.gid, status: reply.status as GlobalStatus, createdAt: reply.createdAt, expiresAt: reply.expiresAt };
  }

  async registerBranch(gid: string, request: RegisterBranchRequest, traceparent?: string): Promise<RegisterBranchResponse> {
    const reply = await this.call('register', this.methods.RegisterBranch, IDEMPOTENT_ATTEMPTS, this.options.requestTimeoutMs, traceparent, {
      gid,
      branchId: request.branchId,
      participant: request.participant,
      protocol: request.protocol,
      confirm: request.confirm,
      cancel: request.cancel,
      payload: jsonText(request.payload),
    });
    return { gid: reply.gid, branchId: reply.branchId, status: reply.status as BranchStatus };
  }

  async commit(gid: string, request: CommitRequest = { wait: true }, traceparent?: string): Promise<DecisionResponse> {
    const message = { gid, wait: request.wait };
    const reply = await this.call('commit', this.methods.Commit, IDEMPOTENT_ATTEMPTS, this.options.decisionTimeoutMs, traceparent, message);
    return { gid: reply.gid, status: reply.status as GlobalStatus };
  }

  async rollback(gid: string, request: RollbackRequest = { wait: true }, traceparent?: string): Promise<DecisionResponse> {
    const message = { gid, wait: request.wait, reason: request.reason };
    const reply = await this.call('rollback', this.methods.Rollback, IDEMPOTENT_ATTEMPTS, this.options.decisionTimeoutMs, traceparent, message);
    return { gid: reply.gid, status: reply.status as GlobalStatus };
  }

  async get(gid: string): Promise<TransactionView> {
    const reply = await this.call('get', this.methods.GetTransaction, IDEMPOTENT_ATTEMPTS, this.options.requestTimeoutMs, undefined, { gid });
    return toView(reply);
  }

  async startSaga(request: StartSagaRequest, traceparent?: string): Promise<DecisionResponse> {
    const attempts = request.gid ? IDEMPOTENT_ATTEMPTS : 1;
    const timeoutMs = request.wait ? this.options.decisionTimeoutMs : this.options.requestTimeoutMs;
    const reply = await this.call('start saga', this.methods.StartSaga, attempts, timeoutMs, traceparent, {
      gid: request.gid,
      timeoutMs: request.timeoutMs,
      steps: request.steps.map((step) => ({
        branchId: step.branchId,
        participant: step.participant,
        protocol: step.protocol,
        action: step.action,
        compensate: step.compensate,
        payload: jsonText(step.payload),
        // The HTTP body's `after` map, carried by each step over gRPC.
        after: request.after?.[step.branchId],
      })),
      concurrent: request.concurrent,
      wait: request.wait,
      metadata: jsonText(request.metadata),
      callback: request.callback,
      callbackProtocol: request.callbackProtocol,
    });
    return { gid: reply.gid, status: reply.status as GlobalStatus };
  }

  async prepareMessage(request: PrepareMessageRequest, traceparent?: string): Promise<BeginResponse> {
    const reply = await this.call('prepare message', this.methods.PrepareMessage, IDEMPOTENT_ATTEMPTS, this.options.requestTimeoutMs, traceparent, {
      gid: request.gid,
      steps: request.steps.map((step) => ({
        branchId: step.branchId,
        participant: step.participant,
        protocol: step.protocol,
        action: step.action,
        payload: jsonText(step.payload),
      })),
      queryPrepared: request.queryPrepared,
      timeoutMs: request.timeoutMs,
      metadata: jsonText(request.metadata),
      callback: request.callback,
      callbackProtocol: request.callbackProtocol,
    });
    return { gid: reply.gid, status: reply.status as GlobalStatus, createdAt: reply.createdAt, expiresAt: reply.expiresAt };
  }

  async submitMessage(gid: string, request: SubmitMessageRequest = {}, traceparent?: string): Promise<DecisionResponse> {
    const timeoutMs = request.wait ? this.options.decisionTimeoutMs : this.options.requestTimeoutMs;
    const reply = await this.call('submit message', this.methods.SubmitMessage, IDEMPOTENT_ATTEMPTS, timeoutMs, traceparent, { gid, wait: request.wait });
    return { gid: reply.gid, status: reply.status as GlobalStatus };
  }

  async abortMessage(gid: string, request: AbortMessageRequest = {}, traceparent?: string): Promise<DecisionResponse> {
    const message = { gid, reason: request.reason };
    const reply = await this.call('abort message', this.methods.AbortMessage, IDEMPOTENT_ATTEMPTS, this.options.requestTimeoutMs, traceparent, message);
    return { gid: reply.gid, status: reply.status as GlobalStatus };
  }

  private call<Req, Res>(
    operation: string,
    method: MethodDefinition<Req, Res>,
    attempts: number,
    timeoutMs: number,
    traceparent: string | undefined,
    request: Req,
  ): Promise<Res> {
    return withRetries(operation, attempts, async () => {
      const metadata = new (grpcJs().Metadata)();
      if (traceparent) metadata.set(TCC_HEADERS.traceparent, traceparent);
      if (this.options.apiKey) metadata.set(AUTHORIZATION, bearer(this.options.apiKey));
      try {
        return await this.channels.unary(this.options.coordinatorGrpcAddress, method, request, metadata, timeoutMs);
      } catch (error) {
        if (isServiceError(error) && !isUnanswered(error.code)) {
          const statusCode = httpStatusOf(error.code);
          const fields = metadataText(error.metadata, TCC_TRAILERS.fields);
          const status = metadataText(error.metadata, TCC_TRAILERS.status);
          const body: ErrorBody = {
            statusCode,
            error: grpcStatusName(error.code),
            message: error.details || error.message,
            ...(fields ? { fields: fields.split(',') } : {}),
            ...(status ? { status: status as GlobalStatus } : {}),
          };
          throw coordinatorError(statusCode, body, operation, error.code);
        }
        throw error;
      }
    });
  }
}
