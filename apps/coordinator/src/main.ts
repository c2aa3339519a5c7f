/**
 * Coordinator entry point. `node main.js` serves; `node main.js migrate` applies the schema
 * migrations and exits. A bad setting stops the process with a message naming the variable.
 */
import 'reflect-metadata';
import { ConfigError } from './config/coordinator.config';
import { createCoordinator, migrate } from './bootstrap';

async function main(): Promise<void> {
  if (process.argv[2] === 'migrate') {
    const applied = await migrate(process.env);
    console.log(applied.length ? `applied migrations: ${applied.join(', ')}` : 'no pending migrations');
    return;
  }
  const coordinator = await createCoordinator(process.env);
  // SIGTERM/SIGINT: stop scanning, let phase-two calls in flight finish, close the database.
  coordinator.app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  console.log(`tcc coordinator listening on ${coordinator.url}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
