/**
 * The coordinator: one module per feature over one store, on the ground floor of domain/ (the
 * state machine, the errors, the target policy). The arrows point one way: transactions (guarded
 * by auth) -> phase two -> store -> config and domain; recovery and admin call into phase two and
 * the store; health and metrics observe. Phase two tells the rest that a transaction finished
 * through the CompletionNotifier. test/unit/architecture.spec.ts fails on an arrow running back.
 */
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from './config/coordinator.config';
import { ApiExceptionFilter } from './common/api-exception.filter';
import { ShutdownState } from './common/shutdown.state';
import { loggingModule } from './logging/logging.module';
import { StoreModule } from './store/store.module';
import { MetricsModule } from './metrics/metrics.module';
import { TransactionsModule } from './transactions/transactions.module';
import { RecoveryModule } from './recovery/recovery.module';
import { AdminModule } from './admin/admin.module';
import { ReconcileModule } from './reconcile/reconcile.module';
import { HealthModule } from './health/health.module';

@Module({})
export class AppModule {
  static forRoot(config: CoordinatorConfig): DynamicModule {
    /** What every feature may inject: the validated settings and whether this replica is draining. */
    @Global()
    @Module({
      providers: [{ provide: COORDINATOR_CONFIG, useValue: config }, ShutdownState],
      exports: [COORDINATOR_CONFIG, ShutdownState],
    })
    class CoreModule {}

    return {
      module: AppModule,
      imports: [
        CoreModule,
        loggingModule(config.logLevel, 'tcc-coordinator'),
        StoreModule.forRoot(),
        MetricsModule,
        TransactionsModule,
        RecoveryModule,
        ReconcileModule,
        AdminModule,
        HealthModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: ApiExceptionFilter }],
    };
  }
}
