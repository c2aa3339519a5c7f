/**
 * At start-up, finds every provider marked @TccParticipant, checks it is one kind of participant with
 * exactly one method per phase of that kind: TCC (try, confirm, cancel), saga (action, compensate) or
 * message (message alone); a missing partner, a method of another kind or a marked method on a class
 * that is no participant stops start-up with a message naming class and method. Then it registers
 * it for ParticipantController and the gRPC server. When there are participants, their database must be one
 * the barrier speaks (another type stops start-up, naming it and the supported ones), and at
 * bootstrap it must hold the barrier table (a missing one stops start-up naming how to create it;
 * an unreachable database is only a warning, or a missing table too with `barrierTableCheck: 'warn'`).
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { ParticipantPhase } from '../barrier/branch.barrier';
import type { BranchMethod } from './branch-call.types';
import { ParticipantDefinitionError } from './participant-definition.error';
import { TCC_PARTICIPANT, TCC_PHASE, TCC_RECONCILE } from './participant.metadata';
import { PHASES_OF_KIND, ParticipantRegistry, type ParticipantKind } from './participant.registry';
import { ParticipantDatabase } from './participant-database.provider';
import { BarrierTableMissingError, checkBarrierTable } from '../barrier/barrier-table.check';
import { ResolvedTccOptions, TCC_OPTIONS } from '../tcc.options';

const DECORATOR: Record<ParticipantPhase, string> = {
  try: '@TccTry()',
  confirm: '@TccConfirm()',
  cancel: '@TccCancel()',
  action: '@SagaAction()',
  compensate: '@SagaCompensate()',
  message: '@MessageHandler()',
};
const KIND_OF: Record<ParticipantPhase, ParticipantKind> = {
  try: 'tcc',
  confirm: 'tcc',
  cancel: 'tcc',
  action: 'saga',
  compensate: 'saga',
  message: 'message',
};
const KIND_NAME: Record<ParticipantKind, string> = { tcc: 'TCC participant', saga: 'saga participant', message: 'message handler' };
const KINDS =
  'a TCC participant (@TccTry, @TccConfirm, @TccCancel), a saga participant (@SagaAction, @SagaCompensate) or a message handler (@MessageHandler alone)';
const ALL_PHASES = Object.values(PHASES_OF_KIND).flat();

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
    const found: Partial<Record<ParticipantPhase, string>> = {};
    let reconcileMethod: string | undefined;
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      const method = prototype[methodName];
      if (typeof method !== 'function') continue;
      if (Reflect.getMetadata(TCC_RECONCILE, method)) {
        if (reconcileMethod) {
          throw new ParticipantDefinitionError(`${className}: both ${reconcileMethod}() and ${methodName}() are marked @TccReconcile(); a participant has at most one`);
        }
        reconcileMethod = methodName;
      }
      const phase = Reflect.getMetadata(TCC_PHASE, method) as ParticipantPhase | undefined;
      if (!phase) continue;
      if (found[phase]) {
        throw new ParticipantDefinitionError(
          `${className}: both ${found[phase]}() and ${methodName}() are marked ${DECORATOR[phase]}; a participant has one of each`,
        );
      }
      found[phase] = methodName;
    }
    // In the order of PHASES_OF_KIND, so the leading method (try, action) is named first.
    const marked = ALL_PHASES.filter((phase) => found[phase]).map((phase) => [phase, found[phase] as string] as const);
    if (!name) {
      if (reconcileMethod) {
        throw new ParticipantDefinitionError(`${className}.${reconcileMethod}() is marked @TccReconcile() but ${className} has no @TccParticipant(name)`);
      }
      if (marked.length > 0) {
        const [phase, methodName] = marked[0];
        throw new ParticipantDefinitionError(
          `${className}.${methodName}() is marked ${DECORATOR[phase]} but ${className} has no @TccParticipant(name)`,
        );
      }
      return;
    }
    if (marked.length === 0) {
      throw new ParticipantDefinitionError(`${className} (participant "${name}") has no marked method: it must be ${KINDS}`);
    }
    const [firstPhase, firstMethod] = marked[0];
    const kind = KIND_OF[firstPhase];
    const other = marked.find(([phase]) => KIND_OF[phase] !== kind);
    if (other) {
      throw new ParticipantDefinitionError(
        `${className}.${other[1]}() is marked ${DECORATOR[other[0]]} but ${className} (participant "${name}") is a ${KIND_NAME[kind]} ` +
          `(${firstMethod}() is marked ${DECORATOR[firstPhase]}): a participant is one kind, ${KINDS}`,
      );
    }
    const methods: Partial<Record<ParticipantPhase, BranchMethod<unknown>>> = {};
    for (const phase of PHASES_OF_KIND[kind]) {
      const methodName = found[phase];
      if (!methodName) {
        throw new ParticipantDefinitionError(
          `${className}.${firstMethod}() (participant "${name}") has no ${DECORATOR[phase]} partner method in ${className}`,
        );
      }
      methods[phase] = (prototype[methodName] as BranchMethod<unknown>).bind(instance);
    }
    const reconcile = reconcileMethod ? (prototype[reconcileMethod] as BranchMethod<unknown>).bind(instance) : undefined;
    this.registry.add({ name, className, kind, methods, ...(reconcile ? { reconcile } : {}) });
  }
}
