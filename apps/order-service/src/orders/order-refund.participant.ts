/**
 * The saga step "order refund" (docs/contract.md §9): its action marks a PAID order REFUNDED (and
 * refuses any other, so a second refund of one order fails before any money moves), its
 * compensation marks it PAID again.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { BranchCall, BranchRefusal, ID_PATTERN, SagaAction, SagaCompensate, TccParticipant } from '@tcc/client';
import { OrderStore } from './order.store';

export const ORDER_REFUND = 'order-refund';

/** Why a refund is refused: the order is not PAID (never paid, cancelled, or refunded already). */
export const ORDER_NOT_REFUNDABLE = 'ORDER_NOT_REFUNDABLE';

function orderIdOf(payload: unknown): string {
  const orderId = (payload as { orderId?: unknown } | null)?.orderId;
  if (typeof orderId !== 'string' || !ID_PATTERN.test(orderId)) throw new BranchRefusal('INVALID_PAYLOAD', 'payload must be { orderId }', 400);
  return orderId;
}

@TccParticipant(ORDER_REFUND)
@Injectable()
export class OrderRefundParticipant {
  constructor(private readonly store: OrderStore) {}

  @SagaAction()
  async refund(call: BranchCall, manager: EntityManager): Promise<void> {
    const orderId = orderIdOf(call.payload);
    if (!(await this.store.move(manager, orderId, 'PAID', 'REFUNDED'))) {
      const order = await this.store.find(manager, orderId);
      throw new BranchRefusal(ORDER_NOT_REFUNDABLE, `order ${orderId} is ${order?.status ?? 'unknown'}, not PAID`, 409);
    }
  }

  @SagaCompensate()
  async restore(call: BranchCall, manager: EntityManager): Promise<void> {
    await this.store.move(manager, orderIdOf(call.payload), 'REFUNDED', 'PAID');
  }
}
