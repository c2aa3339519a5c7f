/**
 * Calls a participant's confirm or cancel (DESIGN.md §5). HTTP goes over undici's keep-alive
 * connection pools, one pool per origin, shared by every call; gRPC over one reused channel per
 * address. Each call has a hard timeout.
 */
import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Agent, request } from 'undici';
import { TCC_HEADERS, type BranchCallBody, type Protocol } from '@tcc/client';
import { GrpcParticipantCaller } from './grpc-participant.caller';

export interface CallResult {
  ok: boolean;
  /** Why the call failed, for the branch's lastError. */
  error?: string;
  durationMs: number;
}

export interface BranchCall {
  protocol: Protocol;
  target: string;
  body: BranchCallBody;
  timeoutMs: number;
  traceparent?: string;
}

const ERROR_BODY_MAX = 300;

@Injectable()
export class ParticipantCaller implements OnModuleDestroy {
  constructor(private readonly grpc: GrpcParticipantCaller) {}

  private readonly agent = new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    connections: 128,
    pipelining: 1,
  });

  async call(c: BranchCall): Promise<CallResult> {
    const started = performance.now();
    const done = (ok: boolean, error?: string): CallResult => ({ ok, error, durationMs: performance.now() - started });
    if (c.protocol === 'grpc') {
      const result = await this.grpc.call(c.target, c.body, c.timeoutMs, c.traceparent);
      return done(result.ok, result.error);
    }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      [TCC_HEADERS.gid]: c.body.gid,
      [TCC_HEADERS.branchId]: c.body.branchId,
      [TCC_HEADERS.phase]: c.body.phase,
    };
    if (c.traceparent) headers[TCC_HEADERS.traceparent] = c.traceparent;
    try {
      const res = await request(c.target, {
        method: 'POST',
        body: JSON.stringify(c.body),
        headers,
        dispatcher: this.agent,
        headersTimeout: c.timeoutMs,
        bodyTimeout: c.timeoutMs,
        signal: AbortSignal.timeout(c.timeoutMs),
      });
      if (res.statusCode >= 200 && res.statusCode < 300) {
        await res.body.dump();
        return done(true);
      }
      const text = await res.body.text().catch(() => '');
      return done(false, `HTTP ${res.statusCode}${text ? `: ${text.slice(0, ERROR_BODY_MAX)}` : ''}`);
    } catch (error) {
      const e = error as Error & { code?: string };
      if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
        return done(false, `no answer within ${c.timeoutMs} ms`);
      }
      return done(false, `${e.code ?? e.name}: ${e.message}`.slice(0, ERROR_BODY_MAX));
    }
  }

  /** Calls still running after the shutdown grace period are abandoned: their leases were handed back. */
  async onModuleDestroy(): Promise<void> {
    await this.agent.destroy().catch(() => undefined);
  }
}
