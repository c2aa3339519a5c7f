/**
 * Answers a reconcile call (docs/contract.md §13), the same for HTTP and gRPC: the branch's barrier
 * rows and, when the participant has a @TccReconcile() method, its business view, both read in one
 * local transaction so they describe the same moment. Reads only; writes nothing.
 */
import { Inject, Injectable } from '@nestjs/common';
import { BUSINESS_STATES, type BusinessView, type ReconcileAnswer } from '../protocol';
import { BarrierStore } from '../barrier/barrier.store';
import { runLocalTransaction } from '../sql/local-transaction.runner';
import { ResolvedTccOptions, TCC_OPTIONS } from '../tcc.options';
import type { BranchCall } from './branch-call.types';
import { ParticipantDatabase } from './participant-database.provider';
import { ParticipantRegistry } from './participant.registry';

export type ReconcileResult = { kind: 'done'; answer: ReconcileAnswer } | { kind: 'not-found'; message: string };

/** A @TccReconcile() method answered something that is no BusinessView: a bug of the participant, answered as a failure. */
export class InvalidBusinessViewError extends Error {}

function businessView(participant: string, value: unknown): BusinessView {
  const view = value as { state?: unknown; detail?: unknown } | null;
  if (!view || typeof view !== 'object' || !BUSINESS_STATES.includes(view.state as BusinessView['state'])) {
    throw new InvalidBusinessViewError(
      `participant "${participant}": its @TccReconcile() method must return { state: ${BUSINESS_STATES.map((s) => `'${s}'`).join(' | ')}, detail? }`,
    );
  }
  return view.detail === undefined ? { state: view.state as BusinessView['state'] } : { state: view.state as BusinessView['state'], detail: view.detail as BusinessView['detail'] };
}

@Injectable()
export class ParticipantReconciler {
  private store: BarrierStore | undefined;

  constructor(
    private readonly registry: ParticipantRegistry,
    private readonly database: ParticipantDatabase,
    @Inject(TCC_OPTIONS) private readonly options: ResolvedTccOptions,
  ) {}

  async answer(participant: string, call: BranchCall): Promise<ReconcileResult> {
    const registered = this.registry.get(participant);
    if (!registered) return { kind: 'not-found', message: `unknown participant "${participant}"` };
    const database = this.database.get();
    const store = (this.store ??= new BarrierStore(database.dialect));
    const { rows, business } = await runLocalTransaction(database, async (sql, tx) => ({
      rows: await store.rowsOf(sql, call.gid, call.branchId),
      business: registered.reconcile ? businessView(participant, await registered.reconcile(call, tx)) : null,
    }));
    return {
      kind: 'done',
      answer: {
        gid: call.gid,
        branchId: call.branchId,
        participant,
        kind: registered.kind,
        rows,
        business,
        retentionMs: this.options.barrierCleanup.retentionMs,
        now: Date.now(),
      },
    };
  }
}
