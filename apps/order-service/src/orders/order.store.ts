/**
 * The only code that writes order SQL. Status moves only by conditional UPDATEs (PENDING -> PAID or
 * CANCELLED; PAID <-> REFUNDED for a refund and its compensation), so a repeated or late call can
 * never flip a settled order.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { execute, select } from '@tcc/client';

export type OrderStatus = 'PENDING' | 'PAID' | 'CANCELLED' | 'REFUNDED';

export interface OrderRow {
  id: string;
  accountId: string;
  amount: number;
  status: OrderStatus;
  gid: string;
}

interface RawOrder {
  id: string;
  account_id: string;
  amount: number | string;
  status: OrderStatus;
  gid: string;
}

const toOrder = (row: RawOrder): OrderRow => ({
  id: row.id,
  accountId: row.account_id,
  amount: Number(row.amount),
  status: row.status,
  gid: row.gid,
});

@Injectable()
export class OrderStore {
  async insertPending(manager: EntityManager, order: Omit<OrderRow, 'status'>): Promise<void> {
    const now = Date.now();
    await execute(
      manager,
      'INSERT INTO orders (id, account_id, amount, status, gid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [order.id, order.accountId, order.amount, 'PENDING', order.gid, now, now],
    );
  }

  async find(manager: EntityManager, id: string): Promise<OrderRow | undefined> {
    const rows = await select<RawOrder>(manager, 'SELECT id, account_id, amount, status, gid FROM orders WHERE id = ?', [id]);
    return rows[0] && toOrder(rows[0]);
  }

  async findByGid(manager: EntityManager, gid: string): Promise<OrderRow | undefined> {
    const rows = await select<RawOrder>(manager, 'SELECT id, account_id, amount, status, gid FROM orders WHERE gid = ?', [gid]);
    return rows[0] && toOrder(rows[0]);
  }

  /** Settles the PENDING order of `gid`; false when there is none (already settled, or never tried). */
  async settle(manager: EntityManager, gid: string, status: 'PAID' | 'CANCELLED'): Promise<boolean> {
    const sql = "UPDATE orders SET status = ?, updated_at = ? WHERE gid = ? AND status = 'PENDING'";
    return (await execute(manager, sql, [status, Date.now(), gid])) === 1;
  }

  /** Moves order `id` from `from` to `to` (a refund: PAID -> REFUNDED; its compensation back); false when it is not in `from`. */
  async move(manager: EntityManager, id: string, from: 'PAID' | 'REFUNDED', to: 'PAID' | 'REFUNDED'): Promise<boolean> {
    const sql = 'UPDATE orders SET status = ?, updated_at = ? WHERE id = ? AND status = ?';
    return (await execute(manager, sql, [to, Date.now(), id, from])) === 1;
  }
}
