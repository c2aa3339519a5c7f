/**
 * The initiator: placing an order is one global transaction with the stock branch. Shared by both
 * scratch apps (copied into each one's src/): it imports packages only, so it compiles as CommonJS
 * and as an ES module alike.
 */
import { Injectable } from '@nestjs/common';
import { TccInitiator, TccTransactional } from '@tcc/client';
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
