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

/** The API, loaded once. */
export function otelApi(): OtelApi | null {
  if (loaded === undefined) loaded = loadOtelApi();
  return loaded;
}
