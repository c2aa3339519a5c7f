/**
 * `GET /metrics` of the example services (Prometheus text through prom-client): the default
 * process metrics and one histogram of HTTP request durations by route, method and status.
 */
import { Controller, Get, Header, Injectable, Module, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The histogram's name: the OpenTelemetry semantic convention's, in Prometheus spelling. */
export const HTTP_REQUEST_DURATION_METRIC = 'http_server_request_duration_seconds';

/** The route label of a request no route matched (404s): one value, whatever path was asked for. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * One registry per application, not prom-client's global one: tests run several services in one
 * process, and each must count only its own requests.
 */
@Injectable()
export class ServiceMetrics {
  readonly registry = new Registry();

  readonly requestDuration = new Histogram({
    name: HTTP_REQUEST_DURATION_METRIC,
    help: 'HTTP requests served, by route template, method and status code, and how long each took',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts one answered request; the route is the template (`/orders/:id`), never the raw path. */
  observe(route: string | undefined, method: string, status: number, seconds: number): void {
    this.requestDuration.observe({ route: route ?? UNMATCHED_ROUTE, method, status: String(status) }, seconds);
  }
}

@Controller('metrics')
export class ServiceMetricsController {
  constructor(private readonly metrics: ServiceMetrics) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

/**
 * Times every request with Fastify's own clock (`reply.elapsedTime`) in an `onResponse` hook,
 * which sees every answer, refusals by pipes and guards and 404s included; a Nest interceptor
 * would miss those. Fastify attaches root hooks to routes when it becomes ready, so adding it at
 * module init (before `listen`) covers the routes Nest has registered by then.
 */
@Injectable()
class RequestTimer implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: ServiceMetrics,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
      this.metrics.observe(request.routeOptions.url, request.method, reply.statusCode, reply.elapsedTime / 1000);
    });
  }
}

@Module({})
export class ServiceMetricsModule {
  static forRoot(): DynamicModule {
    return {
      module: ServiceMetricsModule,
      controllers: [ServiceMetricsController],
      providers: [ServiceMetrics, RequestTimer],
      exports: [ServiceMetrics],
    };
  }
}
