/** The scratch app: TypeORM (PostgreSQL or MariaDB, by DB_TYPE), the TCC module, one participant, one initiator. */
import { Module } from '@nestjs/common';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { TCC_BARRIER_MIGRATIONS, TccModule } from '@tcc/client';
import { OrdersController } from './orders.controller';
import { OrdersService } from './orders.service';
import { CreateStock1764000000000 } from './stock.migration';
import { StockParticipant } from './stock.participant';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function database(): TypeOrmModuleOptions {
  const url = env('DB_URL');
  const migrations = [...TCC_BARRIER_MIGRATIONS, CreateStock1764000000000];
  const common = { url, migrations, migrationsRun: true, synchronize: false, retryAttempts: 2, retryDelay: 500 };
  const type = env('DB_TYPE');
  switch (type) {
    case 'postgres':
      return { type: 'postgres', ...common };
    case 'mariadb':
      return { type: 'mariadb', ...common };
    default:
      throw new Error(`DB_TYPE must be postgres or mariadb, not ${type}`);
  }
}

@Module({
  imports: [
    TypeOrmModule.forRoot(database()),
    TccModule.forRoot({ coordinatorUrl: env('COORDINATOR_URL'), apiKey: env('COORDINATOR_API_KEY'), serviceName: 'scratch-shop' }),
  ],
  controllers: [OrdersController],
  providers: [StockParticipant, OrdersService],
})
export class AppModule {}
