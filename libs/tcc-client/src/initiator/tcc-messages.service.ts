/**
 * Reliable (two-phase) messages (docs/contract.md §10) from business code: `send(options, work)`
 * 1. records the message PREPARED at the coordinator, naming this service's queryPrepared endpoint;
 * 2. runs `work` in one local transaction of the participant database (the barrier adapter's), which
 *    also writes the message's prepared barrier row (BranchBarrier.prepare), so the row commits
 *    exactly when the business change does;
 * 3. submits the message once that transaction committed: the coordinator delivers every step.
 * When `work` throws (or the local transaction fails), the message is aborted, best effort, and the
 * error rethrown: nothing is delivered (an abort that gets no answer is settled by queryPrepared,
 * which finds no committed row and answers ROLLED_BACK). When the submit gets no answer after the
 * commit, the business result stands: the coordinator asks queryPrepared once the message's
 * timeoutMs has passed, finds the committed row, and delivers.
 */
import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { BarrierCleanupService } from '../barrier/barrier-cleanup.service';
import { BranchBarrier } from '../barrier/branch.barrier';
import { CoordinatorClient } from '../client/coordinator.client';
import { CoordinatorError } from '../client/coordinator.errors';
import { ParticipantDatabase } from '../participant/participant-database.provider';
import { GlobalStatus, REASON_MAX_LENGTH, type JsonValue, type MessageProtocol, type MessageStep, type Protocol } from '../protocol';
import { currentLocalTransaction, runLocalTransaction } from '../sql/local-transaction.runner';
import { newGid } from './gid';
import { MessageAbortedError, NoLocalTransactionError } from './initiator.errors';
import { waitForOutcome, type FinalStatus, type WaitForOutcomeOptions } from './outcome.waiter';
import { ParticipantTargets } from './participant-targets';
import { currentTraceparent } from './trace-context';

export interface MessageStepOptions {
  /** Participant name as declared with @TccParticipant() on a message handler (@MessageHandler). */
  participant?: string;
  /** Unique within the message. Default: the participant name. */
  branchId?: string;
  /** How the step is delivered. Default `http`; `amqp` and `nats` publish to a broker of the coordinator (TCC_BROKERS). */
  protocol?: MessageProtocol;
  /** For `http` the base URL, for `grpc` the `host:port` of the service hosting the participant. Default: this service. */
  service?: string;
  /**
   * An explicit destination instead: an http(s) URL, a gRPC target `host:port/package.Service/Method`,
   * for `amqp` `<broker>/<exchange>/<routingKey>`, for `nats` `<broker>/<subject>` (required for those two).
   */
  target?: string;
  /** Handed to the consumer. */
  payload?: JsonValue;
}

export interface MessageOptions {
  /** The message's gid. Default: a new one (UUIDv7). */
  gid?: string;
  steps: MessageStepOptions[];
  /**
   * How long the message may stay PREPARED (its local transaction running, or its submit lost)
   * before the coordinator asks queryPrepared. Default: the coordinator's (TCC_DEFAULT_TIMEOUT_MS).
   */
  timeoutMs?: number;
  metadata?: Record<string, JsonValue>;
  /**
   * How the coordinator reaches this service's queryPrepared endpoint: `http` (default,
   * `<selfUrl>/<prefix>/query-prepared`) or `grpc` (`tcc.v1.Initiator/QueryPrepared` on the
   * participant gRPC server, TccModule's `grpc` option).
   */
  queryPrepared?: Protocol;
  /**
   * The completion callback (docs/contract.md §11): a target of your choosing (an http(s) URL or
   * a gRPC target), or `false` for none. Default: this service's own callback endpoint when it
   * declares an @OnTransactionFinished() handler, none otherwise.
   */
  callback?: string | false;
  /** Let the submit wait for every delivery (up to the coordinator's wait bound). Default false. */
  wait?: boolean;
}

export interface MessageSent<T> {
  gid: string;
  /** What `work` returned: committed with the prepared row. */
  result: T;
  /**
   * Whether the coordinator acknowledged the submit. False when it gave no usable answer: the
   * message is delivered all the same, after the coordinator asks queryPrepared (past `timeoutMs`).
   */
  submitted: boolean;
  /** The message's status as the submit answered it (COMMITTING, or COMMITTED with `wait`). */
  status?: GlobalStatus;
}

@Injectable()
export class TccMessages {
  private readonly logger = new Logger('TccMessages');
  private barrier: BranchBarrier | undefined;

  constructor(
    private readonly coordinator: CoordinatorClient,
    private readonly targets: ParticipantTargets,
    private readonly database: ParticipantDatabase,
    private readonly cleanup: BarrierCleanupService,
  ) {}

