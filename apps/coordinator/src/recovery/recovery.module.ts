/** Recovery: the scheduler that times out and resumes transactions, and the replicas' coordination through Redis. */
import { Module } from '@nestjs/common';
import { PhaseTwoModule } from '../phase-two/phase-two.module';
import { RecoveryScheduler } from './recovery.scheduler';
import { ReplicaCoordinator } from './replica.coordinator';

@Module({
  imports: [PhaseTwoModule],
  providers: [ReplicaCoordinator, RecoveryScheduler],
  exports: [ReplicaCoordinator, RecoveryScheduler],
})
export class RecoveryModule {}
