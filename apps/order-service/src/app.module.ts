/**
 * The order service: places orders as global transactions (the "order" TCC participant), refunds
 * them as sagas (the "order-refund" step), and sends paid orders' loyalty points as reliable messages.
 */
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TccModule } from '@tcc/client';
import { ServiceHealthController, ServiceMetricsModule, dataSourceOptions, serviceLoggingModule } from '@tcc/service-kit';
import type { OrderConfig } from './config/order.config';
import { ORDER_MIGRATIONS, ORDER_MIGRATIONS_TABLE } from './order.migrations';
import { ORDER_CONFIG } from './orders/order.config.token';
import { OrderParticipant } from './orders/order.participant';
import { OrderRefundParticipant } from './orders/order-refund.participant';
import { OrderStore } from './orders/order.store';
import { OrdersController } from './orders/orders.controller';
import { OrdersService } from './orders/orders.service';

@Module({})
export class OrderServiceModule {
  static forRoot(config: OrderConfig): DynamicModule {
    return {
      module: OrderServiceModule,
      imports: [
        serviceLoggingModule(config.logLevel, 'order-service'),
        ServiceMetricsModule.forRoot(),
        TypeOrmModule.forRoot({
          ...dataSourceOptions({
            url: config.db.url,
            sqlitePath: config.db.sqlitePath,
            poolSize: config.db.poolSize,
            migrations: ORDER_MIGRATIONS,
            migrationsTableName: ORDER_MIGRATIONS_TABLE,
          }),
          migrationsRun: config.db.migrateOnStart,
          retryAttempts: 3,
        }),
        TccModule.forRoot({
          serviceName: 'order-service',
          // Started before its migrations, the service says so on /health/ready (MIGRATIONS_PENDING).
          barrierTableCheck: config.db.migrateOnStart ? 'stop' : 'warn',
          transport: config.coordinatorTransport,
          coordinatorUrl: config.coordinatorUrl,
          coordinatorGrpcAddress: config.coordinatorGrpcAddress,
          apiKey: config.apiKey,
          selfUrl: config.publicUrl,
          requestTimeoutMs: config.requestTimeoutMs,
          decisionTimeoutMs: config.decisionTimeoutMs,
          defaultTransactionTimeoutMs: config.transactionTimeoutMs,
          barrierCleanup: config.barrierCleanup,
          signingKeys: config.signingKeys,
          tls: config.tls,
        }),
      ],
      controllers: [OrdersController, ServiceHealthController],
      providers: [{ provide: ORDER_CONFIG, useValue: config }, OrderStore, OrdersService, OrderParticipant, OrderRefundParticipant],
    };
  }
}
