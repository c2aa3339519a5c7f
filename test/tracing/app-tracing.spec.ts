/**
 * The apps' SDK set-up (libs/service-kit/src/tracing.sdk.ts) from the OTEL_* variables: off unless
 * an exporter is named, OTEL_SDK_DISABLED wins, an unknown exporter stops the built coordinator at
 * start with a message naming the variable.
 */
import { trace } from '@opentelemetry/api';
import { startTracing, TracingSettingError } from '@tcc/service-kit';
import { runCoordinatorToExit } from '../support/coordinator.process';

describe('the apps tracing settings', () => {
  afterEach(() => trace.disable());

  it('is off without an exporter, and when disabled whatever else is set', async () => {
    expect(startTracing('x', {}).enabled).toBe(false);
    expect(startTracing('x', { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).enabled).toBe(false);
    expect(startTracing('x', { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).enabled).toBe(false);
    // Off means no tracer registered: spans are non-recording.
    expect(trace.getTracer('t').startSpan('s').isRecording()).toBe(false);
  });

  it('exports over OTLP/HTTP to the endpoint named, the traces one first', async () => {
    const base = startTracing('x', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' });
    expect(base.exporters).toEqual(['otlp http://collector:4318/v1/traces']);
    expect(trace.getTracer('t').startSpan('s').isRecording()).toBe(true);
    await base.shutdown();
    trace.disable();
    const full = startTracing('x', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/otlp/v1/traces', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' });
    expect(full.exporters).toEqual(['otlp http://tempo:4318/otlp/v1/traces']);
    await full.shutdown();
    await full.shutdown();
  });

  it('refuses an exporter it does not know', () => {
    expect(() => startTracing('x', { OTEL_TRACES_EXPORTER: 'otlp,zipkin' })).toThrow(TracingSettingError);
  });

  it('stops the coordinator at start naming OTEL_TRACES_EXPORTER', async () => {
    const result = await runCoordinatorToExit([], { OTEL_TRACES_EXPORTER: 'zipkin', TCC_SQLITE_PATH: ':memory:', TCC_HTTP_PORT: '0', TCC_GRPC_PORT: '0' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('OTEL_TRACES_EXPORTER: unknown exporter "zipkin" (otlp, console or none)');
  });
});
