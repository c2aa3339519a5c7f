/**
 * Owns the database connection, the stores (lifecycle, leases, operator actions, queries: the only
 * code that writes SQL) and this replica's name on leases.
 */
import { Global, Inject, Logger, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { Database } from './database';
import { LeaseStore } from './lease.store';
import { CallbackStore } from './callback.store';
import { LifecycleStore } from './lifecycle.store';
import { OperatorStore } from './operator.store';
import { QueryStore } from './query.store';
import { ReconciliationStore } from './reconciliation.store';
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
          provide: LifecycleStore,
          inject: [Database, COORDINATOR_CONFIG],
          useFactory: (db: Database, config: CoordinatorConfig) =>
            new LifecycleStore(db, { concurrency: config.db.writeBatches, windowMs: config.db.writeBatchWindowMs }),
        },
        { provide: LeaseStore, inject: [Database], useFactory: (db: Database) => new LeaseStore(db) },
        { provide: OperatorStore, inject: [Database], useFactory: (db: Database) => new OperatorStore(db) },
        { provide: QueryStore, inject: [Database], useFactory: (db: Database) => new QueryStore(db) },
        { provide: CallbackStore, inject: [Database], useFactory: (db: Database) => new CallbackStore(db) },
        { provide: ReconciliationStore, inject: [Database], useFactory: (db: Database) => new ReconciliationStore(db) },
      ],
      exports: [Database, LifecycleStore, LeaseStore, OperatorStore, QueryStore, CallbackStore, ReplicaIdentity, ReconciliationStore],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}
