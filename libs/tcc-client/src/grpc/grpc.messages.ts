/**
 * The tcc.v1 messages as @grpc/proto-loader presents them with PROTO_LOADER_OPTIONS (camelCase
 * fields, JSON values as text, absent fields undefined), and their method definitions, loaded once.
 */
import type { MethodDefinition } from '@grpc/proto-loader';
import { protoFiles } from '../protocol';
import type {
  AbortMessageMsg,
  BeginMsg,
  BeginReplyMsg,
  BranchReplyMsg,
  BranchRequestMsg,
  CommitMsg,
  DecisionReplyMsg,
  GetTransactionMsg,
  PrepareMessageMsg,
  RegisterBranchMsg,
  RegisterBranchReplyMsg,
  RollbackMsg,
  StartSagaMsg,
  SubmitMessageMsg,
  TransactionReplyMsg,
} from '../protocol/grpc-messages';

export type * from '../protocol/grpc-messages';
import { PROTO_LOADER_OPTIONS } from './proto-loader.options';
import { protoLoader } from './grpc.runtime';

export interface CoordinatorMethods {
  Begin: MethodDefinition<BeginMsg, BeginReplyMsg>;
  RegisterBranch: MethodDefinition<RegisterBranchMsg, RegisterBranchReplyMsg>;
  Commit: MethodDefinition<CommitMsg, DecisionReplyMsg>;
  Rollback: MethodDefinition<RollbackMsg, DecisionReplyMsg>;
  GetTransaction: MethodDefinition<GetTransactionMsg, TransactionReplyMsg>;
  StartSaga: MethodDefinition<StartSagaMsg, DecisionReplyMsg>;
  PrepareMessage: MethodDefinition<PrepareMessageMsg, BeginReplyMsg>;
  SubmitMessage: MethodDefinition<SubmitMessageMsg, DecisionReplyMsg>;
  AbortMessage: MethodDefinition<AbortMessageMsg, DecisionReplyMsg>;
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
