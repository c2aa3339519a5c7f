/**
 * The TCC branch "order": try writes the order PENDING, confirm marks it PAID, cancel CANCELLED.
 * Paying an order also sends it loyalty points, as a reliable message from inside the confirm's own
 * local transaction: the message is delivered if, and only if, the order was marked PAID.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { BranchCall, BranchRefusal, TccCancel, TccConfirm, TccMessages, TccParticipant, TccReconcile, TccTry, type BusinessView } from '@tcc/client';
import type { OrderConfig } from '../config/order.config';
import { ORDER_CONFIG } from './order.config.token';
import { OrderStore, type OrderStatus } from './order.store';

/**
 * What reconciliation (docs/contract.md §13) reads an order's status as: a REFUNDED order was paid
 * (its TCC transaction committed; the refund is a saga of its own).
 */
const ORDER_VIEW: Record<OrderStatus, BusinessView['state']> = { PENDING: 'tried', PAID: 'confirmed', REFUNDED: 'confirmed', CANCELLED: 'cancelled' };

/** The account service's message consumer of paid orders' points. */
export const LOYALTY_POINTS = 'loyalty-points';

/** One loyalty point per 100 of an order's amount. */
export const pointsOf = (amount: number): number => Math.floor(amount / 100);

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
  constructor(
    private readonly store: OrderStore,
    private readonly messages: TccMessages,
    @Inject(ORDER_CONFIG) private readonly config: OrderConfig,
  ) {}

  @TccTry()
  async create(call: BranchCall, manager: EntityManager): Promise<void> {
    const { orderId, accountId, amount } = parsePayload(call.payload);
    await this.store.insertPending(manager, { id: orderId, accountId, amount, gid: call.gid });
  }

  @TccConfirm()
  async pay(call: BranchCall, manager: EntityManager): Promise<void> {
    if (await this.store.settle(manager, call.gid, 'PAID')) {
      const paid = await this.store.findByGid(manager, call.gid);
      if (!paid) throw new Error(`confirm of ${call.gid}: the order it paid is gone`);
      const grpc = this.config.accountBranchProtocol === 'grpc';
      await this.messages.sendInTransaction({
        steps: [
          {
            participant: LOYALTY_POINTS,
            branchId: 'points',
            protocol: this.config.accountBranchProtocol,
            service: grpc ? this.config.accountServiceGrpcAddress : this.config.accountServiceUrl,
            payload: { orderId: paid.id, accountId: paid.accountId, points: pointsOf(paid.amount) },
          },
        ],
        timeoutMs: this.config.pointsMessageTimeoutMs,
        metadata: { orderId: paid.id },
      });
      return;
    }
    const order = await this.store.findByGid(manager, call.gid);
    if (order?.status !== 'PAID') throw new Error(`confirm of ${call.gid}: order is ${order?.status ?? 'missing'}, not PENDING`);
  }

  @TccCancel()
  async cancel(call: BranchCall, manager: EntityManager): Promise<void> {
    if (await this.store.settle(manager, call.gid, 'CANCELLED')) return;
    const order = await this.store.findByGid(manager, call.gid);
    if (order && order.status !== 'CANCELLED') throw new Error(`cancel of ${call.gid}: order is ${order.status}, not PENDING`);
  }

  /** Reconciliation's business view: the order of the gid (PENDING, PAID, REFUNDED, CANCELLED), or none. */
  @TccReconcile()
  async reconcile(call: BranchCall, manager: EntityManager): Promise<BusinessView> {
    const order = await this.store.findByGid(manager, call.gid);
    if (!order) return { state: 'none' };
    return { state: ORDER_VIEW[order.status], detail: { orderId: order.id, status: order.status, amount: order.amount } };
  }
}
