/**
 * The use cases of the coordinator API: begin, register a branch, commit, roll back, read.
 * Each decision goes through the state machine and is written as a compare-and-set before any
 * participant is called; the loser of a race re-reads and answers with the winner's status.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import {
  BranchStatus,
  GlobalStatus,
  type BeginRequest,
  type BeginResponse,
  type DecisionResponse,
  type JsonValue,
  type RegisterBranchRequest,
  type RegisterBranchResponse,
  type TransactionView,
} from '@tcc/client/protocol';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { LifecycleStore } from '../store/lifecycle.store';
import { type BranchRecord, type TransactionRecord } from '../store/records';
import { PhaseTwoDriver } from '../phase-two/phase-two.driver';
import { CompletionNotifier } from '../phase-two/completion.notifier';
import { ReplicaIdentity } from '../store/replica.identity';
import { ShutdownState } from '../common/shutdown.state';
import { decide, decisionTarget, isFinal, isPhaseTwo } from '../domain/transaction.state-machine';
import { invalidArgument, notTheOwner, tooLarge, TccError, TccErrorCode, transactionConflict, transactionNotFound } from '../domain/transaction.errors';
import { MetricsService } from '../metrics/metrics.service';
import { parseTarget, TargetPolicy } from '../domain/target.policy';
import { RegisteredBranches } from './registered-branches.cache';
import { StepChecks } from './step.checks';

/** A begin, as the contract's BeginRequest. */
export type BeginCommand = BeginRequest;

/** W3C trace context: version-traceid-parentid-flags, lower-case hex. */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** A branch registration, as the contract's RegisterBranchRequest. */
export type RegisterCommand = RegisterBranchRequest;

const METADATA_MAX_BYTES = 16 * 1024;
/**
 * How often a waiting request re-reads the status when no notification came: rarely when Redis
 * tells us about transactions other replicas finish, more often without it.
 */
const WAIT_POLL_MS = 250;
const WAIT_POLL_WITH_REDIS_MS = 1_000;

const iso = (ms: number): string => new Date(ms).toISOString();

