/**
 * `@TccParticipant('account-freeze')` marks a provider whose @TccTry, @TccConfirm and @TccCancel
 * methods become `POST /tcc/account-freeze/{try,confirm,cancel}` (see ParticipantExplorer).
 */
import { SetMetadata } from '@nestjs/common';
import { BRANCH_ID_MAX_LENGTH, ID_PATTERN } from '../protocol';
import { TCC_PARTICIPANT } from './participant.metadata';

export function TccParticipant(name: string): ClassDecorator {
  if (!ID_PATTERN.test(name) || name.length > BRANCH_ID_MAX_LENGTH) {
    throw new Error(`@TccParticipant("${name}"): a participant name is 1 to ${BRANCH_ID_MAX_LENGTH} characters of [A-Za-z0-9_.:-]`);
  }
  return SetMetadata(TCC_PARTICIPANT, name);
}
