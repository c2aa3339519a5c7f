/** Reads the coordinator's tables directly, for assertions that look under the API. */
import type { Row } from '../../support/test.database';
import { eventually } from '../../support/wait';

export type Sql = <T extends Row = Row>(sql: string, params?: unknown[]) => Promise<T[]>;

export interface TransactionRow {
  gid: string;
  status: string;
  owner: string | null;
  reason: string | null;
  expiresAt: number;
  decidedAt: number | null;
  updatedAt: number;
  nextAttemptAt: number | null;
  leaseExpiresAt: number | null;
  attentionAt: number | null;
  rounds: number;
}

export interface BranchRow {
  gid: string;
  branchId: string;
  status: string;
  attempts: number;
  lastError: string | null;
}

const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export async function transactions(sql: Sql): Promise<TransactionRow[]> {
  const rows = await sql('SELECT * FROM tcc_transactions');
  return rows.map((r) => ({
    gid: String(r.gid),
    status: String(r.status),
    owner: r.owner === null ? null : String(r.owner),
    reason: r.reason === null ? null : String(r.reason),
    expiresAt: Number(r.expires_at),
    decidedAt: numOrNull(r.decided_at),
    updatedAt: Number(r.updated_at),
    nextAttemptAt: numOrNull(r.next_attempt_at),
    leaseExpiresAt: numOrNull(r.lease_expires_at),
    attentionAt: numOrNull(r.attention_at),
    rounds: Number(r.rounds),
  }));
}

export async function branches(sql: Sql): Promise<BranchRow[]> {
  const rows = await sql('SELECT gid, branch_id, status, attempts, last_error FROM tcc_branches');
  return rows.map((r) => ({
    gid: String(r.gid),
    branchId: String(r.branch_id),
    status: String(r.status),
    attempts: Number(r.attempts),
    lastError: r.last_error === null ? null : String(r.last_error),
  }));
}

export async function statusCounts(sql: Sql): Promise<Record<string, number>> {
  const rows = await sql('SELECT status, COUNT(*) AS n FROM tcc_transactions GROUP BY status');
  const out: Record<string, number> = {};
  for (const r of rows) out[String(r.status)] = Number(r.n);
  return out;
}

/** Waits until `expected` transactions exist and none is unfinished; answers the time it took. */
export async function waitForAllFinal(sql: Sql, expected: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last: Record<string, number> = {};
  await eventually(
    async () => {
      last = await statusCounts(sql);
      const total = Object.values(last).reduce((a, b) => a + b, 0);
      const final = (last.COMMITTED ?? 0) + (last.ROLLED_BACK ?? 0);
      return total === expected && final === expected;
    },
    { timeoutMs, intervalMs: 250, what: `all ${expected} transactions to be COMMITTED or ROLLED_BACK` },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; statuses ${JSON.stringify(last)}`);
  });
  return Date.now() - started;
}

/** Phase-two transactions whose lease `ownerPattern` (SQL LIKE) holds right now. */
export async function heldLeases(sql: Sql, ownerPattern: string): Promise<string[]> {
  const rows = await sql("SELECT gid FROM tcc_transactions WHERE owner LIKE ? AND status IN ('COMMITTING', 'ROLLING_BACK')", [ownerPattern]);
  return rows.map((r) => String(r.gid));
}
