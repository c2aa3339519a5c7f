/** Transaction and branch statuses: the vocabulary of docs/contract.md §2, shared by coordinator and clients. */

export const GlobalStatus = {
  TRYING: 'TRYING',
  COMMITTING: 'COMMITTING',
  COMMITTED: 'COMMITTED',
  ROLLING_BACK: 'ROLLING_BACK',
  ROLLED_BACK: 'ROLLED_BACK',
} as const;
export type GlobalStatus = (typeof GlobalStatus)[keyof typeof GlobalStatus];
export const GLOBAL_STATUSES: readonly GlobalStatus[] = Object.values(GlobalStatus);

export const BranchStatus = {
  REGISTERED: 'REGISTERED',
  CONFIRMED: 'CONFIRMED',
  CANCELLED: 'CANCELLED',
} as const;
export type BranchStatus = (typeof BranchStatus)[keyof typeof BranchStatus];
