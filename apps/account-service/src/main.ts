/**
 * Account service entry point. `node main.js` serves; `node main.js migrate` applies the schema
 * migrations and exits. A bad setting stops the process with a message naming the variable.
 */
import 'reflect-metadata';
import { createAccountService, migrateAccountDatabase } from './bootstrap';
import { ConfigError } from './config/account.config';

async function main(): Promise<void> {
  if (process.argv[2] === 'migrate') {
    const applied = await migrateAccountDatabase(process.env);
    console.log(applied.length ? `account-service: applied migrations: ${applied.join(', ')}` : 'account-service: no pending migrations');
    return;
  }
  const service = await createAccountService(process.env);
  // Only the process entry listens for signals: services created in-process by tests must not.
  service.app.enableShutdownHooks();
  console.log(`account-service listening on ${service.url} (gRPC ${service.grpcAddress})`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
