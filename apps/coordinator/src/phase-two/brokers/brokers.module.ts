/** Publishing message steps to the brokers of TCC_BROKERS: the publisher, for the phase-two driver to inject. */
import { Module } from '@nestjs/common';
import { BrokerPublisher } from './broker.publisher';

@Module({
  providers: [BrokerPublisher],
  exports: [BrokerPublisher],
})
export class BrokersModule {}
