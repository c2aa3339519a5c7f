/**
 * The example services' shared set-up (private to this repository, never published): database
 * settings from a URL, body validation, health endpoints, JSON logs, Prometheus metrics, bounds on slow clients and
 * the start-up lines naming each setting's source (the coordinator uses some of it too).
 */
export * from './data-source-options';
export * from './validation.pipe';
export * from './service-health.controller';
export * from './service-logging.module';
export * from './tls-files';
export * from './http-server-limits';
export * from './startup-settings.logger';
export * from './service-metrics.module';
