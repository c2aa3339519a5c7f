/**
 * The participant `stock`: try moves the quantity from available to reserved, confirm drops the
 * reservation (the goods are sold), cancel moves it back. Every statement runs through the
 * EntityManager the library hands in, inside the local transaction that also writes the barrier row.
 */
import { Injectable } from '@nestjs/common';
import { BranchRefusal, TccCancel, TccConfirm, TccParticipant, TccTry, execute, type BranchCall } from '@tcc/client';
import type { EntityManager } from 'typeorm';
import { reservationOf } from './reservation';

@Injectable()
@TccParticipant('stock')
export class StockParticipant {
  @TccTry()
  async reserve(call: BranchCall, manager: EntityManager): Promise<{ reserved: number }> {
    const { sku, quantity } = reservationOf(call);
    const changed = await execute(
      manager,
      'UPDATE stock SET available = available - ?, reserved = reserved + ? WHERE sku = ? AND available >= ?',
      [quantity, quantity, sku, quantity],
    );
    if (changed !== 1) throw new BranchRefusal('OUT_OF_STOCK', `fewer than ${quantity} ${sku} available`);
    return { reserved: quantity };
  }

  @TccConfirm()
  async sell(call: BranchCall, manager: EntityManager): Promise<void> {
    const { sku, quantity } = reservationOf(call);
    const changed = await execute(manager, 'UPDATE stock SET reserved = reserved - ? WHERE sku = ? AND reserved >= ?', [quantity, sku, quantity]);
    if (changed !== 1) throw new Error(`confirm of ${call.gid}: no reservation of ${quantity} ${sku}`);
  }

  @TccCancel()
  async release(call: BranchCall, manager: EntityManager): Promise<void> {
    const { sku, quantity } = reservationOf(call);
    const changed = await execute(
      manager,
      'UPDATE stock SET available = available + ?, reserved = reserved - ? WHERE sku = ? AND reserved >= ?',
      [quantity, quantity, sku, quantity],
    );
    if (changed !== 1) throw new Error(`cancel of ${call.gid}: no reservation of ${quantity} ${sku}`);
  }
}
