/**
 * The one way to call a participant (docs/contract.md §5), used by the initiator for try and by the
 * coordinator for confirm and cancel. HTTP: `POST <url>` with the branch body and the x-tcc-*
 * headers over undici's keep-alive pools. gRPC: the method named in the target
 * (`host:port/package.Service/Method`) with a tcc.v1.BranchRequest and the same metadata, on one
 * reused channel per address. Every call has a hard deadline.
 *
 * Outcomes: `done` (2xx / OK), `refused` (a 4xx, or the gRPC status that means one: the business
 * said no; final for a try), `failed` (5xx, no answer, deadline passed, channel down: the call may
 * or may not have happened).
 *
 * An answer is read up to MAX_ANSWER_BYTES and no further: a participant answering with a body
 * of hundreds of megabytes (or one that never ends) costs the caller 64 KiB and one connection,
 * not its memory (HTTP: the body is destroyed past the limit; gRPC: the channels refuse a larger
 * reply before buffering it).
 */
import { Inject, Injectable, OnApplicationShutdown, Optional } from '@nestjs/common';
import { TCC_CLIENT_TLS, type TlsClientOptions } from '../tls/tls.options';
import type { Metadata } from '@grpc/grpc-js';
import { Agent, request, type Dispatcher } from 'undici';
import type { BranchCallBody, JsonValue, Protocol } from '../protocol';
import { MAX_ANSWER_BYTES, refusalCode, TCC_HEADERS } from '../protocol';
import { GrpcChannels } from '../grpc/grpc.channels';
import { participantMethods } from '../grpc/grpc.messages';
import { grpcJs } from '../grpc/grpc.runtime';
import { grpcStatusName, httpStatusOf, isServiceError, metadataText, TCC_TRAILERS } from '../grpc/grpc.status';
import { splitGrpcTarget } from './grpc-target';
import { payloadText, signBranchCall } from '../signing/branch-signature';
import { startSpan, type TccSpan } from '../tracing/tcc.tracing';
import { grpcTargetAttributes, httpTargetAttributes, modeOfPhase, TCC_ATTRIBUTES } from '../tracing/span-attributes';

export interface ParticipantCall {
  protocol: Protocol;
  /** An http(s) URL, or `host:port/package.Service/Method` for gRPC. */
  target: string;
  body: BranchCallBody;
  timeoutMs: number;
  /**
   * The trace context the call belongs to (the parent of its client span); unset: the current one.
   * The call's own span is what the participant receives (docs/contract.md §12).
   */
  traceparent?: string;
  /** Signs the call (x-tcc-signature, x-tcc-timestamp) with this key when given. */
  signingKey?: string;
}

function signature(call: ParticipantCall): Record<string, string> {
  if (!call.signingKey) return {};
  const { gid, branchId, phase, payload } = call.body;
  return signBranchCall(call.signingKey, { phase, gid, branchId, payloadText: payloadText(payload) });
}

export type ParticipantCallResult =
  | { outcome: 'done'; body: JsonValue | undefined }
  | { outcome: 'refused'; statusCode: number; code: string; body: JsonValue | undefined; error: string }
  | { outcome: 'failed'; error: string };

const ERROR_TEXT_MAX = 300;
const OVER_LIMIT = `answer larger than ${MAX_ANSWER_BYTES} bytes`;
/** grpc-js's details when a reply is over the channel's grpc.max_receive_message_length. */
const GRPC_OVER_LIMIT = /^Received message larger than max/;

/**
 * The answer's text, read up to MAX_ANSWER_BYTES. Past the limit it stops, destroys the body (its
 * connection closes: nothing more arrives) and says so; the caller's deadline still ends a body
 * that trickles forever, because the request's AbortSignal destroys it mid-read.
 */
async function readBounded(body: Dispatcher.ResponseData['body']): Promise<{ text: string; overLimit: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size + chunk.length > MAX_ANSWER_BYTES) {
      chunks.push(chunk.subarray(0, MAX_ANSWER_BYTES - size));
      body.destroy();
      return { text: Buffer.concat(chunks).toString('utf8'), overLimit: true };
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), overLimit: false };
}

