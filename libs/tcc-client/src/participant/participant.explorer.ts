/**
 * At start-up, finds every provider marked @TccParticipant, checks it has exactly one try, confirm
 * and cancel method (a missing partner stops start-up with a message naming class and method), and
 * registers it for ParticipantController. When there are participants, their database must be one
 * the barrier speaks (another type stops start-up, naming it and the supported ones), and at
 * bootstrap it must hold the barrier table (a missing one stops start-up naming how to create it;
 * an unreachable database is only a warning, or a missing table too with `barrierTableCheck: 'warn'`).
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { BranchPhase } from '../protocol';
import type { BranchMethod } from './branch-call.types';
import { ParticipantDefinitionError } from './participant-definition.error';
import { TCC_PARTICIPANT, TCC_PHASE } from './participant.metadata';
import { ParticipantRegistry } from './participant.registry';
import { ParticipantDatabase } from './participant-database.provider';
import { BarrierTableMissingError, checkBarrierTable } from '../barrier/barrier-table.check';
import { ResolvedTccOptions, TCC_OPTIONS } from '../tcc.options';

const DECORATOR: Partial<Record<BranchPhase, string>> = { try: '@TccTry()', confirm: '@TccConfirm()', cancel: '@TccCancel()' };

@Injectable()
export class ParticipantExplorer implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('TccParticipant');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly registry: ParticipantRegistry,
    private readonly database: ParticipantDatabase,
    @Inject(TCC_OPTIONS) private readonly options: ResolvedTccOptions,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      this.explore(instance);
    }
    // Finds the ORM instance and its dialect now: an unsupported database stops start-up here.
    if (this.registry.size > 0) this.database.get();
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.registry.size === 0) return;
    try {
      await checkBarrierTable(this.database.adapter, this.database.get());
    } catch (error) {
      if (error instanceof BarrierTableMissingError && this.options.barrierTableCheck === 'stop') throw error;
      this.logger.warn({
        msg: error instanceof BarrierTableMissingError ? error.message : 'tcc barrier: could not check the barrier table at start-up',
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private explore(instance: object): void {
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown> | null;
    if (!prototype) return;
    const className = instance.constructor.name;
    const name = Reflect.getMetadata(TCC_PARTICIPANT, instance.constructor) as string | undefined;
    const found: Partial<Record<BranchPhase, string>> = {};
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      const method = prototype[methodName];
      if (typeof method !== 'function') continue;
      const phase = Reflect.getMetadata(TCC_PHASE, method) as BranchPhase | undefined;
      if (!phase) continue;
      if (found[phase]) {
        throw new ParticipantDefinitionError(
          `${className}: both ${found[phase]}() and ${methodName}() are marked ${DECORATOR[phase]}; a participant has one of each`,
        );
      }
      found[phase] = methodName;
    }
    const marked = Object.entries(found);
    if (!name) {
      if (marked.length > 0) {
        const [phase, methodName] = marked[0] as [BranchPhase, string];
        throw new ParticipantDefinitionError(
          `${className}.${methodName}() is marked ${DECORATOR[phase]} but ${className} has no @TccParticipant(name)`,
        );
      }
      return;
    }
    if (!found.try) {
      throw new ParticipantDefinitionError(`${className} (participant "${name}") has no ${DECORATOR.try} method`);
    }
    for (const partner of ['confirm', 'cancel'] as const) {
      if (!found[partner]) {
        throw new ParticipantDefinitionError(
          `${className}.${found.try}() (participant "${name}") has no ${DECORATOR[partner]} partner method in ${className}`,
        );
      }
    }
    const bind = (methodName: string): BranchMethod<unknown> => (prototype[methodName] as BranchMethod<unknown>).bind(instance);
    this.registry.add({
      name,
      className,
      methods: { try: bind(found.try), confirm: bind(found.confirm as string), cancel: bind(found.cancel as string) },
    });
  }
}
