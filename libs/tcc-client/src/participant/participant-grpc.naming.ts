/**
 * How a participant built with this library is named over gRPC. Each @TccParticipant('name') is
 * served (when TccModule has `grpc`) as its own service with the conventional shape of
 * tcc.v1.Participant: `tcc.v1.participants.<Name>` with methods Try, Confirm and Cancel (a saga
 * participant: Action and Compensate; a message handler: Message), where <Name> is the participant
 * name in PascalCase (`account-freeze` -> `AccountFreeze`), because a gRPC target
 * (`host:port/package.Service/Method`) only takes proto identifiers. One service per participant
 * keeps the target alone enough to route a call: the coordinator sends no participant name.
 * Example target: `127.0.0.1:7081/tcc.v1.participants.AccountFreeze/Confirm`.
 *
 * A message initiator's queryPrepared is served on the same server as `tcc.v1.Initiator/QueryPrepared`.
 */
import type { ParticipantPhase } from '../barrier/branch.barrier';

export const PARTICIPANT_GRPC_PACKAGE = 'tcc.v1.participants';

export const GRPC_METHOD_OF: Readonly<Record<ParticipantPhase, string>> = {
  try: 'Try',
  confirm: 'Confirm',
  cancel: 'Cancel',
  action: 'Action',
  compensate: 'Compensate',
  message: 'Message',
};

/** The service and method of the queryPrepared endpoint (participant.proto, service Initiator). */
export const INITIATOR_GRPC_SERVICE = 'tcc.v1.Initiator';
export const QUERY_PREPARED_GRPC_METHOD = 'QueryPrepared';
/** The method of the completion callback endpoint (docs/contract.md §11), on the same service. */
export const FINISHED_GRPC_METHOD = 'Finished';

/** Full service name of a participant: `account-freeze` -> `tcc.v1.participants.AccountFreeze`. */
export function participantGrpcService(participant: string): string {
  let name = participant
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
  if (!/^[A-Za-z]/.test(name)) name = `P${name}`;
  return `${PARTICIPANT_GRPC_PACKAGE}.${name}`;
}

/** The target of one phase of `participant` served at `address` (`host:port`). */
export function participantGrpcTarget(address: string, participant: string, phase: ParticipantPhase): string {
  return `${address}/${participantGrpcService(participant)}/${GRPC_METHOD_OF[phase]}`;
}

/** The completion callback target of an initiator whose participant gRPC server is at `address`. */
export function finishedGrpcTarget(address: string): string {
  return `${address}/${INITIATOR_GRPC_SERVICE}/${FINISHED_GRPC_METHOD}`;
}

/** The queryPrepared target of a message initiator whose participant gRPC server is at `address`. */
export function queryPreparedGrpcTarget(address: string): string {
  return `${address}/${INITIATOR_GRPC_SERVICE}/${QUERY_PREPARED_GRPC_METHOD}`;
}
