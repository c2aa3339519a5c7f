/** The participants found at start-up, by name, with their three bound methods. */
import { Injectable } from '@nestjs/common';
import type { BranchPhase } from '../protocol';
import type { BranchMethod } from './branch-call.types';

export interface RegisteredParticipant {
  name: string;
  className: string;
  methods: Partial<Record<BranchPhase, BranchMethod<unknown>>>;
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
