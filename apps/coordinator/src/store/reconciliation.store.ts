/**
 * Reconciliation's SQL (docs/contract.md §13): runs with their persisted cursor and lease, the
 * finished transactions of a window read page by page in (finish time, gid) order, and the
 * mismatches found. It reads transactions and branches and never writes them: reconciliation
 * reports, it changes no transaction.
 */
import { Injectable } from '@nestjs/common';
import { GlobalStatus } from '@tcc/client/protocol';
import type { Executor, Row } from './database';
import { BRANCH_COLUMNS, num, numOrNull, strOrNull, toBranch, type BranchRecord } from './records';
import { inList, LAST_ERROR_MAX, StoreBase } from './store.sql';

export type RunState = 'RUNNING' | 'DONE' | 'FAILED';

export interface RunCounts {
  /** Transactions of the window checked. */
  checked: number;
  /** Branches asked about. */
  branches: number;
  mismatches: number;
  unreachable: number;
  /** Branches older than their participant's barrier retention whose rows were gone: unknown, not mismatches. */
  expired: number;
  /** Branches with nothing to compare (a broker step, a saga step never sent, a message never delivered). */
  skipped: number;
  /** Participant queries sent, retries included. */
  queries: number;
}

export interface RunRecord extends RunCounts {
  id: string;
  trigger: string;
  requestedBy: string | null;
  state: RunState;
  from: number;
  to: number;
  cursor: RunCursor | null;
  owner: string | null;
  leaseExpiresAt: number | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  error: string | null;
}

/** The last transaction whose check is written: its finish time and gid. */
export interface RunCursor {
  at: number;
  gid: string;
}

export interface FinishedTransaction {
  gid: string;
  mode: 'tcc' | 'saga' | 'message';
  status: 'COMMITTED' | 'ROLLED_BACK';
  createdAt: number;
  decidedAt: number | null;
  finishedAt: number;
  branches: BranchRecord[];
}

export interface NewFinding {
  gid: string;
  branchId: string;
  kind: string;
  coordinatorView: string;
  participantView: string;
}

export interface FindingRecord extends NewFinding {
  id: number;
  runId: string;
  createdAt: number;
}

const RUN_COLUMNS =
  'id, trigger_kind, requested_by, state, window_from, window_to, cursor_at, cursor_gid, checked, branches, mismatches, unreachable, expired, skipped, queries, owner, lease_expires_at, created_at, updated_at, finished_at, error';
const FINDING_COLUMNS = 'id, run_id, gid, branch_id, kind, coordinator_view, participant_view, created_at';
const FINISHED = [GlobalStatus.COMMITTED, GlobalStatus.ROLLED_BACK] as const;

function toRun(r: Row): RunRecord {
  const at = numOrNull(r.cursor_at);
  return {
    id: String(r.id),
    trigger: String(r.trigger_kind),
    requestedBy: strOrNull(r.requested_by),
    state: String(r.state) as RunState,
    from: num(r.window_from),
    to: num(r.window_to),
    cursor: at === null ? null : { at, gid: String(r.cursor_gid) },
    checked: num(r.checked),
    branches: num(r.branches),
    mismatches: num(r.mismatches),
    unreachable: num(r.unreachable),
    expired: num(r.expired),
    skipped: num(r.skipped),
    queries: num(r.queries),
    owner: strOrNull(r.owner),
    leaseExpiresAt: numOrNull(r.lease_expires_at),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    finishedAt: numOrNull(r.finished_at),
    error: strOrNull(r.error),
  };
}

function toFinding(r: Row): FindingRecord {
  return {
    id: num(r.id),
    runId: String(r.run_id),
    gid: String(r.gid),
    branchId: String(r.branch_id),
    kind: String(r.kind),
    coordinatorView: String(r.coordinator_view),
    participantView: String(r.participant_view),
    createdAt: num(r.created_at),
  };
}

@Injectable()
export class ReconciliationStore extends StoreBase {
  /** The database's clock (epoch ms): windows and leases are read against it, never a replica's. */
  async clock(): Promise<number> {
    const rows = await this.db.select(`SELECT ${this.now} AS now_ms`);
    return num(rows[0].now_ms);
  }

