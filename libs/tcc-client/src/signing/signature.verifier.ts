/**
 * The participant side of signed calls: checks each incoming call's signature against the
 * configured keys before the barrier or the business method runs (both the HTTP endpoint and the
 * gRPC server ask here). A refused call is logged once per gid; with no keys configured every call
 * passes and a warning says so once at start.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { BranchCall } from '../participant/branch-call.types';
import { ParticipantRegistry } from '../participant/participant.registry';
import { ResolvedTccOptions, TCC_OPTIONS } from '../tcc.options';
import { payloadText, SIGNATURE_HEADERS, verifyBranchCall } from './branch-signature';

const LOGGED_GIDS_MAX = 1000;

@Injectable()
export class SignatureVerifier implements OnApplicationBootstrap {
  private readonly logger = new Logger('TccSignature');
  private readonly loggedGids = new Set<string>();

  constructor(
    @Inject(TCC_OPTIONS) private readonly options: ResolvedTccOptions,
    private readonly registry: ParticipantRegistry,
  ) {}

  onApplicationBootstrap(): void {
    if (this.options.signingKeys.length === 0 && this.registry.size > 0) {
      this.logger.warn(
        `participant calls are unsigned: anyone who reaches /${this.options.participantPath}/* can confirm or cancel a branch; ` +
          'configure signingKeys (the coordinator TCC_SIGNING_KEYS) or expose the endpoints only to the coordinator',
      );
    }
  }

  /** Undefined when the call may run; otherwise why it is refused. */
  refusal(call: BranchCall, headers: Record<string, string | undefined>): string | undefined {
    const keys = this.options.signingKeys;
    if (keys.length === 0) return undefined;
    const check = verifyBranchCall(
      keys,
      { phase: call.phase, gid: call.gid, branchId: call.branchId, payloadText: payloadText(call.payload) },
      headers[SIGNATURE_HEADERS.signature],
      headers[SIGNATURE_HEADERS.timestamp],
      this.options.signatureWindowMs,
      Date.now(),
      this.options.signatureClockSkewMs,
    );
    if (check.ok) return undefined;
    const reason = check.reason === 'future' ? 'signature timestamp ahead of this clock' : `${check.reason} signature`;
    if (!this.loggedGids.has(call.gid)) {
      if (this.loggedGids.size >= LOGGED_GIDS_MAX) this.loggedGids.clear();
      this.loggedGids.add(call.gid);
      this.logger.warn({ gid: call.gid, branchId: call.branchId, phase: call.phase, msg: `participant call refused: ${reason}` });
    }
    return reason;
  }
}
