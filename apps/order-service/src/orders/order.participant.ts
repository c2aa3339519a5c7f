/** The TCC branch "order": try writes the order PENDING, confirm marks it PAID, cancel CANCELLED. */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { BranchCall, BranchRefusal, TccCancel, TccConfirm, TccParticipant, TccTry } from '@tcc/client';
import { OrderStore } from './order.store';

export const ORDER_BRANCH = 'order';

export interface OrderPayload {
  orderId: string;
  accountId: string;
  amount: number;
}

function parsePayload(payload: unknown): OrderPayload {
  const candidate = (payload ?? {}) as Partial<Record<keyof OrderPayload, unknown>>;
  if (typeof candidate.orderId !== 'string' || typeof candidate.accountId !== 'string' || typeof candidate.amount !== 'number') {
    throw new BranchRefusal('INVALID_PAYLOAD', 'payload must be { orderId, accountId, amount }', 400);
  }
  return candidate as OrderPayload;
}

@TccParticipant(ORDER_BRANCH)
@Injectable()
export class OrderParticipant {
  constructor(private readonly store: OrderStore) {}

  @TccTry()
  async create(call: BranchCall, manager: EntityManager): Promise<void> {
    const { orderId, accountId, amount } = parsePayload(call.payload);
    await this.store.insertPending(manager, { id: orderId, accountId, amount, gid: call.gid });
  }

  @TccConfirm()
  async pay(call: BranchCall, manager: EntityManager): Promise<void> {
    if (await this.store.settle(manager, call.gid, 'PAID')) return;
    const order = await this.store.findByGid(manager, call.gid);
    if (order?.status !== 'PAID') throw new Error(`confirm of ${call.gid}: order is ${order?.status ?? 'missing'}, not PENDING`);
  }

  @TccCancel()
  async cancel(call: BranchCall, manager: EntityManager): Promise<void> {
    if (await this.store.settle(manager, call.gid, 'CANCELLED')) return;
    const order = await this.store.findByGid(manager, call.gid);
    if (order && order.status !== 'CANCELLED') throw new Error(`cancel of ${call.gid}: order is ${order.status}, not PENDING`);
  }
}
