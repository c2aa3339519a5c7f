/**
 * The spans of this library and of the coordinator (docs/contract.md §12), through
 * @opentelemetry/api when it is installed. The parent of a span is the traceparent it is given, or
 * the current one: the active OpenTelemetry span, else the traceparent made current by
 * withTraceparent (so the context flows even where no context manager is registered). A span's own
 * traceparent is what goes out on the calls made inside it; without the API (or without an SDK)
 * that is the parent's, unchanged, as before tracing existed.
 */
import { otelApi, tracerRegistered, type OtelApi, type OtelAttributes, type OtelContext, type OtelSpan, type OtelSpanContext } from './otel-api.loader';
import { currentTraceparent, withTraceparent } from './trace-context';

/** OpenTelemetry's SpanKind values (stable in the API since 1.0). */
const SPAN_KIND = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 } as const;
const STATUS_ERROR = 2;
const TRACER = '@tcc/client';
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const INVALID_TRACE = /^0+$/;

export type TccSpanKind = keyof typeof SPAN_KIND;
export type TccSpanAttributes = OtelAttributes;

export interface TccSpanOptions {
  kind: TccSpanKind;
  /** The parent's traceparent; undefined: the current context; null: a new root. */
  parent?: string | null;
  /** Contexts this span is linked to (a re-drive links to the transaction's stored traceparent). */
  links?: (string | null | undefined)[];
  attributes?: TccSpanAttributes;
}

export interface TccSpan {
  /** The W3C traceparent to send on calls made inside this span, if there is a trace at all. */
  readonly traceparent: string | undefined;
  set(attributes: TccSpanAttributes): void;
  /** Status ERROR, with the error recorded. */
  fail(error: unknown): void;
  end(): void;
}

export function parseTraceparent(value: string | null | undefined): OtelSpanContext | undefined {
  const match = value ? TRACEPARENT.exec(value) : null;
  if (!match || match[1] === 'ff' || INVALID_TRACE.test(match[2]) || INVALID_TRACE.test(match[3])) return undefined;
  return { traceId: match[2], spanId: match[3], traceFlags: parseInt(match[4], 16) & 0xff, isRemote: true };
}

export function formatTraceparent(context: OtelSpanContext): string | undefined {
  if (!/^[0-9a-f]{32}$/.test(context.traceId) || INVALID_TRACE.test(context.traceId) || !/^[0-9a-f]{16}$/.test(context.spanId)) return undefined;
  return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function parentContext(api: OtelApi, parent: string | null | undefined): OtelContext {
  if (parent === null) return api.ROOT_CONTEXT;
  const given = parseTraceparent(parent);
  if (given) return api.trace.setSpanContext(api.ROOT_CONTEXT, given);
  const active = api.context.active();
  const span = api.trace.getSpan(active);
  if (span && formatTraceparent(span.spanContext())) return active;
  const current = parseTraceparent(currentTraceparent());
  return current ? api.trace.setSpanContext(active, current) : active;
}

class OtelTccSpan implements TccSpan {
  readonly traceparent: string | undefined;

  constructor(
    readonly span: OtelSpan,
    readonly context: OtelContext,
  ) {
    this.traceparent = formatTraceparent(span.spanContext());
  }

  set(attributes: TccSpanAttributes): void {
    for (const [key, value] of Object.entries(attributes)) if (value !== undefined) this.span.setAttribute(key, value);
  }

  fail(error: unknown): void {
    this.span.setStatus({ code: STATUS_ERROR, message: messageOf(error).slice(0, 300) });
    this.span.recordException(error instanceof Error ? error : messageOf(error));
  }

  end(): void {
    this.span.end();
  }
}

/** Without the API: carries the parent's traceparent on, records nothing. */
class NoopTccSpan implements TccSpan {
  constructor(readonly traceparent: string | undefined) {}
  set(): void {}
  fail(): void {}
  end(): void {}
}

/** Starts a span; end it with `end()`. Use inSpan to make it current for the work inside it. */
export function startSpan(name: string, options: TccSpanOptions): TccSpan {
  const api = otelApi();
  if (!api || !tracerRegistered(api)) {
    const parent = options.parent === null ? undefined : (parseTraceparent(options.parent) ? options.parent : currentTraceparent());
    return new NoopTccSpan(parent ?? undefined);
  }
  const context = parentContext(api, options.parent);
  const links = (options.links ?? []).map(parseTraceparent).filter((link): link is OtelSpanContext => !!link).map((link) => ({ context: link }));
  const attributes: OtelAttributes = {};
  for (const [key, value] of Object.entries(options.attributes ?? {})) if (value !== undefined) attributes[key] = value;
  const span = api.trace.getTracer(TRACER).startSpan(
    name,
    { kind: SPAN_KIND[options.kind], attributes, ...(links.length > 0 ? { links } : {}), ...(options.parent === null ? { root: true } : {}) },
    context,
  );
  return new OtelTccSpan(span, api.trace.setSpan(context, span));
}

/** Runs `work` with `span` current (for OpenTelemetry and for currentTraceparent). */
export function withSpan<T>(span: TccSpan, work: () => T): T {
  if (!(span instanceof OtelTccSpan)) {
    // Nothing recorded: only the traceparent to carry, and nothing to do when it is already current.
    return span.traceparent === currentTraceparent() ? work() : withTraceparent(span.traceparent, work);
  }
  const api = otelApi()!;
  return api.context.with(span.context, () => withTraceparent(span.traceparent, work));
}

/**
 * Runs `work` inside a new span, current while it runs; a throw sets status ERROR and is rethrown.
 * The span ends when the work does.
 */
export async function inSpan<T>(name: string, options: TccSpanOptions, work: (span: TccSpan) => Promise<T>): Promise<T> {
  const span = startSpan(name, options);
  try {
    return await withSpan(span, () => work(span));
  } catch (error) {
    span.fail(error);
    throw error;
  } finally {
    span.end();
  }
}
