/**
 * The order of a saga's calls (docs/contract.md §9), pure: which actions may be sent now, which
 * compensations, and the dependencies a saga's steps are recorded with. Sequential sagas are the
 * special case where each step waits for the one before it, so one rule serves both.
 */
import { BranchStatus } from '@tcc/client/protocol';
import { PENDING_BRANCH_STATUSES } from './transaction.state-machine';

export interface SagaStepState {
  branchId: string;
  status: BranchStatus;
  /** The steps whose actions must succeed before this one's. */
  after: readonly string[];
}

const owedCompensation = new Set<BranchStatus>(PENDING_BRANCH_STATUSES.ROLLING_BACK);

/** Actions that may be sent now: steps not yet acted whose every dependency succeeded. */
export function actionsDue(steps: readonly SagaStepState[]): string[] {
  const succeeded = new Set(steps.filter((s) => s.status === BranchStatus.SUCCEEDED).map((s) => s.branchId));
  return steps.filter((s) => s.status === BranchStatus.REGISTERED && s.after.every((id) => succeeded.has(id))).map((s) => s.branchId);
}

/**
 * Compensations that may be sent now: steps still owed one (their action was sent) that no step
 * depending on them is still owed one, so compensation runs in reverse (dependency) order.
 */
export function compensationsDue(steps: readonly SagaStepState[]): string[] {
  const owed = steps.filter((s) => owedCompensation.has(s.status));
  const blocked = new Set(owed.flatMap((s) => s.after));
  return owed.filter((s) => !blocked.has(s.branchId)).map((s) => s.branchId);
}

/**
 * The dependencies each step is recorded with: sequential, the step before it; concurrent, what
 * `after` names. Answers them, or what is wrong with `after` (the field, a message).
 */
export function sagaDependencies(
  branchIds: readonly string[],
  concurrent: boolean,
  after: Readonly<Record<string, readonly string[]>> | undefined,
): { after: string[][] } | { invalid: string } {
  if (!concurrent) {
    if (after && Object.keys(after).length > 0) return { invalid: 'after is allowed only with concurrent: true' };
    return { after: branchIds.map((_, i) => (i === 0 ? [] : [branchIds[i - 1]])) };
  }
  const known = new Set(branchIds);
  for (const [id, deps] of Object.entries(after ?? {})) {
    if (!known.has(id)) return { invalid: `after names step ${id}, which the saga does not have` };
    for (const dep of deps) {
      if (!known.has(dep)) return { invalid: `after.${id} names step ${dep}, which the saga does not have` };
      if (dep === id) return { invalid: `after.${id} names the step itself` };
    }
  }
  const deps = branchIds.map((id) => [...new Set(after?.[id] ?? [])]);
  // A cycle would leave its steps waiting for each other forever: depth-first search for one.
  const index = new Map(branchIds.map((id, i) => [id, i]));
  const state = new Array<0 | 1 | 2>(branchIds.length).fill(0);
  const cycleFrom = (i: number): string | null => {
    state[i] = 1;
    for (const dep of deps[i]) {
      const j = index.get(dep)!;
      if (state[j] === 1) return `${branchIds[i]} -> ${dep}`;
      if (state[j] === 0) {
        const found = cycleFrom(j);
        if (found) return found;
      }
    }
    state[i] = 2;
    return null;
  };
  for (let i = 0; i < branchIds.length; i++) {
    const found = state[i] === 0 ? cycleFrom(i) : null;
    if (found) return { invalid: `after has a cycle (${found})` };
  }
  return { after: deps };
}
