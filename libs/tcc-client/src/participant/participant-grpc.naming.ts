/**
 * How a participant built with this library is named over gRPC. Each @TccParticipant('name') is
 * served (when TccModule has `grpc`) as its own service with the conventional shape of
 * tcc.v1.Participant: `tcc.v1.participants.<Name>` with methods Try, Confirm and Cancel, where
 * <Name> is the participant name in PascalCase (`account-freeze` -> `AccountFreeze`), because a
 * gRPC target (`host:port/package.Service/Method`) only takes proto identifiers. One service per
 * participant keeps the target alone enough to route a call: the coordinator sends no participant
 * name. Example target: `127.0.0.1:7081/tcc.v1.participants.AccountFreeze/Confirm`.
 */
import type { BranchPhase } from '../protocol';

export const PARTICIPANT_GRPC_PACKAGE = 'tcc.v1.participants';

export const GRPC_METHOD_OF: Partial<Record<BranchPhase, 'Try' | 'Confirm' | 'Cancel'>> = { try: 'Try', confirm: 'Confirm', cancel: 'Cancel' };

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
export function participantGrpcTarget(address: string, participant: string, phase: BranchPhase): string {
  return `${address}/${participantGrpcService(participant)}/${GRPC_METHOD_OF[phase]}`;
}
