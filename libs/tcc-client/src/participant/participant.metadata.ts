/** Metadata keys written by the participant decorators and read by the explorer. */
export const TCC_PARTICIPANT = 'tcc:participant';
export const TCC_PHASE = 'tcc:phase';
export const TCC_RECONCILE = 'tcc:reconcile';
