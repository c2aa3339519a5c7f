/**
 * Runs one participant call: the barrier and the business method in one local transaction, so the
 * barrier row exists exactly when the business change does.
 */
import { Injectable, Logger } from '@nestjs/common';
import type { BranchPhase } from '../protocol';
import { BranchBarrier } from '../barrier/branch.barrier';
import { runLocalTransaction } from '../sql/local-transaction.runner';
import type { BranchCall } from './branch-call.types';
import { ParticipantDatabase } from './participant-database.provider';
import { ParticipantRegistry } from './participant.registry';

/** `applied`: the business method ran; `duplicate` and `empty-rollback`: done without running it. */
export type CallOutcome = 'applied' | 'duplicate' | 'empty-rollback';

/**
 * `hanging`: a try after its cancel; `not-tried`: a confirm with no try before it, rolled back
 * whole (see BranchBarrier). Answered by answerOf (participant.answer.ts).
 */
export type DispatchResult =
  | { kind: 'done'; outcome: CallOutcome; result: unknown }
  | { kind: 'hanging' }
  | { kind: 'not-tried' }
  | { kind: 'unknown-participant' };

/** Thrown inside the local transaction to roll a not-tried confirm's barrier row back; never leaves dispatch. */
class NotTried extends Error {}

@Injectable()
export class ParticipantDispatcher {
  private readonly logger = new Logger('TccParticipant');
  private barrier: BranchBarrier | undefined;

  constructor(
    private readonly registry: ParticipantRegistry,
    private readonly database: ParticipantDatabase,
  ) {}

  async dispatch(participant: string, phase: BranchPhase, call: BranchCall): Promise<DispatchResult> {
    const registered = this.registry.get(participant);
    if (!registered) return { kind: 'unknown-participant' };
    const method = registered.methods[phase];
    const database = this.database.get();
    const barrier = (this.barrier ??= new BranchBarrier(database.dialect));
    // The ORM's own transaction handle (EntityManager, Drizzle tx, Kysely Transaction, PoolClient...) goes to the method.
    const result = await runLocalTransaction(database, async (sql, tx): Promise<DispatchResult> => {
      const decision = await barrier.enter(sql, call.gid, call.branchId, phase);
      switch (decision) {
        case 'hanging':
          return { kind: 'hanging' };
        case 'not-tried':
          throw new NotTried();
        case 'duplicate':
        case 'empty-rollback':
          return { kind: 'done', outcome: decision, result: null };
        case 'proceed':
          return { kind: 'done', outcome: 'applied', result: (await method!(call, tx)) ?? null };
      }
    }).catch((error: unknown): DispatchResult => {
      if (error instanceof NotTried) return { kind: 'not-tried' };
      throw error;
    });
    this.logger.debug({
      gid: call.gid,
      branchId: call.branchId,
      participant,
      phase,
      msg: `${phase} ${result.kind === 'done' ? result.outcome : result.kind}`,
    });
    return result;
  }
}
