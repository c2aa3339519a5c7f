/** The scratch app: Drizzle on PostgreSQL, the TCC module with the Drizzle barrier, one participant, one initiator. */
import { Module } from '@nestjs/common';
import { TccModule, drizzleBarrier } from '@tcc/client';
import { DRIZZLE, databaseProvider } from './database.js';
import { OrdersController } from './orders.controller.js';
import { OrdersService } from './orders.service.js';
import { StockParticipant } from './stock.participant.js';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

@Module({
  imports: [
    TccModule.forRoot({
      coordinatorUrl: env('COORDINATOR_URL'),
      apiKey: env('COORDINATOR_API_KEY'),
      serviceName: 'scratch-shop',
      barrier: drizzleBarrier({ inject: DRIZZLE }),
    }),
  ],
  controllers: [OrdersController],
  providers: [databaseProvider, StockParticipant, OrdersService],
})
export class AppModule {}
