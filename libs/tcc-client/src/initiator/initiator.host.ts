/**
 * A decorator has no injection, so the wrapper finds its TransactionRunner here: the explorer binds
 * each provider instance with @TccTransactional methods to its own application's runner (several
 * applications can live in one process, as in tests); instances Nest did not create use the most
 * recently started one.
 */
import type { TransactionRunner } from './transaction.runner';

const bound = new WeakMap<object, TransactionRunner>();
const started: TransactionRunner[] = [];

export const InitiatorHost = {
  bind(instance: object, runner: TransactionRunner): void {
    bound.set(instance, runner);
  },

  started(runner: TransactionRunner): void {
    started.push(runner);
  },

  stopped(runner: TransactionRunner): void {
    const index = started.lastIndexOf(runner);
    if (index >= 0) started.splice(index, 1);
  },

  resolve(instance: unknown): TransactionRunner {
    const runner = (instance && typeof instance === 'object' ? bound.get(instance) : undefined) ?? started[started.length - 1];
    if (!runner) throw new Error('@TccTransactional() used before TccModule started: import TccModule.forRoot() in the application');
    return runner;
  },
};
