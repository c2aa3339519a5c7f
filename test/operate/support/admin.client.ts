/**
 * HTTP client for the operating surface of a coordinator (admin API, metrics, health, docs): it
 * sends any headers, and returns status, headers and the parsed body of every answer, errors
 * included, so specs assert on both.
 */
import { Agent, request } from 'undici';
import type { ErrorBody, TransactionView } from '@tcc/client';

export interface Answer<T = unknown> {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  body: T;
  error: ErrorBody;
}

export interface AdminSummary {
  gid: string;
  /** tcc, saga or message. */
  mode: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  decidedAt: string | null;
  attentionAt: string | null;
  owner: string | null;
  nextAttemptAt: string | null;
  rounds: number;
  reason: string | null;
}

export interface AdminPage {
  items: AdminSummary[];
  nextCursor: string | null;
}

export interface AdminDetail extends TransactionView {
  reason: string | null;
  decidedAt: string | null;
  attentionAt: string | null;
  owner: string | null;
  nextAttemptAt: string | null;
  rounds: number;
  failures: { branchId: string; phase: string; attempt: number; error: string; createdAt: string }[];
  audit: { action: string; actor: string; reason: string | null; branchId: string | null; createdAt: string }[];
}

export type ListQuery = Partial<Record<'mode' | 'status' | 'participant' | 'attention' | 'createdFrom' | 'createdTo' | 'limit' | 'cursor', string | number | boolean>> &
  Record<string, string | number | boolean | undefined>;

export class OperateClient {
  private readonly agent = new Agent({ connections: 32, keepAliveTimeout: 4_000 });

  /** `token` undefined sends no Authorization header. */
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  /** The same server with another token (or none). */
  as(token: string | undefined): OperateClient {
    return new OperateClient(this.baseUrl, token);
  }

  async send<T = unknown>(method: string, path: string, options: { json?: unknown; headers?: Record<string, string>; raw?: string } = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = {};
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let body: string | undefined;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    } else if (options.raw !== undefined) {
      body = options.raw;
      headers['content-type'] = 'application/json';
    }
    Object.assign(headers, options.headers ?? {});
    const res = await request(`${this.baseUrl}${path}`, { method: method as 'GET', headers, body, dispatcher: this.agent, headersTimeout: 30_000, bodyTimeout: 30_000 });
    const text = await res.body.text();
    let parsed: unknown;
    try {
      parsed = text.length ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : String(v);
    return { status: res.statusCode, headers: flat, text, body: parsed as T, error: (parsed ?? {}) as ErrorBody };
  }

  list(query: ListQuery = {}): Promise<Answer<AdminPage>> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return this.send<AdminPage>('GET', `/admin/v1/transactions${qs ? `?${qs}` : ''}`);
  }

  /** Follows nextCursor from the first page to the last; fails on any non-200 answer. */
  async listAll(query: ListQuery = {}, limit = 500): Promise<{ pages: AdminPage[]; items: AdminSummary[] }> {
    const pages: AdminPage[] = [];
    let cursor: string | undefined;
    for (let n = 0; n < 1000; n++) {
      const res = await this.list({ ...query, limit, cursor });
      if (res.status !== 200) throw new Error(`list answered ${res.status}: ${res.text}`);
      pages.push(res.body);
      if (!res.body.nextCursor) return { pages, items: pages.flatMap((p) => p.items) };
      cursor = res.body.nextCursor;
    }
    throw new Error('paging did not end after 1000 pages');
  }

  detail(gid: string): Promise<Answer<AdminDetail>> {
    return this.send<AdminDetail>('GET', `/admin/v1/transactions/${encodeURIComponent(gid)}`);
  }

  /** GET detail, failing unless 200. */
  async view(gid: string): Promise<AdminDetail> {
    const res = await this.detail(gid);
    if (res.status !== 200) throw new Error(`admin GET ${gid} answered ${res.status}: ${res.text}`);
    return res.body;
  }

  retry(gid: string, json: unknown = {}, headers?: Record<string, string>): Promise<Answer<{ gid: string; status: string }>> {
    return this.send('POST', `/admin/v1/transactions/${encodeURIComponent(gid)}/retry`, { json, headers });
  }

  forceRollback(gid: string, json: unknown, headers?: Record<string, string>): Promise<Answer<{ gid: string; status: string }>> {
    return this.send('POST', `/admin/v1/transactions/${encodeURIComponent(gid)}/force-rollback`, { json, headers });
  }

  resolve(gid: string, branchId: string, json: unknown, headers?: Record<string, string>): Promise<Answer<{ gid: string; status: string }>> {
    return this.send('POST', `/admin/v1/transactions/${encodeURIComponent(gid)}/branches/${encodeURIComponent(branchId)}/resolve`, { json, headers });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
