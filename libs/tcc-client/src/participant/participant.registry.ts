/** The participants found at start-up, by name, with their kind and bound methods. */
import { Injectable } from '@nestjs/common';
import type { ParticipantPhase } from '../barrier/branch.barrier';
import type { BranchMethod } from './branch-call.types';

/** `tcc`: try, confirm, cancel; `saga`: action, compensate; `message`: message. */
export type ParticipantKind = 'tcc' | 'saga' | 'message';

/** The phases each kind of participant serves, the leading one first. */
export const PHASES_OF_KIND: Readonly<Record<ParticipantKind, readonly ParticipantPhase[]>> = {
  tcc: ['try', 'confirm', 'cancel'],
  saga: ['action', 'compensate'],
  message: ['message'],
};

export interface RegisteredParticipant {
  name: string;
  className: string;
  kind: ParticipantKind;
  /** One method per phase of its kind (PHASES_OF_KIND). */
  methods: Partial<Record<ParticipantPhase, BranchMethod<unknown>>>;
  /** Its @TccReconcile() method, if any: the business view of a branch (docs/contract.md §13). */
  reconcile?: BranchMethod<unknown>;
}

@Injectable()
export class ParticipantRegistry {
  private readonly participants = new Map<string, RegisteredParticipant>();

  add(participant: RegisteredParticipant): void {
    const existing = this.participants.get(participant.name);
    if (existing) {
      throw new Error(
        `tcc participant "${participant.name}" is declared twice: by ${existing.className} and by ${participant.className}`,
      );
    }
    this.participants.set(participant.name, participant);
  }

  get(name: string): RegisteredParticipant | undefined {
    return this.participants.get(name);
  }

  get size(): number {
    return this.participants.size;
  }

  names(): string[] {
    return [...this.participants.keys()];
  }
}
