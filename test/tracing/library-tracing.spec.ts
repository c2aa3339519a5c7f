/**
 * The library's tracing in one process, against a real HTTP participant (a node http server):
 * without @opentelemetry/api (its require fails as in an app that never installed it) nothing is
 * traced, nothing fails and the traceparent a caller gives is passed on unchanged; with the API and
 * an SDK, the call is a CLIENT span child of that traceparent and the participant receives the
 * span's own traceparent (docs/contract.md §12).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

interface Received {
  headers: IncomingHttpHeaders;
}

async function participant(): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push({ headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

type CallerModule = typeof import('@tcc/client/caller');
type ChannelsModule = typeof import('../../libs/tcc-client/src/grpc/grpc.channels');

/** A fresh copy of the library, loaded with `@opentelemetry/api` mocked as `api` says. */
function loadLibrary(api: 'missing' | 'real'): { caller: CallerModule; channels: ChannelsModule } {
  let loaded: { caller: CallerModule; channels: ChannelsModule } | undefined;
  jest.isolateModules(() => {
    if (api === 'missing') {
      jest.doMock('@opentelemetry/api', () => {
        throw Object.assign(new Error("Cannot find module '@opentelemetry/api'"), { code: 'MODULE_NOT_FOUND' });
      });
    }
    loaded = { caller: require('@tcc/client/caller') as CallerModule, channels: require('../../libs/tcc-client/src/grpc/grpc.channels') as ChannelsModule };
    // The lazy load happens now, while the package is missing; the answer is kept for this copy.
    (require('../../libs/tcc-client/src/tracing/otel-api.loader') as typeof import('../../libs/tcc-client/src/tracing/otel-api.loader')).otelApi();
    jest.dontMock('@opentelemetry/api');
  });
  return loaded!;
}

describe('the library without @opentelemetry/api', () => {
  it('the loader answers null for a package that cannot be resolved, and for a require that throws', () => {
    const { loadOtelApi } = require('../../libs/tcc-client/src/tracing/otel-api.loader') as typeof import('../../libs/tcc-client/src/tracing/otel-api.loader');
    expect(loadOtelApi(() => require('@opentelemetry/no-such-package'))).toBeNull();
    expect(loadOtelApi(() => ({}))).toBeNull();
    expect(loadOtelApi()).not.toBeNull();
  });

  it('calls a participant, passing the given traceparent on unchanged, with no-op spans', async () => {
    const { caller: lib, channels } = loadLibrary('missing');
    // An SDK registered in this process all the same: a library that had loaded the API would record and send its own spans.
    const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
    const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    api.trace.setGlobalTracerProvider(provider);
    const { server, url, received } = await participant();
    const caller = new lib.ParticipantCaller(new channels.GrpcChannels());
    try {
      const result = await caller.call({ protocol: 'http', target: `${url}/p/try`, body: { gid: 'g1', branchId: 'b1', phase: 'try', payload: null }, timeoutMs: 5_000, traceparent: PARENT });
      expect(result).toEqual({ outcome: 'done', body: { ok: true } });
      expect(received[0].headers.traceparent).toBe(PARENT);
      // Without a traceparent, none is invented.
      await caller.call({ protocol: 'http', target: `${url}/p/try`, body: { gid: 'g2', branchId: 'b1', phase: 'try', payload: null }, timeoutMs: 5_000 });
      expect(received[1].headers.traceparent).toBeUndefined();
      // A span is a no-op carrying its parent's context; a failure inside it still reaches the caller.
      const span = lib.startSpan('x', { kind: 'client', parent: PARENT });
      expect(span.traceparent).toBe(PARENT);
      await expect(lib.inSpan('y', { kind: 'internal' }, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      expect(exporter.getFinishedSpans()).toEqual([]);
    } finally {
      await caller.onApplicationShutdown();
      server.close();
      await provider.shutdown();
      api.trace.disable();
    }
  });
});

describe('the library with @opentelemetry/api and an SDK', () => {
  it('makes each call a CLIENT span, child of the given traceparent, and sends the span on', async () => {
    const { caller: lib, channels } = loadLibrary('real');
    const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
    const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    api.trace.setGlobalTracerProvider(provider);
    const { server, url, received } = await participant();
    const caller = new lib.ParticipantCaller(new channels.GrpcChannels());
    try {
      const ok = await caller.call({ protocol: 'http', target: `${url}/p/confirm`, body: { gid: 'g1', branchId: 'b1', phase: 'confirm', payload: null }, timeoutMs: 5_000, traceparent: PARENT });
      expect(ok.outcome).toBe('done');
      const [span] = exporter.getFinishedSpans();
      expect(span.name).toBe('tcc.call.confirm');
      expect(span.kind).toBe(api.SpanKind.CLIENT);
      expect(span.spanContext().traceId).toBe(PARENT.split('-')[1]);
      expect(span.parentSpanContext?.spanId).toBe(PARENT.split('-')[2]);
      expect(received[0].headers.traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
      expect(span.attributes).toMatchObject({ 'tcc.gid': 'g1', 'tcc.branch_id': 'b1', 'tcc.phase': 'confirm', 'tcc.mode': 'tcc', 'http.response.status_code': 200, 'server.address': '127.0.0.1' });
      // A call with no answer is an ERROR span.
      server.close();
      const failed = await caller.call({ protocol: 'http', target: `${url}/p/cancel`, body: { gid: 'g1', branchId: 'b1', phase: 'cancel', payload: null }, timeoutMs: 2_000 });
      expect(failed.outcome).toBe('failed');
      const errored = exporter.getFinishedSpans().find((s) => s.name === 'tcc.call.cancel');
      expect(errored?.status.code).toBe(api.SpanStatusCode.ERROR);
    } finally {
      await caller.onApplicationShutdown();
      server.close();
      await provider.shutdown();
      api.trace.disable();
    }
  });
});
