/** What a participant method receives, and the shape it has. */
import type { EntityManager } from 'typeorm';
import type { BranchPhase, JsonValue } from '../protocol';

export interface BranchCall<P = JsonValue | null> {
  gid: string;
  branchId: string;
  phase: BranchPhase;
  /** The payload given at registration: the same for try, confirm and cancel. */
  payload: P;
}

export type BranchMethod = (call: BranchCall, manager: EntityManager) => Promise<unknown> | unknown;
