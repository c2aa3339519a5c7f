/**
 * The OpenTelemetry SDK of an app of this repository (coordinator, account-service, order-service),
 * set up from the standard OTEL_* variables before anything else starts. Off unless an exporter
 * is asked for: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT (OTLP over HTTP,
 * JSON), or OTEL_TRACES_EXPORTER (otlp, console, none); OTEL_SDK_DISABLED=true wins over both.
 * When off, no tracer is registered: the library's spans are no-ops and traceparents are passed on
 * unchanged. The spans themselves are the library's and the coordinator's (docs/contract.md §12).
 */
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, NodeTracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace-node';

export interface AppTracing {
  /** Whether spans are exported. */
  readonly enabled: boolean;
  /** The exporters, for the start-up line: `otlp http://collector:4318/v1/traces`, `console`. */
  readonly exporters: string[];
  /** Exports what is buffered and stops; safe to call twice. */
  shutdown(): Promise<void>;
}

/** A tracing variable with a value the SDK cannot use: the start stops with its message. */
export class TracingSettingError extends Error {}

const OFF: AppTracing = { enabled: false, exporters: [], shutdown: async () => undefined };

function exporterNames(env: NodeJS.ProcessEnv): string[] {
  const named = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (named.length > 0) return named.includes('none') ? [] : named;
  return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT ? ['otlp'] : [];
}

function otlpUrl(env: NodeJS.ProcessEnv): string {
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318';
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

/** Starts tracing for the app named `serviceName` (OTEL_SERVICE_NAME overrides it); OFF when not asked for. */
export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): AppTracing {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return OFF;
  const names = exporterNames(env);
  const exporters: { name: string; exporter: SpanExporter }[] = [];
  for (const name of names) {
    if (name === 'otlp') exporters.push({ name: `otlp ${otlpUrl(env)}`, exporter: new OTLPTraceExporter({ url: otlpUrl(env) }) });
    else if (name === 'console') exporters.push({ name, exporter: new ConsoleSpanExporter() });
    else throw new TracingSettingError(`OTEL_TRACES_EXPORTER: unknown exporter "${name}" (otlp, console or none)`);
  }
  if (exporters.length === 0) return OFF;
  const resource = resourceFromAttributes({ 'service.name': serviceName }).merge(detectResources({ detectors: [envDetector] }));
  // BatchSpanProcessor reads OTEL_BSP_* (delay, queue and batch sizes) itself.
  const provider = new NodeTracerProvider({ resource, spanProcessors: exporters.map(({ exporter }) => new BatchSpanProcessor(exporter)) });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    exporters: exporters.map(({ name }) => name),
    shutdown: () => (stopped ??= provider.shutdown().catch((error: unknown) => console.error('tracing: flushing spans failed', error))),
  };
}

/**
 * On SIGTERM or SIGINT (once): runs `close`, then re-raises the signal so that the process ends
 * the way it would have without the handler (as Nest's enableShutdownHooks does).
 */
export function closeOnSignals(close: () => Promise<void>): void {
  const signals = ['SIGTERM', 'SIGINT'] as const;
  const handler = (signal: NodeJS.Signals): void => {
    signals.forEach((s) => process.removeListener(s, handler));
    close()
      .catch((error: unknown) => console.error('shutdown failed', error))
      .finally(() => process.kill(process.pid, signal));
  };
  signals.forEach((s) => process.once(s, handler));
}
