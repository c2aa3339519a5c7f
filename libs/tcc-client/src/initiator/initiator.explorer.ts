/** Binds every provider and controller with @TccTransactional methods to this application's runner. */
import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { InitiatorHost } from './initiator.host';
import { TCC_TRANSACTIONAL } from './tcc-transactional.decorator';
import { TransactionRunner } from './transaction.runner';

@Injectable()
export class InitiatorExplorer implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly runner: TransactionRunner,
  ) {}

  onModuleInit(): void {
    InitiatorHost.started(this.runner);
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance: unknown = wrapper.instance;
      if (!instance || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance) as object | null;
      if (!prototype) continue;
      const transactional = this.scanner.getAllMethodNames(prototype).some((name) => {
        const method: unknown = (prototype as Record<string, unknown>)[name];
        return typeof method === 'function' && Reflect.hasMetadata(TCC_TRANSACTIONAL, method);
      });
      if (transactional) InitiatorHost.bind(instance, this.runner);
    }
  }

  onApplicationShutdown(): void {
    InitiatorHost.stopped(this.runner);
  }
}
