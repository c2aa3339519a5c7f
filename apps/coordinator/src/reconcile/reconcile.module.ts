/** Reconciliation (docs/contract.md §13): runs that ask participants what they did for finished transactions, and report where the books disagree. */
import { Module } from '@nestjs/common';
import { PhaseTwoModule } from '../phase-two/phase-two.module';
import { ReconciliationRunner } from './reconciliation.runner';

@Module({
  imports: [PhaseTwoModule],
  providers: [ReconciliationRunner],
  exports: [ReconciliationRunner],
})
export class ReconcileModule {}
