/** A JSON HTTP client for the specs: answers status and parsed body, never throws on a status. */
import { Agent, request } from 'undici';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export class Http {
  private readonly agent = new Agent({ connections: 256, keepAliveTimeout: 4_000 });

  async post<T = Record<string, unknown>>(url: string, json: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
    return this.send<T>('POST', url, json, headers);
  }

  async get<T = Record<string, unknown>>(url: string, headers: Record<string, string> = {}): Promise<Answer<T>> {
    return this.send<T>('GET', url, undefined, headers);
  }

  async send<T>(method: 'GET' | 'POST', url: string, json?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
    const response = await request(url, {
      method,
      dispatcher: this.agent,
      headers: json === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: json === undefined ? undefined : typeof json === 'string' ? json : JSON.stringify(json),
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
    const text = await response.body.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // Keep the text: the assertion will show it.
    }
    return { status: response.statusCode, body: body as T };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
