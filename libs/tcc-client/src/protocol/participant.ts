/** How the coordinator and the initiator call a participant (DESIGN.md §5). */
import type { JsonValue } from './coordinator-api';

export type BranchPhase = 'try' | 'confirm' | 'cancel';

export interface BranchCallBody {
  gid: string;
  branchId: string;
  phase: BranchPhase;
  payload: JsonValue | null;
}

export const TCC_HEADERS = {
  gid: 'x-tcc-gid',
  branchId: 'x-tcc-branch-id',
  phase: 'x-tcc-phase',
  traceparent: 'traceparent',
} as const;
