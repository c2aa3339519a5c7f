/**
 * The coordinator's HTTP API (DESIGN.md §3) as typed calls. Idempotent calls (register, commit,
 * rollback, get) are retried a few times when there is no answer; begin is not, because a lost
 * answer may hide a created transaction (which then simply times out with no branches).
 */
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type {
  BeginRequest,
  BeginResponse,
  CommitRequest,
  DecisionResponse,
  ErrorBody,
  JsonValue,
  RegisterBranchRequest,
  RegisterBranchResponse,
  RollbackRequest,
  TransactionView,
} from '../protocol';
import { TCC_HEADERS } from '../protocol';
import { CoordinatorError, CoordinatorUnavailableError } from './coordinator.errors';
import { HttpTransport } from './http.transport';
import { ResolvedTccOptions, TCC_OPTIONS } from './tcc.options';

const IDEMPOTENT_ATTEMPTS = 3;

function toErrorBody(statusCode: number, body: JsonValue | undefined): ErrorBody {
  if (body && typeof body === 'object' && !Array.isArray(body) && 'message' in body) {
    return body as unknown as ErrorBody;
  }
  return { statusCode, error: 'Error', message: typeof body === 'string' ? body : `HTTP ${statusCode}` };
}

@Injectable()
export class CoordinatorClient implements OnApplicationShutdown {
  constructor(
    @Inject(TCC_OPTIONS) private readonly options: ResolvedTccOptions,
    private readonly http: HttpTransport,
  ) {}

  /** `traceparent`: the initiator's trace context, which the coordinator passes on to phase two. */
  begin(request: BeginRequest = {}, traceparent?: string): Promise<BeginResponse> {
    return this.call('begin', 'POST', '/v1/transactions', request, 1, this.options.requestTimeoutMs, traceparent);
  }

  registerBranch(gid: string, request: RegisterBranchRequest, traceparent?: string): Promise<RegisterBranchResponse> {
    const path = `/v1/transactions/${encodeURIComponent(gid)}/branches`;
    return this.call('register', 'POST', path, request, IDEMPOTENT_ATTEMPTS, this.options.requestTimeoutMs, traceparent);
  }

  commit(gid: string, request: CommitRequest = { wait: true }, traceparent?: string): Promise<DecisionResponse> {
    const path = `/v1/transactions/${encodeURIComponent(gid)}/commit`;
    return this.call('commit', 'POST', path, request, IDEMPOTENT_ATTEMPTS, this.options.decisionTimeoutMs, traceparent);
  }

  rollback(gid: string, request: RollbackRequest = { wait: true }, traceparent?: string): Promise<DecisionResponse> {
    const path = `/v1/transactions/${encodeURIComponent(gid)}/rollback`;
    return this.call('rollback', 'POST', path, request, IDEMPOTENT_ATTEMPTS, this.options.decisionTimeoutMs, traceparent);
  }

  get(gid: string): Promise<TransactionView> {
    return this.call('get', 'GET', `/v1/transactions/${encodeURIComponent(gid)}`, undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.http.close();
  }

  private async call<T>(
    operation: string,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    attempts = IDEMPOTENT_ATTEMPTS,
    timeoutMs = this.options.requestTimeoutMs,
    traceparent?: string,
  ): Promise<T> {
    const headers: Record<string, string> = traceparent ? { [TCC_HEADERS.traceparent]: traceparent } : {};
    let lastFailure: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt * Math.random()));
      try {
        const answer = await this.http.send(method, this.options.coordinatorUrl + path, timeoutMs, body, headers);
        if (answer.statusCode >= 200 && answer.statusCode < 300) return answer.body as T;
        if (answer.statusCode < 500) throw new CoordinatorError(answer.statusCode, toErrorBody(answer.statusCode, answer.body), operation);
        lastFailure = new Error(`HTTP ${answer.statusCode}`);
      } catch (error) {
        if (error instanceof CoordinatorError) throw error;
        lastFailure = error;
      }
    }
    throw new CoordinatorUnavailableError(operation, lastFailure);
  }
}
