/**
 * JSON over HTTP with keep-alive connections (undici), shared by the coordinator client and the
 * initiator's try calls. Answers every response, whatever its status; throws only when there is none.
 */
import type { OnApplicationShutdown } from '@nestjs/common';
import { Agent, request } from 'undici';
import type { JsonValue } from '../protocol';

export interface HttpAnswer {
  statusCode: number;
  body: JsonValue | undefined;
}

export class HttpTransport implements OnApplicationShutdown {
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connections: 128 });

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
