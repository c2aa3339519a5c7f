/** Phase two: calling participants' confirm and cancel until they succeed, and telling who waits that a transaction finished. */
import { Module } from '@nestjs/common';
import { GrpcChannels, ParticipantCaller } from '@tcc/client/caller';
import { AttentionNotifier } from './attention.notifier';
import { CompletionNotifier } from './completion-notifier';
import { PhaseTwoDriver } from './phase-two.driver';

@Module({
  providers: [GrpcChannels, ParticipantCaller, CompletionNotifier, AttentionNotifier, PhaseTwoDriver],
  exports: [PhaseTwoDriver, CompletionNotifier],
})
export class PhaseTwoModule {}
