import { Injectable } from '@nestjs/common';
import { num, toTransaction, TRANSACTION_COLUMNS, type TransactionFilter, type TransactionRecord } from './records';
import { PHASE_TWO, PHASE_TWO_STATUSES, StoreBase } from './store.sql';

const LISTED_COLUMNS = TRANSACTION_COLUMNS.split(', ').map((c) => `t.${c}`).join(', ');

/** Reads for the admin list, the metrics and the health check: no writes. */
@Injectable()
export class QueryStore extends StoreBase {
  /** A page of transactions, ordered by gid, for the admin list. */
  async listTransactions(f: TransactionFilter): Promise<TransactionRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.mode) {
      where.push('t.mode = ?');
      params.push(f.mode);
    }
    if (f.status) {
      where.push('t.status = ?');
      params.push(f.status);
    }
    if (f.attention !== undefined) {
      where.push(f.attention ? `t.attention_at IS NOT NULL AND t.status ${PHASE_TWO}` : `(t.attention_at IS NULL OR t.status NOT ${PHASE_TWO})`);
      params.push(...PHASE_TWO_STATUSES);
    }
    if (f.createdFrom !== undefined) {
      where.push('t.created_at >= ?');
      params.push(f.createdFrom);
    }
    if (f.createdTo !== undefined) {
      where.push('t.created_at < ?');
      params.push(f.createdTo);
    }
    if (f.participant) {
      where.push('EXISTS (SELECT 1 FROM tcc_branches b WHERE b.gid = t.gid AND b.participant = ?)');
      params.push(f.participant);
    }
    if (f.client) {
      where.push('t.client = ?');
      params.push(f.client);
    }
    if (f.after) {
      where.push('t.gid > ?');
      params.push(f.after);
    }
    const rows = await this.db.select(
      `SELECT ${LISTED_COLUMNS} FROM tcc_transactions t${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY t.gid LIMIT ${Math.max(1, Math.floor(f.limit))}`,
      params,
    );
    return rows.map(toTransaction);
  }

  /** Open transactions by mode and status (`<mode>/<status>`) and the creation time of the oldest unfinished one, for metrics. */
  async openSummary(): Promise<{ byStatus: Record<string, number>; oldestCreatedAt: number | null; now: number }> {
    const rows = await this.db.select(
      `SELECT mode, status, COUNT(*) AS n, MIN(created_at) AS oldest, MAX(${this.now}) AS now_ms FROM tcc_transactions
       WHERE next_attempt_at IS NOT NULL GROUP BY mode, status`,
    );
    const byStatus: Record<string, number> = {};
    let oldest: number | null = null;
    let now = Date.now();
    for (const r of rows) {
      byStatus[`${String(r.mode)}/${String(r.status)}`] = num(r.n);
      const o = num(r.oldest);
      oldest = oldest === null ? o : Math.min(oldest, o);
      now = num(r.now_ms);
    }
    return { byStatus, oldestCreatedAt: oldest, now };
  }

  /** Unfinished transactions flagged for attention. */
  async countAttention(): Promise<number> {
    const rows = await this.db.select(
      `SELECT COUNT(*) AS n FROM tcc_transactions WHERE attention_at IS NOT NULL AND status ${PHASE_TWO}`,
      [...PHASE_TWO_STATUSES],
    );
    return num(rows[0].n);
  }

  async ping(): Promise<void> {
    await this.db.select('SELECT 1 AS ok');
  }

  /**
   * The Galera state of the node this replica talks to, or null where there is none (PostgreSQL,
   * SQLite, MySQL or MariaDB without wsrep). Needed because a node that is not ready answers
   * `SELECT 1` and SHOW as usual and refuses only statements on tables (1047): a ping alone
   * would call a rejoining node ready.
   */
  async galeraNode(): Promise<GaleraNodeState | null> {
    if (this.db.dialect !== 'mysql') return null;
    const on = await this.db.select<{ Value: string }>("SHOW GLOBAL VARIABLES LIKE 'wsrep_on'");
    if (on.length === 0 || String(on[0].Value).toUpperCase() !== 'ON') return null;
    const rows = await this.db.select<{ Variable_name: string; Value: string }>(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state_comment', 'wsrep_cluster_status', 'wsrep_cluster_size')",
    );
    const value = (name: string): string => String(rows.find((r) => String(r.Variable_name).toLowerCase() === name)?.Value ?? '');
    return {
      ready: value('wsrep_ready') === 'ON',
      state: value('wsrep_local_state_comment'),
      clusterStatus: value('wsrep_cluster_status'),
      clusterSize: Number(value('wsrep_cluster_size') || 0),
    };
  }
}

/** What a Galera node says of itself (wsrep_ready, wsrep_local_state_comment, ...). */
export interface GaleraNodeState {
  /** wsrep_ready: the node accepts queries. */
  ready: boolean;
  /** wsrep_local_state_comment: `Synced` when caught up; `Joining`, `Joined`, `Donor/Desynced`, `Initialized` otherwise. */
  state: string;
  /** wsrep_cluster_status: `Primary` when in the component that has quorum. */
  clusterStatus: string;
  clusterSize: number;
}
