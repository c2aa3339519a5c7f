/** The global transaction that is current for the code running inside a @TccTransactional method. */
import { AsyncLocalStorage } from 'node:async_hooks';

export class GlobalTransaction {
  private open = true;

  constructor(
    readonly gid: string,
    /** Trace context current when the transaction began, sent with each of its calls. */
    readonly traceparent: string | undefined,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  /** After the method settles no branch may join: the decision is being taken. */
  close(): void {
    this.open = false;
  }
}

export const transactionStorage = new AsyncLocalStorage<GlobalTransaction>();

export function currentTransaction(): GlobalTransaction | undefined {
  return transactionStorage.getStore();
}
