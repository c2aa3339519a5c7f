/**
 * What business code injects to work inside a @TccTransactional method: run branches, read the
 * gid; and after one whose outcome was unknown, wait for its final status.
 */
import { Injectable } from '@nestjs/common';
import { CoordinatorClient } from '../client/coordinator.client';
import type { JsonValue } from '../protocol';
import type { BranchOptions } from './branch.options';
import { currentTransaction } from './global-transaction.context';
import { NoTransactionError } from './initiator.errors';
import { waitForOutcome, type FinalStatus, type WaitForOutcomeOptions } from './outcome.waiter';
import { TransactionRunner, TransactionalOptions } from './transaction.runner';

@Injectable()
export class TccInitiator {
  constructor(
    private readonly runner: TransactionRunner,
    private readonly coordinator: CoordinatorClient,
  ) {}

  /** Registers the branch with the coordinator and calls its try; throws BranchRefusedError on a 4xx. */
  branch(options: BranchOptions): Promise<JsonValue | undefined> {
    return this.runner.branch(options);
  }

  /** The gid of the current global transaction. */
  get gid(): string {
    const transaction = currentTransaction();
    if (!transaction) throw new NoTransactionError('gid asked outside @TccTransactional');
    return transaction.gid;
  }

  /** The programmatic form of @TccTransactional, for code that cannot use a decorator. */
  run<T>(work: () => Promise<T>, options: TransactionalOptions = {}): Promise<T> {
    return this.runner.run(options, work);
  }

  /**
   * The final status of `gid` (COMMITTED or ROLLED_BACK), read from the coordinator with backoff:
   * what a TransactionOutcomeUnknownError leaves open. Throws TransactionOutcomeUnknownError again
   * (with the last status read) when it is not final within `timeoutMs` (default 30 s).
   */
  waitForOutcome(gid: string, options?: WaitForOutcomeOptions): Promise<FinalStatus> {
    return waitForOutcome(this.coordinator, gid, options);
  }
}
