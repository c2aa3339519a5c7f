/**
 * What the participants saw, per branch: how many confirms and cancels arrived. Used to check the
 * promise a participant can observe: every branch of a committed transaction got a confirm, of a
 * rolled back one a cancel, and no branch ever got both.
 */
import type { RecordedCall } from '../../support/participant.server';
import type { TransactionPlan } from './initiator';

export interface BranchCalls {
  confirm: number;
  cancel: number;
  tryCalls: number;
}

export function branchKey(gid: string, branchId: string): string {
  return `${gid}/${branchId}`;
}

export function tally(calls: RecordedCall[]): Map<string, BranchCalls> {
  const out = new Map<string, BranchCalls>();
  for (const c of calls) {
    if (!c.gid || !c.branchId) continue;
    const key = branchKey(c.gid, c.branchId);
    const entry = out.get(key) ?? { confirm: 0, cancel: 0, tryCalls: 0 };
    if (c.phase === 'confirm') entry.confirm++;
    else if (c.phase === 'cancel') entry.cancel++;
    else if (c.phase === 'try') entry.tryCalls++;
    out.set(key, entry);
  }
  return out;
}

export interface LedgerReport {
  /** Human-readable violations; empty when the participants saw what the contract promises. */
  problems: string[];
  /** Branches that got both a confirm and a cancel (must be 0). */
  both: number;
  /** Branches whose confirm (or cancel) arrived more than once: allowed (the barrier absorbs it), reported. */
  repeated: number;
  confirms: number;
  cancels: number;
}

/** `expected(plan)`: 'confirm' or 'cancel', what every branch of that plan must have received. */
export function checkLedger(plans: TransactionPlan[], calls: RecordedCall[], expected: (plan: TransactionPlan) => 'confirm' | 'cancel'): LedgerReport {
  const seen = tally(calls);
  const problems: string[] = [];
  let both = 0;
  let repeated = 0;
  let confirms = 0;
  let cancels = 0;
  const known = new Set<string>();
  for (const plan of plans) {
    const want = expected(plan);
    for (const b of plan.branches) {
      const key = branchKey(plan.gid, b.branchId);
      known.add(key);
      const got = seen.get(key) ?? { confirm: 0, cancel: 0, tryCalls: 0 };
      confirms += got.confirm;
      cancels += got.cancel;
      if (got.confirm > 0 && got.cancel > 0) {
        both++;
        problems.push(`${key} got ${got.confirm} confirm(s) AND ${got.cancel} cancel(s)`);
      }
      const wanted = want === 'confirm' ? got.confirm : got.cancel;
      const unwanted = want === 'confirm' ? got.cancel : got.confirm;
      if (wanted === 0) problems.push(`${key} never got its ${want}`);
      if (unwanted > 0 && !(got.confirm > 0 && got.cancel > 0)) problems.push(`${key} should get ${want} but got the other phase`);
      if (wanted > 1) repeated++;
    }
  }
  for (const key of seen.keys()) if (!known.has(key)) problems.push(`${key}: calls for a branch no plan registered`);
  return { problems, both, repeated, confirms, cancels };
}