  /** Records a run RUNNING (not yet claimed) unless one with this id exists; true when this call created it. */
  async createRun(run: { id: string; trigger: string; requestedBy: string | null; from: number; to: number }): Promise<boolean> {
    const affected = await this.db.execute(
      this.insertIfAbsent(
        `INTO tcc_reconcile_runs (id, trigger_kind, requested_by, state, window_from, window_to, created_at, updated_at) VALUES (?, ?, ?, 'RUNNING', ?, ?, ${this.now}, ${this.now})`,
      ),
      [run.id, run.trigger, run.requestedBy, run.from, run.to],
    );
    return affected === 1;
  }

  /**
   * Claims one RUNNING run nobody holds (never claimed, or its holder's lease expired: a replica
   * killed mid-run) for `owner`; answers it with its cursor, or null when none is free.
   */
  async claimRun(owner: string, leaseMs: number): Promise<RunRecord | null> {
    const free = `state = 'RUNNING' AND (owner IS NULL OR lease_expires_at <= ${this.now})`;
    const candidates = await this.db.select(`SELECT id FROM tcc_reconcile_runs WHERE ${free} ORDER BY created_at LIMIT 1`);
    if (candidates.length === 0) return null;
    const id = String(candidates[0].id);
    const claimed = await this.db.execute(
      `UPDATE tcc_reconcile_runs SET owner = ?, lease_expires_at = ${this.now} + ?, updated_at = ${this.now} WHERE id = ? AND ${free}`,
      [owner, leaseMs, id],
    );
    return claimed === 1 ? this.findRun(id) : null;
  }

  /** Extends `owner`'s lease of a run; false when it lost it (another replica took over). */
  async renewLease(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const affected = await this.db.execute(
      `UPDATE tcc_reconcile_runs SET lease_expires_at = ${this.now} + ? WHERE id = ? AND owner = ? AND state = 'RUNNING'`,
      [leaseMs, id, owner],
    );
    return affected === 1;
  }

  /** The next finished transactions of the window after `cursor`, in (finish time, gid) order, with their branches. */
  async page(from: number, to: number, cursor: RunCursor | null, limit: number): Promise<FinishedTransaction[]> {
    const params: unknown[] = [...FINISHED, from, to];
    let after = '';
    if (cursor) {
      after = ' AND (updated_at > ? OR (updated_at = ? AND gid > ?))';
      params.push(cursor.at, cursor.at, cursor.gid);
    }
    const rows = await this.db.select(
      `SELECT gid, mode, status, created_at, decided_at, updated_at FROM tcc_transactions
       WHERE status ${inList(FINISHED)} AND updated_at >= ? AND updated_at < ?${after}
       ORDER BY updated_at, gid LIMIT ${Math.max(1, Math.floor(limit))}`,
      params,
    );
    if (rows.length === 0) return [];
    const gids = rows.map((r) => String(r.gid));
    const branchRows = await this.db.select(`SELECT ${BRANCH_COLUMNS} FROM tcc_branches WHERE gid ${inList(gids)} ORDER BY gid, seq, branch_id`, gids);
    const byGid = new Map<string, BranchRecord[]>();
    for (const b of branchRows.map(toBranch)) byGid.set(b.gid, [...(byGid.get(b.gid) ?? []), b]);
    return rows.map((r) => ({
      gid: String(r.gid),
      mode: String(r.mode ?? 'tcc') as FinishedTransaction['mode'],
      status: r.status as FinishedTransaction['status'],
      createdAt: num(r.created_at),
      decidedAt: numOrNull(r.decided_at),
      finishedAt: num(r.updated_at),
      branches: byGid.get(String(r.gid)) ?? [],
    }));
  }

