/**
 * The checks a saga's or a message's steps share with a branch registration (docs/contract.md §3):
 * targets under TCC_ALLOWED_TARGETS, payload and metadata sizes, the number of steps, distinct ids.
 * Each failure is a 400 naming the step's field, before anything is written.
 */
import type { JsonValue, Protocol } from '@tcc/client/protocol';
import type { CoordinatorConfig } from '../config/coordinator.config';
import { parseTarget, TargetPolicy } from '../domain/target.policy';
import { invalidArgument, tooLarge } from '../domain/transaction.errors';

const METADATA_MAX_BYTES = 16 * 1024;

export class StepChecks {
  private readonly targets: TargetPolicy;

  constructor(private readonly config: CoordinatorConfig) {
    this.targets = new TargetPolicy(config.allowedTargets);
  }

  /** The timeout (default and bound) and the metadata as stored. */
  common(body: { timeoutMs?: number; metadata?: Record<string, JsonValue> }): { timeoutMs: number; metadata: string | null } {
    const timeoutMs = body.timeoutMs ?? this.config.defaultTimeoutMs;
    if (timeoutMs > this.config.maxTimeoutMs) throw invalidArgument('timeoutMs', `timeoutMs must not be greater than ${this.config.maxTimeoutMs}`);
    const metadata = body.metadata === undefined ? null : JSON.stringify(body.metadata);
    if (metadata !== null && Buffer.byteLength(metadata) > METADATA_MAX_BYTES) throw tooLarge('metadata', METADATA_MAX_BYTES);
    return { timeoutMs, metadata };
  }

  stepCount(n: number): void {
    if (n > this.config.maxBranches) throw invalidArgument('steps', `steps must hold at most ${this.config.maxBranches} steps (TCC_MAX_BRANCHES)`);
  }

  distinct(ids: readonly string[]): void {
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) throw invalidArgument('steps', `steps name branchId ${id} twice`);
      seen.add(id);
    }
  }

  /** An http or grpc target the coordinator may call. */
  target(field: string, protocol: Protocol, target: string): void {
    const parsed = parseTarget(protocol, target);
    if (typeof parsed === 'string') throw invalidArgument(field, `${field} ${parsed}`);
    if (!this.targets.allows(parsed.hostPort)) throw invalidArgument(field, `${field} target ${parsed.hostPort} is not allowed by TCC_ALLOWED_TARGETS`);
  }

  /**
   * A completion callback (docs/contract.md §11), checked like a branch target and named
   * `callback` when refused; its protocol given, or read from its shape as queryPrepared's is.
   */
  callback(body: { callback?: string; callbackProtocol?: Protocol }): { target: string; protocol: Protocol } | null {
    if (body.callback === undefined) {
      if (body.callbackProtocol !== undefined) throw invalidArgument('callback', 'callback is required with callbackProtocol');
      return null;
    }
    const protocol = body.callbackProtocol ?? (/^https?:\/\//i.test(body.callback) ? 'http' : 'grpc');
    this.target('callback', protocol, body.callback);
    return { target: body.callback, protocol };
  }

  payload(field: string, payload: JsonValue | undefined): string | null {
    const text = payload === undefined ? null : JSON.stringify(payload);
    if (text !== null && Buffer.byteLength(text) > this.config.maxPayloadBytes) throw tooLarge(field, this.config.maxPayloadBytes);
    return text;
  }
}
