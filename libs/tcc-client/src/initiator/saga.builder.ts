/**
 * A saga (docs/contract.md §9) built from business code: `tccSagas.saga(options).step(...).step(...)
 * .submit({ wait })`. Each step names a saga participant (@SagaAction / @SagaCompensate) hosted here
 * or at `service`, or explicit endpoints of one not built with this library. The whole saga goes to
 * the coordinator in one call, which records it and drives it: actions in order (or by `after` when
 * concurrent), and on a refusal the compensations in reverse.
 */
import type { CoordinatorClient } from '../client/coordinator.client';
import { CoordinatorUnavailableError } from '../client/coordinator.errors';
import { GlobalStatus, type JsonValue, type Protocol, type SagaStep, type StartSagaRequest } from '../protocol';
import { SagaOutcomeUnknownError, SagaRolledBackError } from './initiator.errors';
import type { ParticipantTargets } from './participant-targets';
import { currentTraceparent } from './trace-context';

export interface SagaOptions {
  /** The saga's gid. Default: a new one (UUIDv7), made here so that a start without an answer can be repeated. */
  gid?: string;
  /** How long failing actions are retried before the saga compensates. Default: the coordinator's (TCC_DEFAULT_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Run each action as soon as the steps named in its `after` succeeded, instead of one after another. */
  concurrent?: boolean;
  metadata?: Record<string, JsonValue>;
  /**
   * The completion callback (docs/contract.md §11): a target of your choosing (an http(s) URL or
   * a gRPC target), or `false` for none. Default: this service's own callback endpoint when it
   * declares an @OnTransactionFinished() handler, none otherwise.
   */
  callback?: string | false;
}

export interface SagaStepOptions {
  /** Participant name as declared with @TccParticipant() on a saga participant. */
  participant: string;
  /** Unique within the saga. Default: the participant name. */
  branchId?: string;
  /** How the coordinator calls the participant. Default `http`. */
  protocol?: Protocol;
  /**
   * Where the service hosting the participant is: for `http` its base URL, for `grpc` its
   * `host:port`. Default: this service itself.
   */
  service?: string;
  /** Handed to the action and to the compensation. */
  payload?: JsonValue;
  /** Explicit HTTP endpoints, for participants that are not built with this library (`http` only). */
  urls?: { action: string; compensate: string };
  /** Explicit gRPC targets `host:port/package.Service/Method` (`grpc` only). */
  targets?: { action: string; compensate: string };
  /** With `concurrent`: the branchIds of the steps whose actions must succeed before this one's. */
  after?: string[];
}

export interface SubmitSagaOptions {
  /**
   * Wait for the saga's end (up to the coordinator's wait bound, TCC_COMMIT_WAIT_MS): resolves when
   * it COMMITTED, throws SagaRolledBackError when it rolled back, SagaOutcomeUnknownError when it is
   * still running. Default false: resolves once the saga is recorded, with its status.
   */
  wait?: boolean;
}

export interface SagaSubmitted {
  gid: string;
  /** COMMITTED with `wait`; without it, what the coordinator answered (COMMITTING while it runs). */
  status: GlobalStatus;
}

export class SagaBuilder {
  private readonly steps: SagaStep[] = [];
  private readonly after: Record<string, string[]> = {};
  private submitted = false;

  constructor(
    readonly gid: string,
    private readonly options: SagaOptions,
    private readonly coordinator: CoordinatorClient,
    private readonly targets: ParticipantTargets,
  ) {}

  /** Adds a step; its action runs after those of the steps added before it (unless concurrent). */
  step(step: SagaStepOptions): this {
    const branchId = step.branchId ?? step.participant;
    const protocol = step.protocol ?? 'http';
    if (this.steps.some((s) => s.branchId === branchId)) throw new Error(`saga ${this.gid}: two steps named "${branchId}" (give each its own branchId)`);
    if (step.after && !this.options.concurrent) throw new Error(`saga ${this.gid}: step "${branchId}" names \`after\`, which needs saga({ concurrent: true })`);
    let endpoints: { action: string; compensate: string };
    if (protocol === 'grpc' && step.urls) throw new Error(`saga step "${branchId}": urls are for http steps; a grpc step takes targets`);
    if (protocol === 'http' && step.targets) throw new Error(`saga step "${branchId}": targets are for grpc steps; an http step takes urls`);
    const explicit = protocol === 'grpc' ? step.targets : step.urls;
    if (explicit) {
      endpoints = explicit;
    } else {
      if (!step.service) this.targets.checkLocal(step.participant, 'saga', `saga step "${branchId}"`);
      endpoints = {
        action: this.targets.of(protocol, step.participant, 'action', step.service),
        compensate: this.targets.of(protocol, step.participant, 'compensate', step.service),
      };
    }
    this.steps.push({
      branchId,
      participant: step.participant,
      protocol,
      action: endpoints.action,
      compensate: endpoints.compensate,
      ...(step.payload === undefined ? {} : { payload: step.payload }),
    });
    if (step.after) this.after[branchId] = [...step.after];
    return this;
  }

  /**
   * Sends the saga to the coordinator (once per builder). Throws CoordinatorError when it refuses
   * the saga (400 naming the fields, 409 a gid taken by another transaction), and the errors of
   * `wait` (SubmitSagaOptions); SagaOutcomeUnknownError also when the start got no usable answer.
   */
  async submit(options: SubmitSagaOptions = {}): Promise<SagaSubmitted> {
    if (this.submitted) throw new Error(`saga ${this.gid} was submitted already`);
    if (this.steps.length === 0) throw new Error(`saga ${this.gid} has no step`);
    this.submitted = true;
    const wait = options.wait ?? false;
    const request: StartSagaRequest = {
      gid: this.gid,
      steps: this.steps,
      ...(this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs }),
      ...(this.options.concurrent ? { concurrent: true } : {}),
      ...(Object.keys(this.after).length > 0 ? { after: this.after } : {}),
      ...(this.options.metadata ? { metadata: this.options.metadata } : {}),
      ...this.targets.callback(this.options.callback),
      wait,
    };
    let status: GlobalStatus;
    try {
      ({ status } = await this.coordinator.startSaga(request, currentTraceparent()));
    } catch (error) {
      // Repeating the start with this gid is safe: the coordinator answers the saga it recorded.
      if (error instanceof CoordinatorUnavailableError) throw new SagaOutcomeUnknownError(this.gid, error);
      throw error;
    }
    if (!wait || status === GlobalStatus.COMMITTED) return { gid: this.gid, status };
    if (status === GlobalStatus.ROLLING_BACK || status === GlobalStatus.ROLLED_BACK) throw new SagaRolledBackError(this.gid, status);
    throw new SagaOutcomeUnknownError(this.gid, new Error(`still ${status} when the coordinator's wait bound passed`), status);
  }
}
