/**
 * A thin HTTP client for the coordinator API v1 used by the specs: it returns status and parsed
 * body of every answer (errors included) instead of throwing, so tests assert on both.
 */
import { Agent, request } from 'undici';
import type {
  AbortMessageRequest,
  PrepareMessageRequest,
  StartSagaRequest,
  SubmitMessageRequest,
  BeginRequest,
  BeginResponse,
  CommitRequest,
  DecisionResponse,
  ErrorBody,
  RegisterBranchRequest,
  RegisterBranchResponse,
  RollbackRequest,
  TransactionView,
} from '@tcc/client';
import { eventually } from './wait';
import { TEST_API_KEY } from './api-keys';

export interface HttpResult<T> {
  status: number;
  /** The parsed JSON body; on an error status it is an ErrorBody (see `error`). */
  body: T;
  text: string;
  contentType: string | undefined;
  /** The body read as the contract's error shape. */
  error: ErrorBody;
}

export interface RawRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  path: string;
  /** Serialised as JSON with content-type application/json. */
  json?: unknown;
  /** Sent as is (for malformed bodies); `contentType` defaults to application/json. */
  raw?: string | Buffer;
  contentType?: string;
  timeoutMs?: number;
  /** Extra headers; `authorization` here replaces the client's own. */
  headers?: Record<string, string>;
}

type Body = Record<string, unknown>;

export class CoordinatorApi {
  private readonly agent = new Agent({ connections: 512, pipelining: 1, keepAliveTimeout: 4_000 });

  /** `apiKey`: sent as `Authorization: Bearer` on every request (the test key unless told; null sends none). */
  constructor(
    public baseUrl: string,
    public apiKey: string | null = TEST_API_KEY,
  ) {}

  begin(body: BeginRequest | Body = {}): Promise<HttpResult<BeginResponse>> {
    return this.send({ method: 'POST', path: '/v1/transactions', json: body });
  }

  register(gid: string, body: RegisterBranchRequest | Body): Promise<HttpResult<RegisterBranchResponse>> {
    return this.send({ method: 'POST', path: `/v1/transactions/${encodeURIComponent(gid)}/branches`, json: body });
  }

  /** `body` undefined sends no body at all (the contract makes it optional). */
  commit(gid: string, body?: CommitRequest | Body): Promise<HttpResult<DecisionResponse>> {
    return this.send({ method: 'POST', path: `/v1/transactions/${encodeURIComponent(gid)}/commit`, json: body });
  }

  rollback(gid: string, body?: RollbackRequest | Body): Promise<HttpResult<DecisionResponse>> {
    return this.send({ method: 'POST', path: `/v1/transactions/${encodeURIComponent(gid)}/rollback`, json: body });
  }

  startSaga(body: StartSagaRequest | Body): Promise<HttpResult<DecisionResponse>> {
    return this.send({ method: 'POST', path: '/v1/sagas', json: body });
  }

  prepareMessage(body: PrepareMessageRequest | Body): Promise<HttpResult<BeginResponse>> {
    return this.send({ method: 'POST', path: '/v1/messages', json: body });
  }

  submitMessage(gid: string, body?: SubmitMessageRequest | Body): Promise<HttpResult<DecisionResponse>> {
    return this.send({ method: 'POST', path: `/v1/messages/${encodeURIComponent(gid)}/submit`, json: body });
  }

  abortMessage(gid: string, body?: AbortMessageRequest | Body): Promise<HttpResult<DecisionResponse>> {
    return this.send({ method: 'POST', path: `/v1/messages/${encodeURIComponent(gid)}/abort`, json: body });
  }

  get(gid: string): Promise<HttpResult<TransactionView>> {
    return this.send({ method: 'GET', path: `/v1/transactions/${encodeURIComponent(gid)}` });
  }

  /** GETs the transaction, failing unless it answers 200. */
  async view(gid: string): Promise<TransactionView> {
    const res = await this.get(gid);
    if (res.status !== 200) throw new Error(`GET ${gid} answered ${res.status}: ${res.text}`);
    return res.body;
  }

  /** Polls GET until the transaction has one of `statuses`; returns that view. */
  waitForStatus(gid: string, statuses: string[], timeoutMs = 15_000): Promise<TransactionView> {
    let last = '';
    return eventually(
      async () => {
        const view = await this.view(gid);
        last = view.status;
        return statuses.includes(view.status) ? view : undefined;
      },
      { timeoutMs, intervalMs: 50, what: `${gid} to reach ${statuses.join('|')}` },
    ).catch((error: Error) => {
      throw new Error(`${error.message} (last status ${last})`);
    });
  }

  async send<T>(req: RawRequest): Promise<HttpResult<T>> {
    const headers: Record<string, string> = {};
    if (this.apiKey !== null) headers.authorization = `Bearer ${this.apiKey}`;
    Object.assign(headers, req.headers);
    let body: string | Buffer | undefined;
    if (req.raw !== undefined) {
      body = req.raw;
      headers['content-type'] = req.contentType ?? 'application/json';
    } else if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] = req.contentType ?? 'application/json';
    }
    const res = await request(`${this.baseUrl}${req.path}`, {
      method: req.method,
      headers,
      body,
      dispatcher: this.agent,
      headersTimeout: req.timeoutMs ?? 60_000,
      bodyTimeout: req.timeoutMs ?? 60_000,
    });
    const text = await res.body.text();
    let parsed: unknown = undefined;
    try {
      parsed = text.length ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    const contentType = res.headers['content-type'];
    return {
      status: res.statusCode,
      body: parsed as T,
      text,
      contentType: Array.isArray(contentType) ? contentType[0] : contentType,
      error: (parsed ?? {}) as ErrorBody,
    };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
