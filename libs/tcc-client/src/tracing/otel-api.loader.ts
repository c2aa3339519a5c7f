/**
 * @opentelemetry/api is an optional peer of this library: loaded at first use, and when it is not
 * installed nothing is traced and nothing fails (the traceparent a caller gave is still passed on).
 * Only the few parts used are typed here, so the library's declarations never name the package.
 */

/** A span's identity: what a W3C traceparent carries. */
export interface OtelSpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
}

export type OtelAttributeValue = string | number | boolean;
export type OtelAttributes = Record<string, OtelAttributeValue | undefined>;

export interface OtelSpan {
  spanContext(): OtelSpanContext;
  setAttribute(key: string, value: OtelAttributeValue): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: Error | string): unknown;
  end(): void;
}

/** An opaque OpenTelemetry Context. */
export type OtelContext = object;

export interface OtelTracer {
  startSpan(
    name: string,
    options?: { kind?: number; attributes?: OtelAttributes; links?: { context: OtelSpanContext }[]; root?: boolean },
    context?: OtelContext,
  ): OtelSpan;
}

export interface OtelApi {
  ROOT_CONTEXT: OtelContext;
  trace: {
    getTracer(name: string, version?: string): OtelTracer;
    /** The global provider: a proxy whose delegate is a no-op until an SDK registers one. */
    getTracerProvider?(): object;
    getSpan(context: OtelContext): OtelSpan | undefined;
    setSpan(context: OtelContext, span: OtelSpan): OtelContext;
    setSpanContext(context: OtelContext, spanContext: OtelSpanContext): OtelContext;
  };
  context: {
    active(): OtelContext;
    with<T>(context: OtelContext, fn: () => T): T;
  };
}

let loaded: OtelApi | null | undefined;

/**
 * The API, or null when it cannot be loaded. `load` is for tests; the require stays literal so
 * bundlers see it.
 */
export function loadOtelApi(load: () => unknown = () => require('@opentelemetry/api')): OtelApi | null {
  try {
    const api = load() as Partial<OtelApi> | null;
    return api && api.trace && api.context && api.ROOT_CONTEXT ? (api as OtelApi) : null;
  } catch {
    return null;
  }
}

/**
 * Whether spans would be recorded: an SDK registered a tracer provider. Until one does, the API's
 * global provider hands out non-recording spans, so the library skips them altogether (and their
 * contexts), at no cost to an app that does not trace. Asked at each span: an app may register its
 * SDK after the library loaded.
 */
export function tracerRegistered(api: OtelApi): boolean {
  const provider = api.trace.getTracerProvider?.() as { getDelegate?: () => object } | undefined;
  if (!provider) return true;
  const delegate = typeof provider.getDelegate === 'function' ? provider.getDelegate() : provider;
  return delegate?.constructor?.name !== 'NoopTracerProvider';
}

/** The API, loaded once. */
export function otelApi(): OtelApi | null {
  if (loaded === undefined) loaded = loadOtelApi();
  return loaded;
}
