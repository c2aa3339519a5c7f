/** Completion callbacks (docs/contract.md §11): the sender, which phase two's finishes and the recovery scan hand owed callbacks to. */
import { Module } from '@nestjs/common';
import { PhaseTwoModule } from '../phase-two/phase-two.module';
import { CallbackSender } from './callback.sender';

@Module({
  imports: [PhaseTwoModule],
  providers: [CallbackSender],
  exports: [CallbackSender],
})
export class CallbacksModule {}