function parseJson(text: string): JsonValue | undefined {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

@Injectable()
export class ParticipantCaller implements OnApplicationShutdown {
  private readonly agent: Agent;

  /** TLS options: the CA that HTTPS participants' certificates must chain to, and a client certificate (gRPC: see GrpcChannels). */
  constructor(
    private readonly channels: GrpcChannels,
    @Optional() @Inject(TCC_CLIENT_TLS) tls?: TlsClientOptions,
  ) {
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      connections: 128,
      pipelining: 1,
      ...(tls ? { connect: { ca: tls.ca, cert: tls.cert, key: tls.key } } : {}),
    });
  }

  /** One call, inside its client span `tcc.call.<phase>` (docs/contract.md §12). */
  async call(call: ParticipantCall): Promise<ParticipantCallResult> {
    const { body, target } = call;
    const split = call.protocol === 'grpc' ? splitGrpcTarget(target) : undefined;
    const span = startSpan(`tcc.call.${body.phase}`, {
      kind: 'client',
      parent: call.traceparent,
      attributes: {
        [TCC_ATTRIBUTES.gid]: body.gid,
        [TCC_ATTRIBUTES.branchId]: body.branchId,
        [TCC_ATTRIBUTES.phase]: body.phase,
        [TCC_ATTRIBUTES.mode]: modeOfPhase(body.phase),
        ...(call.protocol === 'grpc'
          ? split ? grpcTargetAttributes(split.address, split.path) : { 'rpc.system': 'grpc' }
          : { 'http.request.method': 'POST', ...httpTargetAttributes(target) }),
      },
    });
    const traced = { ...call, traceparent: span.traceparent };
    try {
      const result = call.protocol === 'grpc' ? await this.grpc(traced, span) : await this.http(traced, span);
      if (result.outcome !== 'done') span.fail(result.error);
      return result;
    } catch (error) {
      span.fail(error);
      throw error;
    } finally {
      span.end();
    }
  }

  private async http(call: ParticipantCall, span: TccSpan): Promise<ParticipantCallResult> {
    const { target, body, timeoutMs, traceparent } = call;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      [TCC_HEADERS.gid]: body.gid,
      [TCC_HEADERS.branchId]: body.branchId,
      [TCC_HEADERS.phase]: body.phase,
      ...signature(call),
    };
    if (traceparent) headers[TCC_HEADERS.traceparent] = traceparent;
    const deadline = AbortSignal.timeout(timeoutMs);
    try {
      const response = await request(target, {
        method: 'POST',
        body: JSON.stringify(body),
        headers,
        dispatcher: this.agent,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: deadline,
      });
      const { statusCode } = response;
      span.set({ 'http.response.status_code': statusCode });
      const success = statusCode >= 200 && statusCode < 300;
      if (success && body.phase !== 'try' && body.phase !== 'query' && body.phase !== 'reconcile') {
        // The coordinator needs no answer body from confirm, cancel and the saga and message calls
        // (only a queryPrepared or reconcile answer says something): read at most the limit, then drop the connection.
        await response.body.dump({ limit: MAX_ANSWER_BYTES });
        return { outcome: 'done', body: undefined };
      }
      const { text, overLimit } = await readBounded(response.body);
      if (success && !overLimit) return { outcome: 'done', body: parseJson(text) };
      const shown = text.slice(0, ERROR_TEXT_MAX);
      const error = overLimit
        ? `HTTP ${statusCode}: ${shown}… (${OVER_LIMIT})`
        : `HTTP ${statusCode}${text ? `: ${shown}` : ''}`;
      if (statusCode >= 400 && statusCode < 500) {
        // A cut answer is not JSON worth parsing: the refusal keeps its status, not its body.
        const answer = overLimit ? undefined : parseJson(text);
        return { outcome: 'refused', statusCode, code: refusalCode(answer, statusCode), body: answer, error };
      }
      // A 5xx, or a 2xx try whose answer is over the limit: the initiator cannot use a cut answer,
      // so the try counts as failed (rolled back; the barrier makes the cancel safe).
      return { outcome: 'failed', error };
    } catch (error) {
      const e = error as Error & { code?: string };
      if (deadline.aborted || e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
        return { outcome: 'failed', error: `no answer within ${timeoutMs} ms` };
      }
      return { outcome: 'failed', error: `${e.code ?? e.name}: ${e.message}`.slice(0, ERROR_TEXT_MAX) };
    }
  }

  private async grpc(call: ParticipantCall, span: TccSpan): Promise<ParticipantCallResult> {
    const { target, body, timeoutMs, traceparent } = call;
    const split = splitGrpcTarget(target);
    if (!split) return { outcome: 'failed', error: `target "${target}" is not host:port/package.Service/Method` };
    let metadata: Metadata;
    try {
      metadata = new (grpcJs().Metadata)();
    } catch (error) {
      return { outcome: 'failed', error: (error as Error).message };
    }
    metadata.set(TCC_HEADERS.gid, body.gid);
    metadata.set(TCC_HEADERS.branchId, body.branchId);
    metadata.set(TCC_HEADERS.phase, body.phase);
    if (traceparent) metadata.set(TCC_HEADERS.traceparent, traceparent);
    for (const [key, value] of Object.entries(signature(call))) metadata.set(key, value);
    const message = {
      gid: body.gid,
      branchId: body.branchId,
      phase: body.phase,
      ...(body.payload === null ? {} : { payload: JSON.stringify(body.payload) }),
    };
    try {
      // Every participant method has the shape of tcc.v1.Participant's: BranchRequest -> BranchReply.
      const reply = await this.channels.unary(split.address, participantMethods().Try, message, metadata, timeoutMs, split.path, MAX_ANSWER_BYTES);
      span.set({ 'rpc.grpc.status_code': 0 });
      return { outcome: 'done', body: reply.result ? parseJson(reply.result) : undefined };
    } catch (error) {
      if (!isServiceError(error)) return { outcome: 'failed', error: error instanceof Error ? error.message : String(error) };
      span.set({ 'rpc.grpc.status_code': error.code });
      const name = grpcStatusName(error.code);
      // Our own channel refused a reply over the limit: the participant did not say no, the answer was unusable.
      if (GRPC_OVER_LIMIT.test(error.details ?? '')) return { outcome: 'failed', error: `gRPC ${name}: ${OVER_LIMIT}` };
      const text = `gRPC ${name}: ${error.details || error.message}`.slice(0, ERROR_TEXT_MAX);
      const declared = Number(metadataText(error.metadata, TCC_TRAILERS.httpStatus));
      const statusCode = Number.isInteger(declared) && declared >= 400 && declared <= 499 ? declared : httpStatusOf(error.code);
      if (statusCode >= 400 && statusCode <= 499) {
        const code = metadataText(error.metadata, TCC_TRAILERS.errorCode) ?? name;
        return { outcome: 'refused', statusCode, code, body: { error: code, message: error.details, grpcCode: name }, error: text };
      }
      return { outcome: 'failed', error: text };
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.agent.destroy().catch(() => undefined);
  }
}
