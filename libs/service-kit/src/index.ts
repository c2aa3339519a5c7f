/**
 * The example services' shared set-up (private to this repository, never published): database
 * settings from a URL, body validation, health endpoints and JSON logs.
 */
export * from './data-source-options';
export * from './validation.pipe';
export * from './service-health.controller';
export * from './service-logging.module';
export * from './tls-files';
