/**
 * Order service entry point. `node main.js` serves; `node main.js migrate` applies the schema
 * migrations and exits. A bad setting stops the process with a message naming the variable.
 */
import 'reflect-metadata';
import { closeOnSignals, startTracing, TracingSettingError } from '@tcc/service-kit';
import { createOrderService, migrateOrderDatabase } from './bootstrap';
import { ConfigError } from './config/order.config';

async function main(): Promise<void> {
  if (process.argv[2] === 'migrate') {
    const applied = await migrateOrderDatabase(process.env);
    console.log(applied.length ? `order-service: applied migrations: ${applied.join(', ')}` : 'order-service: no pending migrations');
    return;
  }
  // Before the app: its spans (docs/contract.md §12) go to the exporter the OTEL_* variables name.
  const tracing = startTracing('order-service');
  const service = await createOrderService(process.env);
  // Only the process entry listens for signals: services created in-process by tests must not.
  // Closing the app runs its shutdown hooks (as enableShutdownHooks would), then the last spans go out.
  closeOnSignals(async () => {
    await service.app.close();
    await tracing.shutdown();
  });
  console.log(`order-service listening on ${service.url}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof TracingSettingError ? error.message : error);
  process.exit(1);
});
