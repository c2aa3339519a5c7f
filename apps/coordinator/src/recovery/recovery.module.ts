/** Recovery: the scheduler that times out and resumes transactions, and the replicas' coordination through Redis. */
import { Module } from '@nestjs/common';
import { PhaseTwoModule } from '../phase-two/phase-two.module';
import { RecoveryScheduler } from './recovery.scheduler';
import { ReplicaCoordinator } from './replica.coordinator';
import { CallbackScheduler } from './callback.scheduler';
import { CallbacksModule } from '../callbacks/callbacks.module';

@Module({
  imports: [PhaseTwoModule, CallbacksModule],
  providers: [ReplicaCoordinator, RecoveryScheduler, CallbackScheduler],
  exports: [ReplicaCoordinator, RecoveryScheduler],
})
export class RecoveryModule {}
