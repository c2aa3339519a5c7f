/**
 * The account service: accounts over HTTP; the "account-freeze" TCC participant, the "refund-credit"
 * saga step and the "loyalty-points" message consumer, over HTTP and gRPC.
 */
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TccModule } from '@tcc/client';
import { ServiceHealthController, ServiceMetricsModule, dataSourceOptions, serviceLoggingModule } from '@tcc/service-kit';
import { AccountFreezeParticipant } from './accounts/account-freeze.participant';
import { LoyaltyPointsParticipant } from './accounts/loyalty-points.participant';
import { RefundCreditParticipant } from './accounts/refund-credit.participant';
import { AccountStore } from './accounts/account.store';
import { AccountsController } from './accounts/accounts.controller';
import { AccountsService } from './accounts/accounts.service';
import { ACCOUNT_MIGRATIONS, ACCOUNT_MIGRATIONS_TABLE } from './account.migrations';
import type { AccountConfig } from './config/account.config';

@Module({})
export class AccountServiceModule {
  static forRoot(config: AccountConfig): DynamicModule {
    return {
      module: AccountServiceModule,
      imports: [
        serviceLoggingModule(config.logLevel, 'account-service'),
        ServiceMetricsModule.forRoot(),
        TypeOrmModule.forRoot({
          ...dataSourceOptions({
            url: config.db.url,
            sqlitePath: config.db.sqlitePath,
            poolSize: config.db.poolSize,
            migrations: ACCOUNT_MIGRATIONS,
            migrationsTableName: ACCOUNT_MIGRATIONS_TABLE,
          }),
          migrationsRun: config.db.migrateOnStart,
          retryAttempts: 3,
        }),
        TccModule.forRoot({
          serviceName: 'account-service',
          // Started before its migrations, the service says so on /health/ready (MIGRATIONS_PENDING).
          barrierTableCheck: config.db.migrateOnStart ? 'stop' : 'warn',
          barrierCleanup: config.barrierCleanup,
          grpc: config.grpc,
          signingKeys: config.signingKeys,
        }),
      ],
      controllers: [AccountsController, ServiceHealthController],
      providers: [AccountStore, AccountsService, AccountFreezeParticipant, RefundCreditParticipant, LoyaltyPointsParticipant],
    };
  }
}
