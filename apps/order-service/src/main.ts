/**
 * Order service entry point. `node main.js` serves; `node main.js migrate` applies the schema
 * migrations and exits. A bad setting stops the process with a message naming the variable.
 */
import 'reflect-metadata';
import { createOrderService, migrateOrderDatabase } from './bootstrap';
import { ConfigError } from './config/order.config';

async function main(): Promise<void> {
  if (process.argv[2] === 'migrate') {
    const applied = await migrateOrderDatabase(process.env);
    console.log(applied.length ? `order-service: applied migrations: ${applied.join(', ')}` : 'order-service: no pending migrations');
    return;
  }
  const service = await createOrderService(process.env);
  // Only the process entry listens for signals: services created in-process by tests must not.
  service.app.enableShutdownHooks();
  console.log(`order-service listening on ${service.url}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
