/**
 * The only code that writes account SQL. Every change to `balance` and `frozen` is one conditional
 * UPDATE whose WHERE clause keeps `0 <= frozen <= balance`; callers check the affected-row count and
 * never compute a new balance from a value they read.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { execute, dialectOf, select, type SqlDialect } from '@tcc/client';

export interface AccountRow {
  id: string;
  balance: number;
  frozen: number;
  points: number;
}

export type CreditStatus = 'CREDITED' | 'REVERSED';

export interface CreditRow {
  accountId: string;
  amount: number;
  status: CreditStatus;
}

export type FreezeStatus = 'FROZEN' | 'CONFIRMED' | 'RELEASED';

export interface FreezeRow {
  accountId: string;
  amount: number;
  status: FreezeStatus;
}

const CREATE: Record<SqlDialect, string> = {
  mysql: 'INSERT IGNORE INTO accounts (id, balance, frozen, created_at) VALUES (?, ?, 0, ?)',
  sqlite: 'INSERT OR IGNORE INTO accounts (id, balance, frozen, created_at) VALUES (?, ?, 0, ?)',
  postgres: 'INSERT INTO accounts (id, balance, frozen, created_at) VALUES (?, ?, 0, ?) ON CONFLICT (id) DO NOTHING',
};

@Injectable()
export class AccountStore {
  /** false when an account with this id already exists. */
  async create(manager: EntityManager, id: string, balance: number): Promise<boolean> {
    return (await execute(manager, CREATE[dialectOf(manager)], [id, balance, Date.now()])) === 1;
  }

  async find(manager: EntityManager, id: string): Promise<AccountRow | undefined> {
    const rows = await select<AccountRow>(manager, 'SELECT id, balance, frozen, points FROM accounts WHERE id = ?', [id]);
    const row = rows[0];
    return row && { id: row.id, balance: Number(row.balance), frozen: Number(row.frozen), points: Number(row.points) };
  }

  /** Freezes `amount` if that much is available; false otherwise (or when there is no such account). */
  async freeze(manager: EntityManager, id: string, amount: number): Promise<boolean> {
    const sql = 'UPDATE accounts SET frozen = frozen + ? WHERE id = ? AND balance - frozen >= ?';
    return (await execute(manager, sql, [amount, id, amount])) === 1;
  }

  /** Moves `amount` out of the account: it must be frozen. */
  async deduct(manager: EntityManager, id: string, amount: number): Promise<boolean> {
    const sql = 'UPDATE accounts SET balance = balance - ?, frozen = frozen - ? WHERE id = ? AND frozen >= ? AND balance >= ?';
    return (await execute(manager, sql, [amount, amount, id, amount, amount])) === 1;
  }

  async release(manager: EntityManager, id: string, amount: number): Promise<boolean> {
    const sql = 'UPDATE accounts SET frozen = frozen - ? WHERE id = ? AND frozen >= ?';
    return (await execute(manager, sql, [amount, id, amount])) === 1;
  }

  /** What a try froze, so confirm and cancel use that amount and never one from their request. */
  async recordFreeze(manager: EntityManager, gid: string, branchId: string, accountId: string, amount: number): Promise<void> {
    const now = Date.now();
    await execute(
      manager,
      'INSERT INTO account_freezes (gid, branch_id, account_id, amount, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [gid, branchId, accountId, amount, 'FROZEN', now, now],
    );
  }

  async findFreeze(manager: EntityManager, gid: string, branchId: string): Promise<FreezeRow | undefined> {
    const rows = await select<{ account_id: string; amount: number | string; status: FreezeStatus }>(
      manager,
      'SELECT account_id, amount, status FROM account_freezes WHERE gid = ? AND branch_id = ?',
      [gid, branchId],
    );
    const row = rows[0];
    return row && { accountId: row.account_id, amount: Number(row.amount), status: row.status };
  }

  /** Moves a freeze out of FROZEN; false when it already left it (a second line of idempotency). */
  async settleFreeze(manager: EntityManager, gid: string, branchId: string, status: Exclude<FreezeStatus, 'FROZEN'>): Promise<boolean> {
    const sql = "UPDATE account_freezes SET status = ?, updated_at = ? WHERE gid = ? AND branch_id = ? AND status = 'FROZEN'";
    return (await execute(manager, sql, [status, Date.now(), gid, branchId])) === 1;
  }

  /** A refund's credit, recorded with the money it moves, so its compensation takes back exactly that. */
  async credit(manager: EntityManager, gid: string, branchId: string, accountId: string, orderId: string, amount: number): Promise<boolean> {
    const now = Date.now();
    await execute(
      manager,
      'INSERT INTO account_credits (gid, branch_id, account_id, order_id, amount, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [gid, branchId, accountId, orderId, amount, 'CREDITED', now, now],
    );
    return (await execute(manager, 'UPDATE accounts SET balance = balance + ? WHERE id = ?', [amount, accountId])) === 1;
  }

  async findCredit(manager: EntityManager, gid: string, branchId: string): Promise<CreditRow | undefined> {
    const rows = await select<{ account_id: string; amount: number | string; status: CreditStatus }>(
      manager,
      'SELECT account_id, amount, status FROM account_credits WHERE gid = ? AND branch_id = ?',
      [gid, branchId],
    );
    const row = rows[0];
    return row && { accountId: row.account_id, amount: Number(row.amount), status: row.status };
  }

  /**
   * Takes a credit back (the refund saga compensating): false when it was reversed already, or when
   * the account no longer has that much available (the compensation is then retried until it has).
   */
  async reverseCredit(manager: EntityManager, gid: string, branchId: string, credit: CreditRow): Promise<boolean> {
    const settled = await execute(
      manager,
      "UPDATE account_credits SET status = 'REVERSED', updated_at = ? WHERE gid = ? AND branch_id = ? AND status = 'CREDITED'",
      [Date.now(), gid, branchId],
    );
    if (settled !== 1) return false;
    const sql = 'UPDATE accounts SET balance = balance - ? WHERE id = ? AND balance - frozen >= ?';
    return (await execute(manager, sql, [credit.amount, credit.accountId, credit.amount])) === 1;
  }

  /** The award a loyalty-points message made (reconciliation's business view). */
  async findAwardOf(manager: EntityManager, gid: string): Promise<{ orderId: string; accountId: string; points: number } | undefined> {
    const rows = await select<{ order_id: string; account_id: string; points: number | string }>(
      manager,
      'SELECT order_id, account_id, points FROM points_awards WHERE gid = ?',
      [gid],
    );
    const row = rows[0];
    return row && { orderId: row.order_id, accountId: row.account_id, points: Number(row.points) };
  }

  /** Awards an order's points once: false when that order's points were awarded already. */
  async awardPoints(manager: EntityManager, orderId: string, accountId: string, points: number, gid: string): Promise<boolean> {
    const insert = {
      mysql: 'INSERT IGNORE INTO points_awards (order_id, account_id, points, gid, created_at) VALUES (?, ?, ?, ?, ?)',
      sqlite: 'INSERT OR IGNORE INTO points_awards (order_id, account_id, points, gid, created_at) VALUES (?, ?, ?, ?, ?)',
      postgres: 'INSERT INTO points_awards (order_id, account_id, points, gid, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING',
    }[dialectOf(manager)];
    if ((await execute(manager, insert, [orderId, accountId, points, gid, Date.now()])) !== 1) return false;
    return (await execute(manager, 'UPDATE accounts SET points = points + ? WHERE id = ?', [points, accountId])) === 1;
  }
}
