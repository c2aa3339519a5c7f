/**
 * @tcc/client/testing: what tests of this library (and of apps built on it) read, kept out of the
 * main index. `localTransactionStats` counts, process-wide, the deadlock victims the local
 * transaction retried, so a test can assert the barrier never deadlocks.
 */
export { localTransactionStats } from '../sql/local-transaction.runner';
