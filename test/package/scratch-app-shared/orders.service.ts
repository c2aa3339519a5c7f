/**
 * The initiator: placing an order is one global transaction with the stock branch. Shared by both
 * scratch apps (copied into each one's src/): it imports packages only, so it compiles as CommonJS
 * and as an ES module alike.
 */
import { BadRequestException, Injectable } from '@nestjs/common';
import { BranchRefusedError, TccInitiator, TccTransactional } from '@tcc/client';
import type { JsonValue } from '@tcc/client';

export interface OrderRequest {
  sku: string;
  quantity: number;
  /** Throw after the try succeeded, so the transaction rolls back. */
  fail: boolean;
}

/** Thrown on purpose after the try; carries the gid so the caller can follow the rollback. */
export class OrderAbandoned extends Error {
  constructor(readonly gid: string) {
    super(`order ${gid} abandoned after its stock was reserved`);
    this.name = 'OrderAbandoned';
  }
}

@Injectable()
export class OrdersService {
  constructor(private readonly tcc: TccInitiator) {}

  @TccTransactional({ timeoutMs: 20_000 })
  async place(order: OrderRequest): Promise<{ gid: string; tryAnswer: JsonValue | undefined }> {
    const tryAnswer = await this.tcc.branch({ participant: 'stock', payload: { sku: order.sku, quantity: order.quantity } });
    if (order.fail) throw new OrderAbandoned(this.tcc.gid);
    return { gid: this.tcc.gid, tryAnswer };
  }
}

export type OrderAnswer =
  | { outcome: 'committed'; gid: string; tryAnswer: JsonValue | undefined }
  | { outcome: 'abandoned'; gid: string }
  | { outcome: 'refused'; gid: string; code: string; statusCode: number };

function orderOf(body: unknown): OrderRequest {
  const { sku, quantity, fail } = (body ?? {}) as Record<string, unknown>;
  if (typeof sku !== 'string' || typeof quantity !== 'number' || (fail !== undefined && typeof fail !== 'boolean')) {
    throw new BadRequestException('body must be { sku: string, quantity: number, fail?: boolean }');
  }
  return { sku, quantity, fail: fail === true };
}

/** POST /orders of both apps: the body checked, the order placed, the outcome as the test reads it. */
export async function placeOrder(orders: OrdersService, body: unknown): Promise<OrderAnswer> {
  try {
    const { gid, tryAnswer } = await orders.place(orderOf(body));
    return { outcome: 'committed', gid, tryAnswer };
  } catch (error) {
    if (error instanceof OrderAbandoned) return { outcome: 'abandoned', gid: error.gid };
    if (error instanceof BranchRefusedError) return { outcome: 'refused', gid: error.gid, code: error.code, statusCode: error.statusCode };
    throw error;
  }
}
