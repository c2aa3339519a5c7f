/**
 * The participant side of signed calls: checks each incoming call's signature against the
 * configured keys before the barrier or the business method runs (both the HTTP endpoint and the
 * gRPC server ask here). A refused call is logged at most once a minute per reason, so a
 * misconfigured caller cannot flood the log; with no keys configured every call passes and a
 * warning says so once at start.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { BranchCall } from '../participant/branch-call.types';
import { ParticipantRegistry } from '../participant/participant.registry';
import { ResolvedTccOptions, TCC_OPTIONS } from '../tcc.options';
import { payloadText, SIGNATURE_HEADERS, verifyBranchCall, type SignatureCheck } from './branch-signature';

type RefusalReason = Extract<SignatureCheck, { ok: false }>['reason'];

/** How often a refusal of one reason is logged at most. */
const LOG_EVERY_MS = 60_000;

/**
 * What a refused call answers (the message of 401 SIGNATURE_INVALID / gRPC UNAUTHENTICATED) and
 * what the participant logs. It names the setting to check and never any key or part of one: the
 * caller may be anyone.
 */
export const SIGNATURE_REFUSALS: Record<RefusalReason, string> = {
  missing: 'missing signature',
  malformed: 'malformed signature',
  stale: 'stale signature',
  future: 'signature timestamp ahead of this clock',
  mismatch:
    "the caller's signing key is not among this service's signing keys (signingKeys, TCC_SIGNING_KEYS): " +
    'the coordinator and every service must share one signing key (or the call was altered on the way)',
};

@Injectable()
export class SignatureVerifier implements OnApplicationBootstrap {
  private readonly logger = new Logger('TccSignature');
  /** Per reason: when it was last logged, and how many refusals of it went unlogged since. */
  private readonly logged = new Map<RefusalReason, { at: number; suppressed: number }>();

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
    const message = SIGNATURE_REFUSALS[check.reason];
    this.warn(check.reason, message, call);
    return message;
  }

  private warn(reason: RefusalReason, message: string, call: BranchCall, now = Date.now()): void {
    const last = this.logged.get(reason);
    if (last && now - last.at < LOG_EVERY_MS) {
      last.suppressed++;
      return;
    }
    this.logged.set(reason, { at: now, suppressed: 0 });
    this.logger.warn({
      gid: call.gid,
      branchId: call.branchId,
      phase: call.phase,
      reason,
      ...(last?.suppressed ? { refusedSinceLastLine: last.suppressed } : {}),
      msg: `participant call refused (401 SIGNATURE_INVALID): ${message}; logged at most once a minute per reason`,
    });
  }
}
