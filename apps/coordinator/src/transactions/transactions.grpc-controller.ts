/**
 * The coordinator's gRPC API (docs/contract.md §4): the same service calls and validation as HTTP,
 * translated from proto messages (JSON fields travel as text).
 */
import { Controller, UseGuards } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import type {
  AbortMessageMsg,
  BeginMsg,
  CommitMsg,
  GetTransactionMsg,
  JsonValue,
  PrepareMessageMsg,
  RegisterBranchMsg,
  RollbackMsg,
  StartSagaMsg,
  SubmitMessageMsg,
} from '@tcc/client/protocol';
import { TransactionService } from './transaction.service';
import { GidPipe } from './gid.pipe';
import { invalidArgument } from '../domain/transaction.errors';
import { ApiClientGuard, clientOf } from '../auth/api-client.guard';
import { validateAbort, validateBegin, validateCommit, validateMessage, validateRegister, validateRollback, validateSaga, validateSubmit } from './request.validation';
import { SagaService } from './saga.service';
import { MessageService } from './message.service';

// What a client sends may omit any field (proto3), so every field is checked like an HTTP body's.
type Received<T> = Partial<T>;
type Call = ServerUnaryCall<unknown, unknown>;

const gidPipe = new GidPipe();

function traceparentOf(metadata: Metadata | undefined): string | undefined {
  const value = metadata?.get('traceparent')[0];
  return typeof value === 'string' ? value : undefined;
}

function json(field: string, text: string | undefined): JsonValue | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw invalidArgument(field, `${field} must be JSON text`);
  }
}

/** A completion callback's fields (docs/contract.md §11); empty strings are "not given", as proto3 sends them. */
function callbackOf(msg: { callback?: string; callbackProtocol?: string }): { callback?: string; callbackProtocol?: string } {
  return { ...(msg.callback ? { callback: msg.callback } : {}), ...(msg.callbackProtocol ? { callbackProtocol: msg.callbackProtocol } : {}) };
}

@UseGuards(ApiClientGuard)
@Controller()
export class TransactionsGrpcController {
  constructor(
    private readonly transactions: TransactionService,
    private readonly sagas: SagaService,
    private readonly messages: MessageService,
  ) {}

  @GrpcMethod('Coordinator', 'Begin')
  async begin(msg: Received<BeginMsg>, metadata: Metadata, call: Call): Promise<object> {
    const dto = validateBegin({
      ...(msg.gid ? { gid: msg.gid } : {}),
      ...(msg.timeoutMs ? { timeoutMs: msg.timeoutMs } : {}),
      ...(msg.metadata ? { metadata: json('metadata', msg.metadata) } : {}),
      ...callbackOf(msg),
    });
    const { created, body } = await this.transactions.begin(dto, clientOf(call), traceparentOf(metadata));
    return { ...body, created };
  }

  @GrpcMethod('Coordinator', 'RegisterBranch')
  async registerBranch(msg: Received<RegisterBranchMsg>, _metadata: Metadata, call: Call): Promise<object> {
    const gid = gidPipe.transform(msg.gid ?? '');
    const dto = validateRegister({
      branchId: msg.branchId,
      ...(msg.participant ? { participant: msg.participant } : {}),
      protocol: msg.protocol,
      confirm: msg.confirm,
      cancel: msg.cancel,
      ...(msg.payload ? { payload: json('payload', msg.payload) } : {}),
    });
    const { created, body } = await this.transactions.registerBranch(gid, dto, clientOf(call));
    return { ...body, created };
  }

  @GrpcMethod('Coordinator', 'Commit')
  async commit(msg: Received<CommitMsg>, metadata: Metadata, call: Call): Promise<object> {
    const gid = gidPipe.transform(msg.gid ?? '');
    const dto = validateCommit(msg.wait === undefined ? {} : { wait: msg.wait });
    return this.transactions.commit(gid, clientOf(call), dto.wait ?? true, traceparentOf(metadata));
  }

