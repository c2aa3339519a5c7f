/**
 * The branches registered through this replica, by gid, while their transaction is open: the
 * decision starts phase two from them instead of reading them back. The decision's batch counts
 * the branches in the database; the list here is used only when it holds exactly that many (a
 * branch registered through another replica makes it read them). Bounded: the oldest entries
 * go first, and an entry is dropped when its transaction is decided.
 */
import type { NewBranch } from '../store/records';

const MAX_TRANSACTIONS = 100_000;

export class RegisteredBranches {
  private readonly byGid = new Map<string, Map<string, NewBranch>>();

  add(gid: string, branch: NewBranch): void {
    let branches = this.byGid.get(gid);
    if (!branches) {
      if (this.byGid.size >= MAX_TRANSACTIONS) this.byGid.delete(this.byGid.keys().next().value as string);
      branches = new Map();
      this.byGid.set(gid, branches);
    }
    branches.set(branch.branchId, branch);
  }

  has(gid: string): boolean {
    return this.byGid.has(gid);
  }

  /** Takes the entry out: its branches, or undefined when none were registered here. */
  take(gid: string): NewBranch[] | undefined {
    const branches = this.byGid.get(gid);
    this.byGid.delete(gid);
    return branches && [...branches.values()];
  }
}
