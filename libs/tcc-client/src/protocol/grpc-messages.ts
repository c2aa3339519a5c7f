/**
 * The tcc.v1 messages (coordinator.proto, participant.proto) as @grpc/proto-loader presents them
 * with PROTO_LOADER_OPTIONS: camelCase fields, JSON values as text, absent fields undefined. Types
 * only: both the library's clients and the coordinator's gRPC server use them.
 */

export interface BeginMsg {
  gid?: string;
  timeoutMs?: number;
  metadata?: string;
  /** docs/contract.md §11: empty: no callback. */
  callback?: string;
  /** "http" or "grpc"; empty: from the shape of `callback`. */
  callbackProtocol?: string;
}

export interface BeginReplyMsg {
  gid: string;
  status: string;
  createdAt: string;
  expiresAt: string;
  created?: boolean;
}

export interface RegisterBranchMsg {
  gid: string;
  branchId: string;
  participant?: string;
  protocol: string;
  confirm: string;
  cancel: string;
  payload?: string;
}

export interface RegisterBranchReplyMsg {
  gid: string;
  branchId: string;
  status: string;
  created?: boolean;
}

export interface CommitMsg {
  gid: string;
  wait?: boolean;
}

export interface RollbackMsg {
  gid: string;
  wait?: boolean;
  reason?: string;
}

export interface DecisionReplyMsg {
  gid: string;
  status: string;
}

export interface GetTransactionMsg {
  gid: string;
}

export interface BranchInfoMsg {
  branchId: string;
  participant?: string;
  protocol: string;
  status: string;
  attempts?: number;
  lastError?: string;
}

export interface TransactionReplyMsg {
  gid: string;
  mode?: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  metadata?: string;
  branches?: BranchInfoMsg[];
}

export interface BranchRequestMsg {
  gid: string;
  branchId: string;
  phase: string;
  payload?: string;
}

export interface BranchReplyMsg {
  result?: string;
}

export interface SagaStepMsg {
  branchId: string;
  participant?: string;
  protocol: string;
  action: string;
  compensate: string;
  payload?: string;
  /** With `concurrent`: the branchIds whose actions must succeed first. */
  after?: string[];
}

export interface StartSagaMsg {
  gid?: string;
  timeoutMs?: number;
  steps?: SagaStepMsg[];
  concurrent?: boolean;
  wait?: boolean;
  metadata?: string;
  /** docs/contract.md §11: empty: no callback. */
  callback?: string;
  /** "http" or "grpc"; empty: from the shape of `callback`. */
  callbackProtocol?: string;
}

export interface MessageStepMsg {
  branchId: string;
  participant?: string;
  protocol: string;
  action: string;
  payload?: string;
}

export interface PrepareMessageMsg {
  gid: string;
  steps?: MessageStepMsg[];
  queryPrepared: string;
  timeoutMs?: number;
  metadata?: string;
  /** docs/contract.md §11: empty: no callback. */
  callback?: string;
  /** "http" or "grpc"; empty: from the shape of `callback`. */
  callbackProtocol?: string;
}

export interface SubmitMessageMsg {
  gid: string;
  wait?: boolean;
}

export interface AbortMessageMsg {
  gid: string;
  reason?: string;
}
