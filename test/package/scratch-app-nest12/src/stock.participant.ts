/**
 * The participant `stock`: try moves the quantity from available to reserved, confirm drops the
 * reservation (the goods are sold), cancel moves it back. Every statement runs through the Drizzle
 * transaction the library hands in, the local transaction that also writes the barrier row.
 */
import { Injectable } from '@nestjs/common';
import { BranchRefusal, TccCancel, TccConfirm, TccParticipant, TccTry } from '@tcc/client';
import type { BranchCall } from '@tcc/client';
import { and, eq, gte, sql } from 'drizzle-orm';
import type { Database } from './database.js';
import { stock } from './stock.schema.js';
import { reservationOf } from './reservation.js';

/** Drizzle's transaction handle over node-postgres. */
type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

@Injectable()
@TccParticipant('stock')
export class StockParticipant {
  @TccTry()
  async reserve(call: BranchCall, tx: Transaction): Promise<{ reserved: number }> {
    const { sku, quantity } = reservationOf(call);
    const changed = await tx
      .update(stock)
      .set({ available: sql`${stock.available} - ${quantity}`, reserved: sql`${stock.reserved} + ${quantity}` })
      .where(and(eq(stock.sku, sku), gte(stock.available, quantity)))
      .returning({ sku: stock.sku });
    if (changed.length !== 1) throw new BranchRefusal('OUT_OF_STOCK', `fewer than ${quantity} ${sku} available`);
    return { reserved: quantity };
  }

  @TccConfirm()
  async sell(call: BranchCall, tx: Transaction): Promise<void> {
    const { sku, quantity } = reservationOf(call);
    const changed = await tx
      .update(stock)
      .set({ reserved: sql`${stock.reserved} - ${quantity}` })
      .where(and(eq(stock.sku, sku), gte(stock.reserved, quantity)))
      .returning({ sku: stock.sku });
    if (changed.length !== 1) throw new Error(`confirm of ${call.gid}: no reservation of ${quantity} ${sku}`);
  }

  @TccCancel()
  async release(call: BranchCall, tx: Transaction): Promise<void> {
    const { sku, quantity } = reservationOf(call);
    const changed = await tx
      .update(stock)
      .set({ available: sql`${stock.available} + ${quantity}`, reserved: sql`${stock.reserved} - ${quantity}` })
      .where(and(eq(stock.sku, sku), gte(stock.reserved, quantity)))
      .returning({ sku: stock.sku });
    if (changed.length !== 1) throw new Error(`cancel of ${call.gid}: no reservation of ${quantity} ${sku}`);
  }
}
