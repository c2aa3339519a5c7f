import { Injectable } from '@nestjs/common';
import type { GlobalStatus } from '@tcc/client/protocol';
import { num, strOrNull, type ClaimedTransaction, type DueTransaction } from './records';
import { LAST_ERROR_MAX, LEASED, LEASED_STATUSES, PHASE_TWO, PHASE_TWO_STATUSES, StoreBase } from './store.sql';
import { guards, transition } from './transition.sql';

/**
 * Leases and fencing: what is due, claims of due transactions by a replica (timeouts decided on the
 * way), leases handed back, the scan leader's fencing epoch, and the attention flag. Point updates
 * by primary key only; every time compared is the database's.
 */
@Injectable()
export class LeaseStore extends StoreBase {
  /** Transactions whose next attempt (deadline, lease expiry or retry time) has come: a plain read, no locks. */
  async findDue(limit: number): Promise<DueTransaction[]> {
    const rows = await this.db.select(
      `SELECT gid, status FROM tcc_transactions WHERE next_attempt_at <= ${this.now} ORDER BY next_attempt_at LIMIT ${Math.max(1, Math.floor(limit))}`,
    );
    return rows.map((r) => ({ gid: String(r.gid), status: r.status as GlobalStatus }));
  }

  /**
   * Claims a batch of due transactions for `owner` until the lease expires: TRYING ones past their
   * deadline are decided ROLLING_BACK (the timeout transition, transition.sql.ts), phase-two ones whose retry time or lease expiry has come
   * are taken over. Point updates by primary key only. With a `fence`, the claims succeed only
   * while that epoch is still the scan leader's (a paused old leader cannot claim after losing).
   * Answers what this owner now holds among `gids`.
   */
  async claimDue(gids: string[], owner: string, leaseMs: number, fence: number | null): Promise<ClaimedTransaction[]> {
    if (gids.length === 0) return [];
    const list = gids.map(() => '?').join(', ');
    const fenceParams: unknown[] = [];
    const fenced = guards({ fence }, fenceParams).map((condition) => ` AND ${condition}`).join('');
    const timeout = transition('timeout', gids, this.now, { reason: 'timeout', leaseOwner: owner, leaseMs }, { fence });
    await this.db.execute(timeout.sql, timeout.params);
    await this.db.execute(
      `UPDATE tcc_transactions SET owner = ?, lease_expires_at = ${this.now} + ?, next_attempt_at = ${this.now} + ?
       WHERE gid IN (${list}) AND status ${LEASED} AND next_attempt_at <= ${this.now}${fenced}`,
      [owner, leaseMs, leaseMs, ...gids, ...LEASED_STATUSES, ...fenceParams],
    );
    const rows = await this.db.select(
      `SELECT gid, mode, status, rounds, traceparent FROM tcc_transactions WHERE gid IN (${list}) AND owner = ? AND status ${LEASED}`,
      [...gids, owner, ...LEASED_STATUSES],
    );
    return rows.map((r) => ({
      gid: String(r.gid),
      mode: String(r.mode ?? 'tcc') as ClaimedTransaction['mode'],
      status: r.status as ClaimedTransaction['status'],
      rounds: num(r.rounds),
      traceparent: strOrNull(r.traceparent),
    }));
  }

  /** Gives back every lease `owner` holds, due at once, so another replica takes over without waiting. */
  async releaseAllLeases(owner: string): Promise<number> {
    return this.db.execute(
      `UPDATE tcc_transactions SET owner = NULL, lease_expires_at = NULL, next_attempt_at = ${this.now}
       WHERE owner = ? AND status ${LEASED}`,
      [owner, ...LEASED_STATUSES],
    );
  }

  /** The scan leader's fencing epoch as the database knows it. */
  async currentFence(): Promise<number> {
    const rows = await this.db.select("SELECT epoch FROM tcc_coordination WHERE name = 'scan-leader'");
    return rows.length ? num(rows[0].epoch) : 0;
  }

  /** Moves the fencing epoch one up for a new scan leader (compare-and-set); null if it lost a race. */
  async advanceFence(holder: string): Promise<number | null> {
    const current = await this.currentFence();
    const affected = await this.db.execute(
      `UPDATE tcc_coordination SET epoch = ?, holder = ?, updated_at = ${this.now} WHERE name = 'scan-leader' AND epoch = ?`,
      [current + 1, holder, current],
    );
    return affected === 1 ? current + 1 : null;
  }

  /**
   * Flags a transaction whose phase two has kept failing for `afterMs` since its decision (0: at
   * once), with why; true only for the call that set the flag (so the alert goes out once).
   */
  async flagAttention(gid: string, afterMs: number, reason: string): Promise<boolean> {
    const affected = await this.db.execute(
      `UPDATE tcc_transactions SET attention_at = ${this.now}, attention_reason = ?
       WHERE gid = ? AND attention_at IS NULL AND status ${PHASE_TWO} AND decided_at <= ${this.now} - ?`,
      [reason.slice(0, LAST_ERROR_MAX), gid, ...PHASE_TWO_STATUSES, afterMs],
    );
    return affected === 1;
  }
}
