/**
 * Coordinator entry point. `node main.js` serves; `node main.js migrate` applies the schema
 * migrations and exits. A bad setting stops the process with a message naming the variable, and so
 * does an embedded SQLite file another coordinator holds (store/sqlite-file.lock.ts).
 */
import 'reflect-metadata';
import { startTracing, TracingSettingError } from '@tcc/service-kit';
import { ConfigError } from './config/coordinator.config';
import { createCoordinator, migrate } from './bootstrap';
import { SqliteFileInUse } from './store/sqlite-file.lock';

async function main(): Promise<void> {
  if (process.argv[2] === 'migrate') {
    const applied = await migrate(process.env);
    console.log(applied.length ? `applied migrations: ${applied.join(', ')}` : 'no pending migrations');
    return;
  }
  // Before the app: its spans (docs/contract.md §12) go to the exporter the OTEL_* variables name.
  const tracing = startTracing('tcc-coordinator');
  const coordinator = await createCoordinator(process.env);
  // SIGTERM/SIGINT: take no new transactions, let phase-two calls in flight finish (bounded),
  // release the leases still held, close the database, exit 0.
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    console.log(`${signal} received: shutting down`);
    coordinator
      .close()
      .then(() => tracing.shutdown())
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        console.error('shutdown failed', error);
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  console.log(`tcc coordinator listening on ${coordinator.url} (gRPC on ${coordinator.grpcAddress})`);
  if (tracing.enabled) console.log(`traces exported to ${tracing.exporters.join(', ')}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof SqliteFileInUse || error instanceof TracingSettingError ? error.message : error);
  process.exit(1);
});