  /**
   * Writes one checked page in one local transaction: its findings (one per run and branch: a page
   * checked again after a crash inserts nothing twice), then the cursor moved past the page and the
   * counters added to, as a compare-and-set on the cursor it started from and on `owner` still
   * holding the run. Answers the findings this call inserted (to be alerted once), or null when
   * the run was lost to another replica (nothing written).
   */
  async commitPage(
    id: string,
    owner: string,
    leaseMs: number,
    from: RunCursor | null,
    to: RunCursor,
    counts: Omit<RunCounts, 'mismatches' | 'unreachable'>,
    findings: NewFinding[],
  ): Promise<NewFinding[] | null> {
    const Lost = class extends Error {};
    try {
      return await this.db.transaction(async (tx: Executor) => {
        const inserted: NewFinding[] = [];
        for (const f of findings) {
          const affected = await tx.execute(
            this.insertIfAbsent(
              `INTO tcc_reconcile_mismatches (run_id, gid, branch_id, kind, coordinator_view, participant_view, created_at) VALUES (?, ?, ?, ?, ?, ?, ${this.now})`,
            ),
            [id, f.gid, f.branchId, f.kind, f.coordinatorView, f.participantView],
          );
          if (affected === 1) inserted.push(f);
        }
        const unreachable = inserted.filter((f) => f.kind === 'UNREACHABLE').length;
        const params: unknown[] = [
          to.at,
          to.gid,
          counts.checked,
          counts.branches,
          inserted.length - unreachable,
          unreachable,
          counts.expired,
          counts.skipped,
          counts.queries,
          leaseMs,
          id,
          owner,
        ];
        let at = 'cursor_at IS NULL';
        if (from) {
          at = 'cursor_at = ? AND cursor_gid = ?';
          params.push(from.at, from.gid);
        }
        const moved = await tx.execute(
          `UPDATE tcc_reconcile_runs SET cursor_at = ?, cursor_gid = ?, checked = checked + ?, branches = branches + ?, mismatches = mismatches + ?,
             unreachable = unreachable + ?, expired = expired + ?, skipped = skipped + ?, queries = queries + ?,
             lease_expires_at = ${this.now} + ?, updated_at = ${this.now}
           WHERE id = ? AND owner = ? AND state = 'RUNNING' AND ${at}`,
          params,
        );
        if (moved !== 1) throw new Lost();
        return inserted;
      });
    } catch (error) {
      if (error instanceof Lost) return null;
      throw error;
    }
  }

  /** Ends a run `owner` holds: DONE, or FAILED with why. */
  async finishRun(id: string, owner: string, state: 'DONE' | 'FAILED', error: string | null): Promise<boolean> {
    const affected = await this.db.execute(
      `UPDATE tcc_reconcile_runs SET state = ?, error = ?, owner = NULL, lease_expires_at = NULL, finished_at = ${this.now}, updated_at = ${this.now}
       WHERE id = ? AND owner = ? AND state = 'RUNNING'`,
      [state, error === null ? null : error.slice(0, LAST_ERROR_MAX), id, owner],
    );
    return affected === 1;
  }

  /** Gives a run back (shutdown): another replica, or this one restarted, resumes it from its cursor at once. */
  async releaseRun(id: string, owner: string): Promise<void> {
    await this.db.execute(`UPDATE tcc_reconcile_runs SET owner = NULL, lease_expires_at = NULL WHERE id = ? AND owner = ? AND state = 'RUNNING'`, [id, owner]);
  }

  async findRun(id: string): Promise<RunRecord | null> {
    const rows = await this.db.select(`SELECT ${RUN_COLUMNS} FROM tcc_reconcile_runs WHERE id = ?`, [id]);
    return rows.length ? toRun(rows[0]) : null;
  }

  /** The newest runs first; `before`: page after this id's creation. */
  async listRuns(limit: number): Promise<RunRecord[]> {
    const rows = await this.db.select(`SELECT ${RUN_COLUMNS} FROM tcc_reconcile_runs ORDER BY created_at DESC, id DESC LIMIT ${Math.max(1, Math.floor(limit))}`);
    return rows.map(toRun);
  }

  /** A run's findings in the order found, after the finding `afterId`. */
  async findFindings(runId: string, afterId: number, limit: number): Promise<FindingRecord[]> {
    const rows = await this.db.select(
      `SELECT ${FINDING_COLUMNS} FROM tcc_reconcile_mismatches WHERE run_id = ? AND id > ? ORDER BY id LIMIT ${Math.max(1, Math.floor(limit))}`,
      [runId, afterId],
    );
    return rows.map(toFinding);
  }
}
