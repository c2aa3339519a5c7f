/**
 * Runs a method as one global transaction: begin, make it current, run the method (whose branches
 * register and try), then commit if it returned or roll back and rethrow if it threw. A transaction is
 * never left open: when the decision cannot be delivered, the coordinator's deadline rolls it back.
 * When whether the commit landed cannot be learnt, it says so (TransactionOutcomeUnknownError).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ParticipantCaller } from '../caller/participant.caller';
import { CoordinatorClient } from '../client/coordinator.client';
import { CoordinatorError, CoordinatorUnavailableError } from '../client/coordinator.errors';
import { ResolvedTccOptions, TCC_OPTIONS } from '../tcc.options';
import { GlobalStatus, JsonValue, REASON_MAX_LENGTH } from '../protocol';
import type { DecisionResponse, Protocol } from '../protocol';
import { ParticipantGrpcServer } from '../participant/participant-grpc.server';
import { ParticipantDispatcher } from '../participant/participant.dispatcher';
import { ParticipantRegistry } from '../participant/participant.registry';
import { answerCall } from '../participant/participant.answer';
import { participantGrpcTarget } from '../participant/participant-grpc.naming';
import type { BranchOptions } from './branch.options';
import { GlobalTransaction, currentTransaction, transactionStorage } from './global-transaction.context';
import { BranchFailedError, BranchRefusedError, NoTransactionError, TransactionAbortedError, TransactionOutcomeUnknownError } from './initiator.errors';
import { SelfUrl } from './self-url.service';
import { ParticipantTargets } from './participant-targets';
import { currentTraceparent } from './trace-context';

/** The commit is recorded: phase two confirms every branch, whatever happens to this process. */
function committed(status: GlobalStatus): boolean {
  return status === GlobalStatus.COMMITTING || status === GlobalStatus.COMMITTED;
}

/** The rollback is recorded: nothing of the transaction will be confirmed. */
function rolledBack(status: GlobalStatus): boolean {
  return status === GlobalStatus.ROLLING_BACK || status === GlobalStatus.ROLLED_BACK;
}

export interface TransactionalOptions {
  /** Deadline of the try phase; the coordinator rolls back past it. Default: the module's. */
  timeoutMs?: number;
  metadata?: Record<string, JsonValue>;
  /**
   * When the method throws, whether the error reaches the caller only after the rollback finished
   * (every cancel answered, bounded by the coordinator's wait). The rollback decision is recorded
   * either way, and the coordinator drives the cancels to completion on its own. Default: wait,
   * except when a try failed (answered 5xx or nothing): then its cancel is likely to fail too, so
   * the error is thrown at once. `true` always waits, `false` never does.
   */
  waitForRollback?: boolean;
  /**
   * The completion callback (docs/contract.md §11): a target of your choosing (an http(s) URL or
   * a gRPC target), or `false` for none. Default: this service's own callback endpoint when it
   * declares an @OnTransactionFinished() handler, none otherwise.
   */
  callback?: string | false;
}

@Injectable()
export class TransactionRunner {
  private readonly logger = new Logger('TccInitiator');

  constructor(
    @Inject(TCC_OPTIONS) private readonly options: ResolvedTccOptions,
    private readonly coordinator: CoordinatorClient,
    private readonly caller: ParticipantCaller,
    private readonly selfUrl: SelfUrl,
    private readonly participantGrpc: ParticipantGrpcServer,
    private readonly registry: ParticipantRegistry,
    private readonly dispatcher: ParticipantDispatcher,
    private readonly targets: ParticipantTargets,
  ) {}

