/**
 * The tcc.v1 messages as @grpc/proto-loader presents them with PROTO_LOADER_OPTIONS (camelCase
 * fields, JSON values as text, absent fields undefined), and their method definitions, loaded once.
 */
import type { MethodDefinition } from '@grpc/proto-loader';
import { protoFiles } from '../protocol';
import { PROTO_LOADER_OPTIONS } from './proto-loader.options';
import { protoLoader } from './grpc.runtime';

export interface BeginMsg {
  gid?: string;
  timeoutMs?: number;
  metadata?: string;
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

export interface CoordinatorMethods {
  Begin: MethodDefinition<BeginMsg, BeginReplyMsg>;
  RegisterBranch: MethodDefinition<RegisterBranchMsg, RegisterBranchReplyMsg>;
  Commit: MethodDefinition<CommitMsg, DecisionReplyMsg>;
  Rollback: MethodDefinition<RollbackMsg, DecisionReplyMsg>;
  GetTransaction: MethodDefinition<GetTransactionMsg, TransactionReplyMsg>;
}

export interface ParticipantMethods {
  Try: MethodDefinition<BranchRequestMsg, BranchReplyMsg>;
  Confirm: MethodDefinition<BranchRequestMsg, BranchReplyMsg>;
  Cancel: MethodDefinition<BranchRequestMsg, BranchReplyMsg>;
}

let loaded: { coordinator: CoordinatorMethods; participant: ParticipantMethods } | undefined;

function load(): { coordinator: CoordinatorMethods; participant: ParticipantMethods } {
  if (!loaded) {
    const files = protoFiles();
    const definition = protoLoader().loadSync([files.coordinator, files.participant], { ...PROTO_LOADER_OPTIONS, includeDirs: [files.root] });
    loaded = {
      coordinator: definition['tcc.v1.Coordinator'] as unknown as CoordinatorMethods,
      participant: definition['tcc.v1.Participant'] as unknown as ParticipantMethods,
    };
  }
  return loaded;
}

/** Methods of tcc.v1.Coordinator. */
export function coordinatorMethods(): CoordinatorMethods {
  return load().coordinator;
}

/** Methods of the conventional tcc.v1.Participant: every branch method has their shape. */
export function participantMethods(): ParticipantMethods {
  return load().participant;
}
