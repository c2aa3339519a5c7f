/**
 * `@OnTransactionFinished()` on a method of a provider in an initiator's app: the method receives
 * the final view of every global transaction (TCC, saga, message) this service began, once it is
 * COMMITTED or ROLLED_BACK (docs/contract.md §11), as the coordinator's completion callback. Only
 * metadata: TransactionFinishedHandlers finds the methods at start-up.
 *
 * The coordinator sends the callback at least once: a handler that throws gets it again later,
 * and a repeat may arrive after a success whose answer was lost, so handlers must be idempotent
 * (keyed by `gid`).
 */
import { SetMetadata } from '@nestjs/common';

export const TCC_ON_TRANSACTION_FINISHED = 'tcc:on-transaction-finished';

export function OnTransactionFinished(): MethodDecorator {
  return SetMetadata(TCC_ON_TRANSACTION_FINISHED, true);
}
