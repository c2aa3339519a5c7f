/**
 * The branches registered through this replica, by gid, while their transaction is open: the
 * decision starts phase two from them instead of reading them back. The decision's batch counts
 * the branches in the database; the list here is used only when it holds exactly that many (a
 * branch registered through another replica makes it read them). Bounded in transactions and in
 * bytes (payloads may be large): the oldest entries go first, and an entry is dropped when its
 * transaction is decided. A dropped entry only costs its decision one read.
 */
import type { NewBranch } from '../store/records';

const MAX_TRANSACTIONS = 100_000;
const MAX_BYTES = 64 * 1024 * 1024;

const sizeOf = (b: NewBranch): number => 2 * ((b.payload?.length ?? 0) + b.confirmTarget.length + b.cancelTarget.length) + 256;

export class RegisteredBranches {
  private readonly byGid = new Map<string, Map<string, NewBranch>>();
  private bytes = 0;

  add(gid: string, branch: NewBranch): void {
    let branches = this.byGid.get(gid);
    if (!branches) {
      branches = new Map();
      this.byGid.set(gid, branches);
    }
    const replaced = branches.get(branch.branchId);
    if (replaced) this.bytes -= sizeOf(replaced);
    branches.set(branch.branchId, branch);
    this.bytes += sizeOf(branch);
    while (this.byGid.size > MAX_TRANSACTIONS || this.bytes > MAX_BYTES) {
      const oldest = this.byGid.keys().next().value as string;
      this.take(oldest);
    }
  }

  has(gid: string): boolean {
    return this.byGid.has(gid);
  }

  /** Takes the entry out: its branches, or undefined when none were registered here. */
  take(gid: string): NewBranch[] | undefined {
    const branches = this.byGid.get(gid);
    if (!branches) return undefined;
    this.byGid.delete(gid);
    for (const branch of branches.values()) this.bytes -= sizeOf(branch);
    return [...branches.values()];
  }
}
