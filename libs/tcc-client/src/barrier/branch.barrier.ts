/**
 * The barrier of DESIGN.md §5. It runs first inside the participant's local transaction and decides
 * whether the business method may run:
 * - try: insert (try); a duplicate whose row a cancel wrote means the try is hanging and is refused.
 * - confirm: insert (confirm); a duplicate is an idempotent repeat.
 * - cancel: insert (cancel), then insert-ignore (try) on the try's behalf: if that insert succeeds no
 *   try ever ran (empty rollback), and any try arriving later meets the row and is refused.
 * Cancel inserts its own row before the try marker so two copies of one cancel meet on their own key
 * first; a try and a cancel of one branch meet only on the try key, whose record lock orders them and
 * neither holds any other lock the other waits for, so they cannot deadlock under REPEATABLE READ.
 */
import type { EntityManager } from 'typeorm';
import type { BranchPhase } from '../protocol';
import { BarrierStore } from './barrier.store';

/** `proceed`: run the business method; the others answer without touching business data. */
export type BarrierDecision = 'proceed' | 'duplicate' | 'empty-rollback' | 'hanging';

export class BranchBarrier {
  constructor(private readonly store = new BarrierStore()) {}

  async enter(manager: EntityManager, gid: string, branchId: string, phase: BranchPhase): Promise<BarrierDecision> {
    switch (phase) {
      case 'try': {
        if (await this.store.insert(manager, gid, branchId, 'try', 'try')) return 'proceed';
        const writer = await this.store.reasonOf(manager, gid, branchId, 'try');
        return writer === 'cancel' ? 'hanging' : 'duplicate';
      }
      case 'confirm':
        return (await this.store.insert(manager, gid, branchId, 'confirm', 'confirm')) ? 'proceed' : 'duplicate';
      case 'cancel': {
        if (!(await this.store.insert(manager, gid, branchId, 'cancel', 'cancel'))) return 'duplicate';
        const tryNeverRan = await this.store.insert(manager, gid, branchId, 'try', 'cancel');
        return tryNeverRan ? 'empty-rollback' : 'proceed';
      }
    }
  }
}
