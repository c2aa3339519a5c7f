/**
 * Where the coordinator reaches a participant built with this library, for saga steps and message
 * steps as for TCC branches: over HTTP `<service>/<prefix>/<participant>/<phase>` (service default:
 * this service, SelfUrl), over gRPC `<host:port>/tcc.v1.participants.<Name>/<Phase>` (default: this
 * service's participant gRPC server); and this service's own queryPrepared endpoint.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { ParticipantPhase } from '../barrier/branch.barrier';
import { ParticipantGrpcServer } from '../participant/participant-grpc.server';
import { finishedGrpcTarget, participantGrpcTarget, queryPreparedGrpcTarget } from '../participant/participant-grpc.naming';
import { CALLBACK_PATH, QUERY_PREPARED_PATH } from '../participant/participant.controller';
import { ParticipantRegistry, type ParticipantKind } from '../participant/participant.registry';
import type { Protocol } from '../protocol';
import { ResolvedTccOptions, TCC_OPTIONS } from '../tcc.options';
import { SelfUrl } from './self-url.service';
import { TransactionFinishedHandlers } from './transaction-finished.handlers';

@Injectable()
export class ParticipantTargets {
  constructor(
    @Inject(TCC_OPTIONS) private readonly options: ResolvedTccOptions,
    private readonly selfUrl: SelfUrl,
    private readonly participantGrpc: ParticipantGrpcServer,
    private readonly registry: ParticipantRegistry,
    private readonly finished: TransactionFinishedHandlers,
  ) {}

  /** The endpoint of `phase` of `participant` at `service` (an HTTP base URL or a gRPC `host:port`; default here). */
  of(protocol: Protocol, participant: string, phase: ParticipantPhase, service?: string): string {
    if (protocol === 'grpc') return participantGrpcTarget(service ?? this.participantGrpc.address(), participant, phase);
    if (protocol !== 'http') throw new Error(`tcc: protocol must be http or grpc, not "${String(protocol)}"`);
    return this.selfUrl.endpoint(participant, phase, service);
  }

  /**
   * Checks that a participant named without `service` and hosted here is of `kind`: a saga step
   * naming a TCC participant would only be answered 404, so it is refused before anything is sent.
   */
  checkLocal(participant: string, kind: ParticipantKind, what: string): void {
    const local = this.registry.get(participant);
    if (local && local.kind !== kind) {
      throw new Error(`tcc ${what}: participant "${participant}" (${local.className}) here is a ${local.kind} participant, not a ${kind} one`);
    }
  }

  /** This service's queryPrepared endpoint, as the coordinator calls it. */
  queryPrepared(protocol: Protocol): string {
    if (protocol === 'grpc') return queryPreparedGrpcTarget(this.participantGrpc.address());
    if (protocol !== 'http') throw new Error(`tcc: queryPrepared must be http or grpc, not "${String(protocol)}"`);
    const prefix = this.options.participantPath ? `/${this.options.participantPath}` : '';
    return `${this.selfUrl.get().replace(/\/+$/, '')}${prefix}/${QUERY_PREPARED_PATH}`;
  }

  /**
   * The completion callback fields of a begin, saga or message (docs/contract.md §11): `explicit`
   * when given (a target of the caller's choosing; `false`: none), otherwise this service's own
   * callback endpoint when it declares an @OnTransactionFinished() handler, over the module's
   * `callbackProtocol` (default `http`).
   */
  callback(explicit?: string | false): { callback?: string; callbackProtocol?: Protocol } {
    if (explicit === false) return {};
    if (typeof explicit === 'string') return { callback: explicit };
    if (!this.finished.any) return {};
    const protocol = this.options.callbackProtocol;
    if (protocol === 'grpc') return { callback: finishedGrpcTarget(this.participantGrpc.address()), callbackProtocol: 'grpc' };
    const prefix = this.options.participantPath ? `/${this.options.participantPath}` : '';
    return { callback: `${this.selfUrl.get().replace(/\/+$/, '')}${prefix}/${CALLBACK_PATH}`, callbackProtocol: 'http' };
  }
}