  @GrpcMethod('Coordinator', 'Rollback')
  async rollback(msg: Received<RollbackMsg>, metadata: Metadata, call: Call): Promise<object> {
    const gid = gidPipe.transform(msg.gid ?? '');
    const dto = validateRollback({
      ...(msg.wait === undefined ? {} : { wait: msg.wait }),
      ...(msg.reason ? { reason: msg.reason } : {}),
    });
    return this.transactions.rollback(gid, clientOf(call), dto.wait ?? true, dto.reason, traceparentOf(metadata));
  }

  @GrpcMethod('Coordinator', 'GetTransaction')
  async get(msg: Received<GetTransactionMsg>, _metadata: Metadata, call: Call): Promise<object> {
    const view = await this.transactions.get(gidPipe.transform(msg.gid ?? ''), clientOf(call));
    return {
      ...view,
      metadata: view.metadata === null ? '' : JSON.stringify(view.metadata),
      branches: view.branches.map((b) => ({ ...b, participant: b.participant ?? '', lastError: b.lastError ?? '' })),
    };
  }

  @GrpcMethod('Coordinator', 'StartSaga')
  async startSaga(msg: Received<StartSagaMsg>, metadata: Metadata, call: Call): Promise<object> {
    const steps = msg.steps ?? [];
    const after = Object.fromEntries(steps.filter((s) => s.after?.length).map((s) => [s.branchId, s.after ?? []]));
    const dto = validateSaga({
      ...(msg.gid ? { gid: msg.gid } : {}),
      ...(msg.timeoutMs ? { timeoutMs: Number(msg.timeoutMs) } : {}),
      steps: steps.map((s, i) => ({
        branchId: s.branchId,
        ...(s.participant ? { participant: s.participant } : {}),
        protocol: s.protocol,
        action: s.action,
        compensate: s.compensate,
        ...(s.payload ? { payload: json(`steps[${i}].payload`, s.payload) } : {}),
      })),
      ...(msg.concurrent ? { concurrent: true } : {}),
      ...(Object.keys(after).length ? { after } : {}),
      ...(msg.wait === undefined ? {} : { wait: msg.wait }),
      ...(msg.metadata ? { metadata: json('metadata', msg.metadata) } : {}),
      ...callbackOf(msg),
    });
    const { body } = await this.sagas.start(dto, clientOf(call), traceparentOf(metadata));
    return body;
  }

  @GrpcMethod('Coordinator', 'PrepareMessage')
  async prepareMessage(msg: Received<PrepareMessageMsg>, metadata: Metadata, call: Call): Promise<object> {
    const dto = validateMessage({
      gid: msg.gid,
      steps: (msg.steps ?? []).map((s, i) => ({
        branchId: s.branchId,
        ...(s.participant ? { participant: s.participant } : {}),
        protocol: s.protocol,
        action: s.action,
        ...(s.payload ? { payload: json(`steps[${i}].payload`, s.payload) } : {}),
      })),
      queryPrepared: msg.queryPrepared,
      ...(msg.timeoutMs ? { timeoutMs: Number(msg.timeoutMs) } : {}),
      ...(msg.metadata ? { metadata: json('metadata', msg.metadata) } : {}),
      ...callbackOf(msg),
    });
    const { created, body } = await this.messages.prepare(dto, clientOf(call), traceparentOf(metadata));
    return { ...body, created };
  }

  @GrpcMethod('Coordinator', 'SubmitMessage')
  async submitMessage(msg: Received<SubmitMessageMsg>, metadata: Metadata, call: Call): Promise<object> {
    const gid = gidPipe.transform(msg.gid ?? '');
    const dto = validateSubmit(msg.wait === undefined ? {} : { wait: msg.wait });
    return this.messages.submit(gid, clientOf(call), dto.wait ?? false, traceparentOf(metadata));
  }

  @GrpcMethod('Coordinator', 'AbortMessage')
  async abortMessage(msg: Received<AbortMessageMsg>, _metadata: Metadata, call: Call): Promise<object> {
    const gid = gidPipe.transform(msg.gid ?? '');
    const dto = validateAbort(msg.reason ? { reason: msg.reason } : {});
    return this.messages.abort(gid, clientOf(call), dto.reason);
  }
}
