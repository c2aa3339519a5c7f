/**
 * JSON over HTTP with keep-alive connections (undici), shared by the coordinator client and the
 * initiator's try calls. Answers every response, whatever its status; throws only when there is none.
 */
import { Inject, Injectable, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { TCC_CLIENT_TLS, type TlsClientOptions } from '../tls/tls.options';
import { Agent, request } from 'undici';
import type { JsonValue } from '../protocol';

export interface HttpAnswer {
  statusCode: number;
  body: JsonValue | undefined;
}

@Injectable()
export class HttpTransport implements OnApplicationShutdown {
  private readonly agent: Agent;

  /** TLS options for an https:// coordinator URL: the CA to trust, a client certificate. */
  constructor(@Optional() @Inject(TCC_CLIENT_TLS) tls?: TlsClientOptions) {
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 60_000,
      connections: 128,
      ...(tls ? { connect: { ca: tls.ca, cert: tls.cert, key: tls.key } } : {}),
    });
  }

  async send(
    method: 'GET' | 'POST',
    url: string,
    timeoutMs: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<HttpAnswer> {
    const response = await request(url, {
      method,
      dispatcher: this.agent,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.body.text();
    let parsed: JsonValue | undefined;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text) as JsonValue;
      } catch {
        parsed = text;
      }
    }
    return { statusCode: response.statusCode, body: parsed };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}