@Injectable()
export class TransactionService {
  private readonly logger = new Logger(TransactionService.name);
  private readonly targets: TargetPolicy;
  private readonly registered = new RegisteredBranches();
  private readonly checks: StepChecks;

  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    private readonly store: LifecycleStore,
    private readonly driver: PhaseTwoDriver,
    private readonly completions: CompletionNotifier,
    private readonly replica: ReplicaIdentity,
    private readonly shutdown: ShutdownState,
    private readonly metrics: MetricsService,
  ) {
    this.targets = new TargetPolicy(config.allowedTargets);
    this.checks = new StepChecks(config);
  }

  /**
   * `client`: the authenticated caller, who owns the transaction from now on. `traceparent`: the
   * initiator's trace context, passed on to confirms and cancels (ignored when malformed).
   */
  async begin(cmd: BeginCommand, client: string, traceparent?: string): Promise<{ created: boolean; body: BeginResponse }> {
    if (this.shutdown.draining) throw new TccError(TccErrorCode.UNAVAILABLE, 'this coordinator replica is shutting down: begin on another one');
    const timeoutMs = cmd.timeoutMs ?? this.config.defaultTimeoutMs;
    if (timeoutMs > this.config.maxTimeoutMs) {
      throw invalidArgument('timeoutMs', `timeoutMs must not be greater than ${this.config.maxTimeoutMs}`);
    }
    const metadata = cmd.metadata === undefined ? null : JSON.stringify(cmd.metadata);
    if (metadata !== null && Buffer.byteLength(metadata) > METADATA_MAX_BYTES) throw tooLarge('metadata', METADATA_MAX_BYTES);
    const callback = this.checks.callback(cmd);
    const gid = cmd.gid ?? uuidv7();
    const begun = await this.store.begin(gid, timeoutMs, metadata, validTraceparent(traceparent), client, callback);
    if (begun.created) {
      this.metrics.begun.inc({ client, mode: 'tcc' });
      return { created: true, body: { gid, status: GlobalStatus.TRYING, createdAt: iso(begun.createdAt), expiresAt: iso(begun.expiresAt) } };
    }
    // The gid exists: a repeat of a begin answers what is stored, anything else is a conflict.
    const tx = await this.store.findTransaction(gid);
    if (!tx) throw transactionNotFound(gid);
    // Another client's gid: say only that it is taken, nothing of its state.
    if (!owns(tx, client)) throw new TccError(TccErrorCode.CONFLICT, `gid ${gid} is taken`);
    if (tx.status !== GlobalStatus.TRYING) {
      throw transactionConflict(gid, tx.status, 'a transaction with this gid exists and is no longer TRYING');
    }
    return { created: false, body: { gid, status: tx.status, createdAt: iso(tx.createdAt), expiresAt: iso(tx.expiresAt) } };
  }

  async registerBranch(gid: string, cmd: RegisterCommand, client: string): Promise<{ created: boolean; body: RegisterBranchResponse }> {
    for (const field of ['confirm', 'cancel'] as const) {
      const parsed = parseTarget(cmd.protocol, cmd[field]);
      if (typeof parsed === 'string') throw invalidArgument(field, `${field} ${parsed}`);
      if (!this.targets.allows(parsed.hostPort)) {
        throw invalidArgument(field, `${field} target ${parsed.hostPort} is not allowed by TCC_ALLOWED_TARGETS`);
      }
    }
    const payload = cmd.payload === undefined ? null : JSON.stringify(cmd.payload);
    if (payload !== null && Buffer.byteLength(payload) > this.config.maxPayloadBytes) throw tooLarge('payload', this.config.maxPayloadBytes);
    const branch = {
      branchId: cmd.branchId,
      participant: cmd.participant ?? null,
      protocol: cmd.protocol,
      confirmTarget: cmd.confirm,
      cancelTarget: cmd.cancel,
      payload,
    };
    if (await this.store.insertBranch(gid, branch, client, this.config.maxBranches)) {
      this.registered.add(gid, branch);
      return { created: true, body: { gid, branchId: cmd.branchId, status: BranchStatus.REGISTERED } };
    }
    // Nothing inserted: tell another client's transaction, a repeat, a conflict, an unknown gid, a
    // full or a closed transaction apart.
    const [tx, existing] = await Promise.all([this.store.findTransaction(gid), this.store.findBranch(gid, cmd.branchId)]);
    if (!tx) throw transactionNotFound(gid);
    if (!owns(tx, client)) throw this.notTheOwner(gid);
    if (existing) {
      const same =
        existing.participant === branch.participant &&
        existing.protocol === branch.protocol &&
        existing.confirmTarget === branch.confirmTarget &&
        existing.cancelTarget === branch.cancelTarget &&
        existing.payload === branch.payload;
      if (same) return { created: false, body: { gid, branchId: existing.branchId, status: existing.status } };
      throw transactionConflict(gid, tx.status, `branch ${cmd.branchId} is already registered with different fields`);
    }
    if (tx.status === GlobalStatus.TRYING) {
      if (tx.branchCount >= this.config.maxBranches) {
        throw transactionConflict(gid, tx.status, `it has ${this.config.maxBranches} branches, the most TCC_MAX_BRANCHES allows`);
      }
      // Past its deadline: whoever notices first rolls it back.
      const status = await this.timeOut(tx);
      throw transactionConflict(gid, status, 'the try phase is past its deadline');
    }
    throw transactionConflict(gid, tx.status, 'branches can be registered only while the transaction is TRYING');
  }

  /** `traceparent`: the caller's trace context, passed on to the confirms this call sends. */
  async commit(gid: string, client: string, wait: boolean, traceparent?: string): Promise<DecisionResponse> {
    return this.conclude(gid, client, 'commit', wait, undefined, validTraceparent(traceparent));
  }

  async rollback(gid: string, client: string, wait: boolean, reason?: string, traceparent?: string): Promise<DecisionResponse> {
    return this.conclude(gid, client, 'rollback', wait, reason, validTraceparent(traceparent));
  }

  async get(gid: string, client: string): Promise<TransactionView> {
    const tx = await this.store.findTransaction(gid);
    if (!tx) throw transactionNotFound(gid);
    if (!owns(tx, client)) throw this.notTheOwner(gid);
    const branches = await this.store.findBranches(gid);
    return toView(tx, branches);
  }

  /** Decides for `client` (write first: the compare-and-set includes the owner), then explains a loss. */
  private async conclude(
    gid: string,
    client: string,
    event: 'commit' | 'rollback',
    wait: boolean,
    reason: string | undefined,
    traceparent: string | null,
  ): Promise<DecisionResponse> {
    const to = decisionTarget(event);
    const { won, branches: stored } = await this.store.recordDecisionCounting(
      gid,
      event,
      { owner: this.replica.id, leaseMs: this.config.leaseMs, reason: event === 'rollback' ? (reason ?? 'rollback requested') : null, client },
      this.registered.has(gid),
    );
    if (won) {
      const known = this.registered.take(gid);
      this.logger.debug({ gid, msg: `decided ${to}` });
      // Phase two starts from the branches registered here when they are all there are.
      const branches = known && known.length === stored ? known : undefined;
      const round = this.driver.drive(gid, { status: to, rounds: 0, traceparent, branches });
      return { gid, status: wait ? await this.awaitFinal(gid, round) : to };
    }
    const tx = await this.store.findTransaction(gid);
    if (!tx) throw transactionNotFound(gid);
    // Another client's attempt leaves the owner's memory of its branches alone.
    if (!owns(tx, client)) throw this.notTheOwner(gid);
    this.registered.take(gid);
    const decision = decide(tx.status, event, tx.mode);
    if (decision.kind === 'transition') {
      // Still TRYING, so the commit's deadline condition failed: the deadline has passed.
      const status = await this.timeOut(tx);
      throw transactionConflict(gid, status, 'the try phase is past its deadline, so the transaction is rolled back');
    }
    if (decision.kind === 'conflict') {
      throw transactionConflict(gid, tx.status, `cannot ${event}`);
    }
    if (!wait || isFinal(tx.status)) return { gid, status: tx.status };
    return { gid, status: await this.awaitFinal(gid, this.driver.isDriving(gid) ? this.driver.drive(gid) : null) };
  }

  notTheOwner(gid: string): TccError {
    this.metrics.ownerRefusals.inc();
    return notTheOwner(gid);
  }

  /** Rolls back a TRYING transaction found past its deadline; answers the status after. */
  private async timeOut(tx: TransactionRecord): Promise<GlobalStatus> {
    const won = await this.store.recordDecision(tx.gid, 'timeout', { owner: this.replica.id, leaseMs: this.config.leaseMs, reason: 'timeout' });
    if (won) {
      this.logger.log({ gid: tx.gid, msg: `try phase timed out: rolling back` });
      void this.driver.drive(tx.gid, { status: GlobalStatus.ROLLING_BACK, rounds: 0 });
      return GlobalStatus.ROLLING_BACK;
    }
    const now = await this.store.findTransaction(tx.gid);
    return now?.status ?? tx.status;
  }

  /**
   * Waits, at most TCC_COMMIT_WAIT_MS, for the transaction to finish: first for the round this
   * request started, then for a notification from a later round, re-reading the database now and
   * then in case another process finished it.
   */
  async awaitFinal(gid: string, round: Promise<GlobalStatus | null> | null): Promise<GlobalStatus> {
    const deadline = Date.now() + this.config.commitWaitMs;
    let status: GlobalStatus | null = null;
    if (round) {
      status = await Promise.race([round, sleep(this.config.commitWaitMs).then(() => null)]);
      if (status && isFinal(status)) return status;
    }
    while (Date.now() < deadline) {
      const poll = this.completions.hearsOtherReplicas ? WAIT_POLL_WITH_REDIS_MS : WAIT_POLL_MS;
      const notified = await this.completions.wait(gid, Math.min(poll, Math.max(1, deadline - Date.now())));
      if (notified) return notified;
      const tx = await this.store.findTransaction(gid);
      if (!tx) throw transactionNotFound(gid);
      status = tx.status;
      if (!isPhaseTwo(status)) return status;
    }
    if (status) return status;
    const tx = await this.store.findTransaction(gid);
    if (!tx) throw transactionNotFound(gid);
    return tx.status;
  }
}

/** Transactions begun before clients were recorded belong to nobody in particular. */
export function owns(tx: TransactionRecord, client: string): boolean {
  return tx.client === null || tx.client === client;
}

export function validTraceparent(value: string | undefined): string | null {
  return value && TRACEPARENT.test(value) ? value : null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export function toView(tx: TransactionRecord, branches: BranchRecord[]): TransactionView {
  return {
    gid: tx.gid,
    mode: tx.mode,
    status: tx.status,
    createdAt: iso(tx.createdAt),
    updatedAt: iso(tx.updatedAt),
    expiresAt: iso(tx.expiresAt),
    metadata: tx.metadata === null ? null : (JSON.parse(tx.metadata) as Record<string, JsonValue>),
    branches: branches.map((b) => ({
      branchId: b.branchId,
      participant: b.participant,
      protocol: b.protocol,
      status: b.status,
      attempts: b.attempts,
      lastError: b.lastError,
    })),
  };
}
