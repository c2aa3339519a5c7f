/** Owns the database connection, the store and this replica's name on leases; nothing else in the coordinator writes SQL. */
import { Global, Inject, Logger, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { Database } from './database';
import { TransactionStore } from './transaction.store';
import { ReplicaIdentity } from './replica.identity';

@Global()
@Module({})
export class StoreModule implements OnApplicationShutdown {
  constructor(@Inject(Database) private readonly db: Database) {}

  static forRoot(): DynamicModule {
    return {
      module: StoreModule,
      providers: [
        ReplicaIdentity,
        {
          provide: Database,
          inject: [COORDINATOR_CONFIG],
          useFactory: async (config: CoordinatorConfig): Promise<Database> => {
            const db = Database.create(config.db);
            await db.connect();
            if (config.db.migrateOnStart) {
              const applied = await db.migrate();
              if (applied.length) new Logger('Database').log(`applied migrations: ${applied.join(', ')}`);
            }
            return db;
          },
        },
        {
          provide: TransactionStore,
          inject: [Database, COORDINATOR_CONFIG],
          useFactory: (db: Database, config: CoordinatorConfig) =>
            new TransactionStore(db, { concurrency: config.db.writeBatches, windowMs: config.db.writeBatchWindowMs }),
        },
      ],
      exports: [Database, TransactionStore, ReplicaIdentity],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}