  async run<T>(options: TransactionalOptions, work: () => Promise<T>): Promise<T> {
    if (currentTransaction()) return work();
    const traceparent = currentTraceparent();
    const begun = await this.coordinator.begin(
      {
        timeoutMs: options.timeoutMs ?? this.options.defaultTransactionTimeoutMs,
        ...(options.metadata ? { metadata: options.metadata } : {}),
        ...this.targets.callback(options.callback),
      },
      traceparent,
    );
    const transaction = new GlobalTransaction(begun.gid, traceparent);
    let result: T;
    try {
      result = await transactionStorage.run(transaction, work);
    } catch (error) {
      transaction.close();
      await this.rollbackQuietly(transaction, error, options.waitForRollback ?? !(error instanceof BranchFailedError));
      throw error;
    }
    transaction.close();
    await this.commit(transaction);
    return result;
  }

  /**
   * Registers a branch of the current transaction, then calls its try, over HTTP or gRPC; answers
   * the try's body (for a participant built with this library, over either protocol:
   * `{ gid, branchId, phase, outcome, result }`).
   */
  async branch(spec: BranchOptions): Promise<JsonValue | undefined> {
    const transaction = currentTransaction();
    if (!transaction?.isOpen) throw new NoTransactionError(`cannot run branch "${spec.branchId ?? spec.participant}"`);
    const gid = transaction.gid;
    const branchId = spec.branchId ?? spec.participant;
    const protocol = spec.protocol ?? 'http';
    const endpoints = this.endpoints(spec, protocol);
    const payload = spec.payload ?? null;
    try {
      const registration = { branchId, participant: spec.participant, protocol, confirm: endpoints.confirm, cancel: endpoints.cancel, payload };
      await this.coordinator.registerBranch(gid, registration, transaction.traceparent);
    } catch (error) {
      // 409: the transaction left TRYING (its deadline passed), so it can only roll back now.
      if (error instanceof CoordinatorError && error.statusCode === 409) throw new TransactionAbortedError(gid, error.transactionStatus);
      throw error;
    }
    if (protocol === 'http' && !spec.urls && !spec.service && this.registry.get(spec.participant)) {
      return this.tryHere(gid, branchId, spec.participant, payload);
    }
    const answer = await this.caller.call({
      protocol,
      target: endpoints.try,
      body: { gid, branchId, phase: 'try', payload },
      timeoutMs: this.options.requestTimeoutMs,
      traceparent: transaction.traceparent,
      signingKey: this.options.signingKeys[0],
    });
    switch (answer.outcome) {
      case 'done':
        return answer.body;
      case 'refused':
        throw new BranchRefusedError(gid, branchId, answer.statusCode, answer.code, answer.body);
      case 'failed':
        throw new BranchFailedError(gid, branchId, `try: ${answer.error}`);
    }
  }

  /**
   * The try of a participant hosted by this application, run in-process: the same barrier and
   * local transaction as over HTTP, with the answers the HTTP endpoint would give, without the
   * round trip. The coordinator still calls its confirm and cancel over HTTP.
   */
  private async tryHere(gid: string, branchId: string, participant: string, payload: JsonValue | null): Promise<JsonValue | undefined> {
    const call = { gid, branchId, phase: 'try', payload } as const;
    const answer = await answerCall(participant, call, () => this.dispatcher.dispatch(participant, 'try', call));
    switch (answer.kind) {
      case 'done':
        // What the HTTP endpoint would have answered, JSON and all.
        return JSON.parse(JSON.stringify(answer.answer)) as JsonValue;
      case 'refused':
        throw new BranchRefusedError(gid, branchId, answer.statusCode, answer.code, answer.body as JsonValue);
      case 'not-found':
      case 'failed':
        throw new BranchFailedError(gid, branchId, `try: ${answer.message}`);
    }
  }

