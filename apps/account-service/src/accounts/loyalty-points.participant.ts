/**
 * The message consumer "loyalty points" (docs/contract.md §10): a paid order's points, delivered at
 * least once by the coordinator, awarded exactly once: the barrier answers a redelivery without
 * running this, and the award is keyed by the order besides.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { BranchCall, BranchRefusal, ID_PATTERN, MessageHandler, TccParticipant, TccReconcile, type BusinessView } from '@tcc/client';
import { AccountErrorCode } from './account.errors';
import { AccountStore } from './account.store';

export const LOYALTY_POINTS = 'loyalty-points';

export interface PointsPayload {
  orderId: string;
  accountId: string;
  points: number;
}

function parsePayload(payload: unknown): PointsPayload {
  const candidate = (payload ?? {}) as Partial<Record<keyof PointsPayload, unknown>>;
  const ok =
    typeof candidate.orderId === 'string' &&
    ID_PATTERN.test(candidate.orderId) &&
    typeof candidate.accountId === 'string' &&
    ID_PATTERN.test(candidate.accountId) &&
    Number.isSafeInteger(candidate.points) &&
    (candidate.points as number) >= 0;
  if (!ok) throw new BranchRefusal(AccountErrorCode.INVALID_PAYLOAD, 'payload must be { orderId, accountId, points }', 400);
  return candidate as PointsPayload;
}

@TccParticipant(LOYALTY_POINTS)
@Injectable()
export class LoyaltyPointsParticipant {
  constructor(private readonly store: AccountStore) {}

  @MessageHandler()
  async award(call: BranchCall, manager: EntityManager): Promise<void> {
    const { orderId, accountId, points } = parsePayload(call.payload);
    await this.store.awardPoints(manager, orderId, accountId, points, call.gid);
  }

  /** Reconciliation's business view (docs/contract.md §13): the award this message made (confirmed), or none. */
  @TccReconcile()
  async reconcile(call: BranchCall, manager: EntityManager): Promise<BusinessView> {
    const award = await this.store.findAwardOf(manager, call.gid);
    return award ? { state: 'confirmed', detail: award } : { state: 'none' };
  }
}
