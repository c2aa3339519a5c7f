/** The stock branch's payload, read and checked the same way by both scratch apps' participants (copied into each one's src/). */
import type { BranchCall } from '@tcc/client';

export interface Reservation {
  sku: string;
  quantity: number;
}

export function reservationOf(call: BranchCall): Reservation {
  const payload = call.payload;
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw new Error('payload must be an object');
  const { sku, quantity } = payload;
  if (typeof sku !== 'string' || typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity <= 0) {
    throw new Error(`payload must be { sku: string, quantity: positive integer }, not ${JSON.stringify(payload)}`);
  }
  return { sku, quantity };
}
