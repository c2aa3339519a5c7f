/**
 * `@TccTransactional({ timeoutMs })`: the method runs as one global transaction (see
 * TransactionRunner). A nested decorated call joins the current one. The wrapper keeps the original
 * method's name and reflect metadata, so other decorators (guards, routes, ...) still see them.
 */
import { InitiatorHost } from './initiator.host';
import type { TransactionalOptions } from './transaction.runner';

export const TCC_TRANSACTIONAL = 'tcc:transactional';

type AsyncMethod = (...args: never[]) => Promise<unknown>;

export function TccTransactional(options: TransactionalOptions = {}): MethodDecorator {
  return (_target, propertyKey, descriptor) => {
    const original = descriptor.value as unknown;
    if (typeof original !== 'function') {
      throw new Error(`@TccTransactional() can only decorate a method, not ${String(propertyKey)}`);
    }
    const method = original as AsyncMethod;
    const wrapper = async function (this: unknown, ...args: never[]): Promise<unknown> {
      return InitiatorHost.resolve(this).run(options, () => Promise.resolve(method.apply(this, args)));
    };
    for (const key of Reflect.getMetadataKeys(method)) {
      Reflect.defineMetadata(key, Reflect.getMetadata(key, method), wrapper);
    }
    Reflect.defineMetadata(TCC_TRANSACTIONAL, options, wrapper);
    Object.defineProperty(wrapper, 'name', { value: method.name });
    (descriptor as TypedPropertyDescriptor<unknown>).value = wrapper;
    return descriptor;
  };
}