  /**
   * Runs `work` with the handle of a local transaction of the participant database (EntityManager
   * by default; the barrier adapter's own handle otherwise) and sends the message if, and only if,
   * that transaction commits. `work` may run again if the database picks the transaction as a
   * deadlock victim, like a participant method. Throws what `work` threw (the message aborted),
   * CoordinatorError / CoordinatorUnavailableError when the prepare fails (nothing ran), and
   * MessageAbortedError in the one case where the commit happened but the message will not be
   * delivered (see there).
   */
  async send<T, Tx = EntityManager>(options: MessageOptions, work: (tx: Tx) => Promise<T>): Promise<MessageSent<T>> {
    const gid = options.gid ?? newGid();
    const traceparent = currentTraceparent();
    const database = this.database.get();
    const barrier = (this.barrier ??= new BranchBarrier(database.dialect));
    // Prepared rows are this service's barrier rows too: removed by the cleanup after their retention.
    this.cleanup.ensureStarted();
    await this.coordinator.prepareMessage(
      {
        gid,
        steps: options.steps.map((step) => this.stepOf(step)),
        queryPrepared: this.targets.queryPrepared(options.queryPrepared ?? 'http'),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        ...(options.metadata ? { metadata: options.metadata } : {}),
        ...this.targets.callback(options.callback),
      },
      traceparent,
    );
    let result: T;
    try {
      result = await runLocalTransaction(database, async (sql, tx) => {
        // First, so a queryPrepared arriving meanwhile waits for this transaction's end.
        await barrier.prepare(sql, gid);
        return work(tx as Tx);
      });
    } catch (error) {
      await this.abortQuietly(gid, error, traceparent);
      throw error;
    }
    try {
      const { status } = await this.coordinator.submitMessage(gid, { wait: options.wait ?? false }, traceparent);
      return { gid, result, submitted: true, status };
    } catch (error) {
      const status = error instanceof CoordinatorError && error.statusCode === 409 ? error.transactionStatus : undefined;
      if (status === GlobalStatus.ROLLED_BACK || status === GlobalStatus.ROLLING_BACK) {
        this.logger.error({ gid, msg: 'message rolled back at the coordinator after its local transaction committed: not delivered' });
        throw new MessageAbortedError(gid, result);
      }
      // Submitted already (queryPrepared was quicker), or no usable answer: the committed row decides.
      if (status) return { gid, result, submitted: true, status };
      this.logger.warn({
        gid,
        msg: 'submit unanswered after the local commit: the coordinator will ask queryPrepared and deliver',
        error: error instanceof Error ? error.message : String(error),
      });
      return { gid, result, submitted: false };
    }
  }

  /**
   * Sends a message from inside the local transaction the caller already runs in: a participant
   * method's (say, the confirm that marks an order paid) or TccMessages.send's. Prepares it at the
   * coordinator, writes its prepared row in that transaction, and submits it once that transaction
   * has committed; if it rolls back, nothing is submitted and queryPrepared answers ROLLED_BACK.
   * The prepare is a call to the coordinator made while the transaction is open. A transaction
   * run again (a deadlock victim) sends a new message (a new gid); the first is aborted by its
   * query. Throws NoLocalTransactionError outside a local transaction.
   */
  async sendInTransaction(options: Omit<MessageOptions, 'wait'>): Promise<{ gid: string }> {
    const local = currentLocalTransaction();
    if (!local) throw new NoLocalTransactionError('TccMessages.sendInTransaction runs inside a participant method or TccMessages.send');
    const gid = options.gid ?? newGid();
    const traceparent = currentTraceparent();
    const barrier = (this.barrier ??= new BranchBarrier(local.database.dialect));
    this.cleanup.ensureStarted();
    await this.coordinator.prepareMessage(
      {
        gid,
        steps: options.steps.map((step) => this.stepOf(step)),
        queryPrepared: this.targets.queryPrepared(options.queryPrepared ?? 'http'),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        ...(options.metadata ? { metadata: options.metadata } : {}),
        ...this.targets.callback(options.callback),
      },
      traceparent,
    );
    await barrier.prepare(local.sql, gid);
    local.afterCommit.push(async () => {
      try {
        await this.coordinator.submitMessage(gid, { wait: false }, traceparent);
      } catch (error) {
        // Committed: the coordinator asks queryPrepared past timeoutMs, finds the row, and delivers.
        this.logger.warn({ gid, msg: 'submit unanswered after the local commit: queryPrepared will settle it', error: error instanceof Error ? error.message : String(error) });
      }
    });
    return { gid };
  }

  /**
   * The final status of message `gid` (COMMITTED once every step was delivered, or ROLLED_BACK),
   * read with backoff, as TccInitiator.waitForOutcome.
   */
  waitForOutcome(gid: string, options?: WaitForOutcomeOptions): Promise<FinalStatus> {
    return waitForOutcome(this.coordinator, gid, options);
  }

  private stepOf(step: MessageStepOptions): MessageStep {
    const protocol = step.protocol ?? 'http';
    const branchId = step.branchId ?? step.participant;
    if (!branchId) throw new Error('tcc message step: name its participant or its branchId');
    let action = step.target;
    if (!action) {
      if (protocol !== 'http' && protocol !== 'grpc') throw new Error(`tcc message step "${branchId}": an ${protocol} step needs its target (<broker>/...)`);
      if (!step.participant) throw new Error(`tcc message step "${branchId}": name its participant, or its target`);
      if (!step.service) this.targets.checkLocal(step.participant, 'message', `message step "${branchId}"`);
      action = this.targets.of(protocol, step.participant, 'message', step.service);
    }
    return {
      branchId,
      ...(step.participant ? { participant: step.participant } : {}),
      protocol,
      action,
      ...(step.payload === undefined ? {} : { payload: step.payload }),
    };
  }

  private async abortQuietly(gid: string, cause: unknown, traceparent: string | undefined): Promise<void> {
    const reason = (cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)).slice(0, REASON_MAX_LENGTH);
    try {
      await this.coordinator.abortMessage(gid, { reason }, traceparent);
    } catch (error) {
      // The original error matters more; without a committed row, queryPrepared answers ROLLED_BACK.
      this.logger.warn({ gid, msg: 'abort failed: queryPrepared will settle it', error: error instanceof Error ? error.message : String(error) });
    }
  }
}
