/** Phase two: calling participants' confirm and cancel (saga actions and compensations, message deliveries) until they succeed, and telling who waits that a transaction finished. */
import { Module } from '@nestjs/common';
import { GrpcChannels, ParticipantCaller, TCC_CLIENT_TLS } from '@tcc/client/caller';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { AttentionNotifier } from './attention.notifier';
import { CompletionNotifier } from './completion.notifier';
import { PhaseTwoDriver } from './phase-two.driver';
import { BrokerTargets } from './brokers/broker.targets';
import { BrokersModule } from './brokers/brokers.module';

@Module({
  imports: [BrokersModule],
  providers: [
    { provide: TCC_CLIENT_TLS, inject: [COORDINATOR_CONFIG], useFactory: (config: CoordinatorConfig) => config.participantTls },
    GrpcChannels,
    ParticipantCaller, CompletionNotifier, AttentionNotifier, PhaseTwoDriver, BrokerTargets],
  exports: [PhaseTwoDriver, CompletionNotifier, BrokerTargets, ParticipantCaller, AttentionNotifier],
})
export class PhaseTwoModule {}