  /** Try, confirm and cancel endpoints of a branch: HTTP URLs or gRPC targets. */
  private endpoints(spec: BranchOptions, protocol: Protocol): { try: string; confirm: string; cancel: string } {
    if (protocol === 'grpc') {
      if (spec.urls) throw new Error(`tcc branch "${spec.participant}": urls are for http branches; a grpc branch takes targets`);
      if (spec.targets) return spec.targets;
      const address = spec.service ?? this.participantGrpc.address();
      return {
        try: participantGrpcTarget(address, spec.participant, 'try'),
        confirm: participantGrpcTarget(address, spec.participant, 'confirm'),
        cancel: participantGrpcTarget(address, spec.participant, 'cancel'),
      };
    }
    if (protocol !== 'http') throw new Error(`tcc branch "${spec.participant}": protocol must be http or grpc, not "${String(protocol)}"`);
    if (spec.targets) throw new Error(`tcc branch "${spec.participant}": targets are for grpc branches; an http branch takes urls`);
    return (
      spec.urls ?? {
        try: this.selfUrl.endpoint(spec.participant, 'try', spec.service),
        confirm: this.selfUrl.endpoint(spec.participant, 'confirm', spec.service),
        cancel: this.selfUrl.endpoint(spec.participant, 'cancel', spec.service),
      }
    );
  }

  /**
   * Commits, and answers only what the coordinator said: returns once the commit is recorded
   * (COMMITTING or COMMITTED), throws TransactionAbortedError once it is known rolled back, and
   * TransactionOutcomeUnknownError when neither can be known, never a guess either way.
   */
  private async commit({ gid, traceparent }: GlobalTransaction): Promise<void> {
    let unanswered: CoordinatorUnavailableError;
    try {
      const decision = await this.coordinator.commit(gid, { wait: true }, traceparent);
      if (committed(decision.status)) return;
      if (rolledBack(decision.status)) throw new TransactionAbortedError(gid, decision.status);
      throw new TransactionOutcomeUnknownError(gid, new Error(`commit answered ${String(decision.status)}`), decision.status);
    } catch (error) {
      if (error instanceof CoordinatorError && error.statusCode === 409) {
        // 409 carries the current status: a rollback (the deadline won) is an answer; anything else is not.
        const status = error.transactionStatus;
        if (status && committed(status)) return;
        if (status && rolledBack(status)) throw new TransactionAbortedError(gid, status);
        throw new TransactionOutcomeUnknownError(gid, error, status);
      }
      if (!(error instanceof CoordinatorUnavailableError)) throw error;
      unanswered = error;
    }
    // The commit may or may not have been recorded. Rollback is a compare-and-set against it:
    // a 409 saying COMMITTING/COMMITTED means the commit won; a success means it never landed.
    this.logger.warn({ gid, msg: 'commit unanswered, settling the outcome with a rollback', error: unanswered.message });
    let settled: DecisionResponse;
    try {
      settled = await this.coordinator.rollback(gid, { wait: false, reason: 'commit unanswered' }, traceparent);
    } catch (settle) {
      const status = settle instanceof CoordinatorError && settle.statusCode === 409 ? settle.transactionStatus : undefined;
      if (status && committed(status)) return;
      if (status && rolledBack(status)) throw new TransactionAbortedError(gid, status);
      // No answer, or a refusal that says nothing of the commit (401, 403, 404): neither is known.
      this.logger.warn({ gid, msg: 'commit outcome unknown: the settling rollback failed too', error: settle instanceof Error ? settle.message : String(settle) });
      throw new TransactionOutcomeUnknownError(gid, unanswered, status);
    }
    if (rolledBack(settled.status)) throw new TransactionAbortedError(gid, settled.status);
    if (committed(settled.status)) return;
    throw new TransactionOutcomeUnknownError(gid, new Error(`rollback answered ${String(settled.status)}`), settled.status);
  }

  private async rollbackQuietly({ gid, traceparent }: GlobalTransaction, cause: unknown, wait: boolean): Promise<void> {
    const reason = (cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)).slice(0, REASON_MAX_LENGTH);
    try {
      await this.coordinator.rollback(gid, { wait, reason }, traceparent);
    } catch (error) {
      // The original error matters more to the caller; the deadline rolls the transaction back anyway.
      this.logger.warn({ gid, msg: 'rollback failed', error: error instanceof Error ? error.message : String(error) });
    }
  }
}
