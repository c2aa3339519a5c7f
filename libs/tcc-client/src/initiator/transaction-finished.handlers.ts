/**
 * The completion callbacks of this service (docs/contract.md §11): at start-up, every provider
 * method marked @OnTransactionFinished() (a method that is not a function, or a class marking two,
 * stops the start naming the class); then each callback the coordinator sends, already checked
 * (syntax, signature) by the endpoint that received it, is handed to every handler in turn. The
 * endpoints (HTTP `POST /<prefix>/callback`, gRPC `tcc.v1.Initiator/Finished`) answer success only
 * once every handler returned, so a handler that throws gets the callback again.
 */
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { TransactionFinished } from '../protocol';
import { ParticipantDefinitionError } from '../participant/participant-definition.error';
import { TCC_ON_TRANSACTION_FINISHED } from './on-transaction-finished.decorator';

type Handler = { className: string; method: string; call: (event: TransactionFinished) => unknown };

/** No @OnTransactionFinished() handler here: the callback is refused (and retried by the coordinator). */
export class NoFinishedHandlerError extends Error {}

@Injectable()
export class TransactionFinishedHandlers implements OnModuleInit {
  private readonly logger = new Logger('TccCallbacks');
  private readonly handlers: Handler[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  onModuleInit(): void {
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance: unknown = wrapper.instance;
      if (!instance || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance) as object | null;
      if (!prototype) continue;
      const className = instance.constructor?.name ?? 'anonymous';
      const marked = this.scanner.getAllMethodNames(prototype).filter((name) => {
        const method: unknown = (prototype as Record<string, unknown>)[name];
        return typeof method === 'function' && Reflect.getMetadata(TCC_ON_TRANSACTION_FINISHED, method) === true;
      });
      if (marked.length > 1) {
        throw new ParticipantDefinitionError(`${className} marks ${marked.join(' and ')} with @OnTransactionFinished(): one method per class receives the callback`);
      }
      for (const method of marked) {
        const fn = (instance as Record<string, (event: TransactionFinished) => unknown>)[method];
        this.handlers.push({ className, method, call: (event) => fn.call(instance, event) });
      }
    }
    if (this.handlers.length > 0) {
      this.logger.log({ msg: 'completion callbacks handled here', handlers: this.handlers.map((h) => `${h.className}.${h.method}`) });
    }
  }

  /** Whether any handler is declared: then this service's begins, sagas and messages ask for the callback. */
  get any(): boolean {
    return this.handlers.length > 0;
  }

  /** Runs every handler with `event`, in turn; throws the first failure (the coordinator then sends it again). */
  async deliver(event: TransactionFinished): Promise<void> {
    if (this.handlers.length === 0) throw new NoFinishedHandlerError('no @OnTransactionFinished() handler in this service');
    for (const handler of this.handlers) await handler.call(event);
  }
}
