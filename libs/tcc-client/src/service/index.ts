export * from './validation.pipe';
export * from './service-health.controller';
export * from './service-logging.module';
