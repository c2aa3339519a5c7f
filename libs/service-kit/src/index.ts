/**
 * The example services' shared set-up (private to this repository, never published): database
 * settings from a URL, body validation, health endpoints, JSON logs and bounds on slow clients.
 */
export * from './data-source-options';
export * from './validation.pipe';
export * from './service-health.controller';
export * from './service-logging.module';
export * from './tls-files';
export * from './http-server-limits';
