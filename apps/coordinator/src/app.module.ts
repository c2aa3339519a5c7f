/** The coordinator: API, phase two, recovery, all over one store. */
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from './config/coordinator.config';
import { StoreModule } from './store/store.module';
import { TransactionsController } from './transactions/transactions.controller';
import { TransactionService } from './transactions/transaction.service';
import { PhaseTwoDriver } from './phase-two/phase-two.driver';
import { GrpcChannels, ParticipantCaller } from '@tcc/client/caller';
import { CompletionWaiters } from './phase-two/completion-waiters';
import { RecoveryScheduler } from './recovery/recovery.scheduler';
import { ReplicaIdentity } from './recovery/replica.identity';
import { HealthController } from './health/health.controller';
import { ApiExceptionFilter } from './common/api-exception.filter';
import { MetricsService } from './metrics/metrics.service';
import { MetricsController } from './metrics/metrics.controller';
import { ReplicaCoordinator } from './recovery/replica-coordinator';
import { ShutdownState } from './recovery/shutdown.state';
import { AttentionNotifier } from './phase-two/attention.notifier';
import { AdminController } from './admin/admin.controller';
import { AdminTokenGuard } from './admin/admin-token.guard';
import { AdminService } from './admin/admin.service';
import { AdminPageController } from './admin/page/admin-page.controller';
import { loggingModule } from './logging/logging.module';
import { TerminusModule } from '@nestjs/terminus';
import { TransactionsGrpcController } from './grpc/transactions.grpc-controller';

@Module({})
export class AppModule {
  static forRoot(config: CoordinatorConfig): DynamicModule {
    const configModule: DynamicModule = {
      module: class ConfigHolderModule {},
      global: true,
      providers: [{ provide: COORDINATOR_CONFIG, useValue: config }],
      exports: [COORDINATOR_CONFIG],
    };
    return {
      module: AppModule,
      imports: [configModule, loggingModule(config.logLevel, 'tcc-coordinator'), TerminusModule.forRoot({ logger: false }), StoreModule.forRoot()],
      controllers: [TransactionsController, TransactionsGrpcController, HealthController, MetricsController, AdminController, AdminPageController],
      providers: [
        ReplicaIdentity,
        ShutdownState,
        MetricsService,
        ReplicaCoordinator,
        AttentionNotifier,
        AdminTokenGuard,
        AdminService,
        GrpcChannels,
        ParticipantCaller,
        CompletionWaiters,
        PhaseTwoDriver,
        TransactionService,
        RecoveryScheduler,
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
      ],
    };
  }
}
