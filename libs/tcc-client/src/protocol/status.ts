/** Transaction and branch statuses: the vocabulary of docs/contract.md §2, shared by coordinator and clients. */

export const GlobalStatus = {
  TRYING: 'TRYING',
  /** A reliable message recorded but not yet submitted (docs/contract.md §10). */
  PREPARED: 'PREPARED',
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
  /** A saga step's action, or a message step's delivery, succeeded. */
  SUCCEEDED: 'SUCCEEDED',
  /** A saga step's action was refused (4xx): the saga compensates, this step included. */
  FAILED: 'FAILED',
  /** A saga step's compensation succeeded. */
  COMPENSATED: 'COMPENSATED',
  /** A saga step whose action was never sent when the saga turned to compensating: nothing to undo. */
  SKIPPED: 'SKIPPED',
} as const;
export type BranchStatus = (typeof BranchStatus)[keyof typeof BranchStatus];

/** The three kinds of global transaction one coordinator runs (docs/contract.md §2, §9, §10). */
export const TransactionMode = {
  TCC: 'tcc',
  SAGA: 'saga',
  MESSAGE: 'message',
} as const;
export type TransactionMode = (typeof TransactionMode)[keyof typeof TransactionMode];
export const TRANSACTION_MODES: readonly TransactionMode[] = Object.values(TransactionMode);
