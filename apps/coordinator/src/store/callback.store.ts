/**
 * Completion callbacks (docs/contract.md §11): which are owed, claims of them by a replica under a
 * lease, and the outcome of each attempt. A callback is owed when its transaction's status is final
 * and it is not DELIVERED: derived from the status the finish wrote, so nothing is lost between the
 * finish and the send. Every time compared is the database's.
 */
import { Injectable } from '@nestjs/common';
import { GlobalStatus } from '@tcc/client/protocol';
import { CALLBACK_COLUMNS, num, toCallback, type CallbackRecord } from './records';
import { inList, LAST_ERROR_MAX, StoreBase } from './store.sql';

const FINAL_STATUSES = [GlobalStatus.COMMITTED, GlobalStatus.ROLLED_BACK] as const;
const FINAL = inList(FINAL_STATUSES);
/** Owed: not delivered, and its transaction final. */
const OWED = `state IN ('WAITING', 'DUE') AND EXISTS (SELECT 1 FROM tcc_transactions t WHERE t.gid = tcc_callbacks.gid AND t.status ${FINAL})`;

@Injectable()
export class CallbackStore extends StoreBase {
  /** Owed callbacks whose next attempt has come and whose lease is free: a plain read, no locks. */
  async findDue(limit: number): Promise<string[]> {
    const rows = await this.db.select(
      `SELECT gid FROM tcc_callbacks WHERE ${OWED} AND next_attempt_at <= ${this.now} AND (owner IS NULL OR lease_expires_at <= ${this.now})
       ORDER BY next_attempt_at LIMIT ${Math.max(1, Math.floor(limit))}`,
      [...FINAL_STATUSES],
    );
    return rows.map((r) => String(r.gid));
  }

  /**
   * Which of `gids` have a callback not yet delivered: one indexed read for a whole batch of just
   * finished transactions, most of which have none, so the hot path writes nothing for them.
   */
  async undelivered(gids: readonly string[]): Promise<string[]> {
    if (gids.length === 0) return [];
    const rows = await this.db.select(`SELECT gid FROM tcc_callbacks WHERE gid ${inList(gids)} AND state IN ('WAITING', 'DUE')`, [...gids]);
    return rows.map((r) => String(r.gid));
  }

  /**
   * Claims owed callbacks among `gids` for `owner` until the lease expires, and marks them DUE: one
   * point update by primary key each (a live lease of another replica keeps it out). Answers only
   * the callbacks this call claimed, so two callers in one process never both send one.
   */
  async claim(gids: readonly string[], owner: string, leaseMs: number): Promise<CallbackRecord[]> {
    const won = await Promise.all(
      gids.map(async (gid) => {
        const affected = await this.db.execute(
          `UPDATE tcc_callbacks SET state = 'DUE', owner = ?, lease_expires_at = ${this.now} + ?, updated_at = ${this.now}
           WHERE gid = ? AND ${OWED} AND next_attempt_at <= ${this.now} AND (owner IS NULL OR lease_expires_at <= ${this.now})`,
          [owner, leaseMs, gid, ...FINAL_STATUSES],
        );
        return affected === 1 ? gid : null;
      }),
    );
    const claimed = won.filter((gid): gid is string => gid !== null);
    // Most finished transactions have no callback: the point update found nothing.
    if (claimed.length === 0) return [];
    const rows = await this.db.select(`SELECT ${CALLBACK_COLUMNS} FROM tcc_callbacks WHERE gid ${inList(claimed)} AND owner = ?`, [...claimed, owner]);
    return rows.map(toCallback);
  }

  /** The receiver answered success: DELIVERED, once. False when `owner` no longer held it. */
  async recordDelivered(gid: string, owner: string): Promise<boolean> {
    const affected = await this.db.execute(
      `UPDATE tcc_callbacks SET state = 'DELIVERED', attempts = attempts + 1, delivered_at = ${this.now}, owner = NULL, lease_expires_at = NULL, updated_at = ${this.now}
       WHERE gid = ? AND owner = ? AND state = 'DUE'`,
      [gid, owner],
    );
    return affected === 1;
  }

  /** An attempt failed: its error kept, the lease handed back, the next attempt after `delayMs`. */
  async recordFailed(gid: string, owner: string, error: string, delayMs: number): Promise<boolean> {
    const affected = await this.db.execute(
      `UPDATE tcc_callbacks SET attempts = attempts + 1, last_error = ?, next_attempt_at = ${this.now} + ?, owner = NULL, lease_expires_at = NULL, updated_at = ${this.now}
       WHERE gid = ? AND owner = ? AND state = 'DUE'`,
      [error.slice(0, LAST_ERROR_MAX), Math.max(0, Math.round(delayMs)), gid, owner],
    );
    return affected === 1;
  }

  /** Gives back every callback lease `owner` holds (a graceful shutdown), due at once elsewhere. */
  async releaseAll(owner: string): Promise<number> {
    return this.db.execute(`UPDATE tcc_callbacks SET owner = NULL, lease_expires_at = NULL WHERE owner = ? AND state IN ('WAITING', 'DUE')`, [owner]);
  }

  async find(gid: string): Promise<CallbackRecord | null> {
    const rows = await this.db.select(`SELECT ${CALLBACK_COLUMNS} FROM tcc_callbacks WHERE gid = ?`, [gid]);
    return rows.length ? toCallback(rows[0]) : null;
  }

  /** Callbacks owed and not yet delivered (the gauge tcc_callbacks_pending). */
  async countPending(): Promise<number> {
    const [row] = await this.db.select(`SELECT COUNT(*) AS n FROM tcc_callbacks WHERE ${OWED}`, [...FINAL_STATUSES]);
    return num(row.n);
  }
}
