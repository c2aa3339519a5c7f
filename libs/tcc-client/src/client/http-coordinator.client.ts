/**
 * The coordinator's HTTP API v1 (docs/contract.md §3) over keep-alive connections (see CoordinatorClient),
 * each call authenticated with the apiKey as `Authorization: Bearer <apiKey>` when one is set.
 */
import type {
  AbortMessageRequest,
  BeginRequest,
  BeginResponse,
  CommitRequest,
  DecisionResponse,
  ErrorBody,
  JsonValue,
  PrepareMessageRequest,
  RegisterBranchRequest,
  RegisterBranchResponse,
  RollbackRequest,
  StartSagaRequest,
  SubmitMessageRequest,
  TransactionView,
} from '../protocol';
import { TCC_HEADERS } from '../protocol';
import { CoordinatorClient, IDEMPOTENT_ATTEMPTS, withRetries } from './coordinator.client';
import { AUTHORIZATION, bearer } from './coordinator.auth';
import { coordinatorError } from './coordinator.errors';
import type { HttpTransport } from './http.transport';
import type { ResolvedTccOptions } from '../tcc.options';
import { inSpan } from '../tracing/tcc.tracing';
import { COORDINATOR_CALL_SPANS, gidOf, httpTargetAttributes, TCC_ATTRIBUTES } from '../tracing/span-attributes';

function toErrorBody(statusCode: number, body: JsonValue | undefined): ErrorBody {
  if (body && typeof body === 'object' && !Array.isArray(body) && 'message' in body) {
    return body as unknown as ErrorBody;
  }
  return { statusCode, error: 'Error', message: typeof body === 'string' ? body : `HTTP ${statusCode}` };
}

export class HttpCoordinatorClient extends CoordinatorClient {
  constructor(
    private readonly options: ResolvedTccOptions,
    private readonly http: HttpTransport,
  ) {
    super();
  }

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

  startSaga(request: StartSagaRequest, traceparent?: string): Promise<DecisionResponse> {
    const attempts = request.gid ? IDEMPOTENT_ATTEMPTS : 1;
    const timeoutMs = request.wait ? this.options.decisionTimeoutMs : this.options.requestTimeoutMs;
    return this.call('start saga', 'POST', '/v1/sagas', request, attempts, timeoutMs, traceparent);
  }

  prepareMessage(request: PrepareMessageRequest, traceparent?: string): Promise<BeginResponse> {
    return this.call('prepare message', 'POST', '/v1/messages', request, IDEMPOTENT_ATTEMPTS, this.options.requestTimeoutMs, traceparent);
  }

  submitMessage(gid: string, request: SubmitMessageRequest = {}, traceparent?: string): Promise<DecisionResponse> {
    const path = `/v1/messages/${encodeURIComponent(gid)}/submit`;
    const timeoutMs = request.wait ? this.options.decisionTimeoutMs : this.options.requestTimeoutMs;
    return this.call('submit message', 'POST', path, request, IDEMPOTENT_ATTEMPTS, timeoutMs, traceparent);
  }

  abortMessage(gid: string, request: AbortMessageRequest = {}, traceparent?: string): Promise<DecisionResponse> {
    const path = `/v1/messages/${encodeURIComponent(gid)}/abort`;
    return this.call('abort message', 'POST', path, request, IDEMPOTENT_ATTEMPTS, this.options.requestTimeoutMs, traceparent);
  }

  private call<T>(
    operation: string,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    attempts = IDEMPOTENT_ATTEMPTS,
    timeoutMs = this.options.requestTimeoutMs,
    traceparent?: string,
  ): Promise<T> {
    const spanName = COORDINATOR_CALL_SPANS[operation];
    if (!spanName) return this.send<T>(operation, method, path, body, attempts, timeoutMs, traceparent);
    const url = this.options.coordinatorUrl + path;
    const attributes = { 'http.request.method': method, ...httpTargetAttributes(url), [TCC_ATTRIBUTES.gid]: gidOf(body) };
    // The client span is the parent of the coordinator's own (docs/contract.md §12).
    return inSpan(spanName, { kind: 'client', parent: traceparent, attributes }, async (span) => {
      const answer = await this.send<T>(operation, method, path, body, attempts, timeoutMs, span.traceparent, (statusCode) => span.set({ 'http.response.status_code': statusCode }));
      span.set({ [TCC_ATTRIBUTES.gid]: gidOf(answer) });
      return answer;
    });
  }

  private send<T>(
    operation: string,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    attempts: number,
    timeoutMs: number,
    traceparent: string | undefined,
    answered: (statusCode: number) => void = () => undefined,
  ): Promise<T> {
    const headers: Record<string, string> = traceparent ? { [TCC_HEADERS.traceparent]: traceparent } : {};
    if (this.options.apiKey) headers[AUTHORIZATION] = bearer(this.options.apiKey);
    return withRetries(operation, attempts, async () => {
      const answer = await this.http.send(method, this.options.coordinatorUrl + path, timeoutMs, body, headers);
      answered(answer.statusCode);
      if (answer.statusCode >= 200 && answer.statusCode < 300) return answer.body as T;
      if (answer.statusCode < 500) throw coordinatorError(answer.statusCode, toErrorBody(answer.statusCode, answer.body), operation);
      throw new Error(`HTTP ${answer.statusCode}`);
    });
  }
}
