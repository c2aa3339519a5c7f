/**
 * An initiator that survives coordinator replicas dying under it, as a real one behind a load
 * balancer would: every call goes to a preferred replica and, on a network error or a 5xx, is
 * repeated on the next one. Begin (same gid), register (identical body), commit and rollback are
 * idempotent in the contract, so repeating a call whose answer was lost is safe.
 */
import type { CoordinatorApi, HttpResult, RawRequest } from '../../support/coordinator.api';
import { sleep } from '../../support/wait';

export interface BranchPlan {
  branchId: string;
  confirm: string;
  cancel: string;
}

export interface TransactionPlan {
  gid: string;
  timeoutMs: number;
  branches: BranchPlan[];
  /** What the initiator asks for after registering: commit, rollback, or nothing (it vanished). */
  decision: 'commit' | 'rollback' | 'abandon';
  /** Index of the replica the initiator talks to first. */
  replica: number;
}

export interface InitiatorOptions {
  /** Replica APIs; a function so a spec can swap addresses. */
  apis: () => CoordinatorApi[];
  /** Whether a replica may be used now (e.g. not SIGSTOPped); defaults to all. */
  usable?: (index: number) => boolean;
  wait?: boolean;
  /** Give up on one call after this long of failing over (then the plan counts as failed). */
  callDeadlineMs?: number;
  requestTimeoutMs?: number;
}

export interface PlanOutcome {
  plan: TransactionPlan;
  /** Status the decision call answered (COMMITTING, ROLLED_BACK, ...), or the problem. */
  answered?: string;
  problem?: string;
  /** Calls repeated on another replica after a network error or a 5xx. */
  failovers: number;
  finishedAt: number;
}

const OK = new Set([200, 201]);

export class ResilientInitiator {
  failovers = 0;
  readonly problems: string[] = [];

  constructor(private readonly options: InitiatorOptions) {}

  /** Sends one call, failing over across replicas until one answers with a non-5xx status. */
  async call<T>(first: number, req: RawRequest, what: string): Promise<{ result: HttpResult<T>; failovers: number }> {
    const deadline = Date.now() + (this.options.callDeadlineMs ?? 90_000);
    let failovers = 0;
    let last = '';
    for (let attempt = 0; ; attempt++) {
      const apis = this.options.apis();
      let index = (first + attempt) % apis.length;
      for (let skip = 0; skip < apis.length && this.options.usable && !this.options.usable(index); skip++) index = (index + 1) % apis.length;
      try {
        const result = await apis[index].send<T>({ ...req, timeoutMs: req.timeoutMs ?? this.options.requestTimeoutMs ?? 15_000 });
        if (result.status < 500) return { result, failovers };
        last = `${result.status} ${result.text.slice(0, 200)}`;
      } catch (error) {
        last = (error as Error).message;
      }
      failovers++;
      this.failovers++;
      if (Date.now() > deadline) throw new Error(`${what}: no replica answered within the deadline (last: ${last})`);
      await sleep(attempt < 3 ? 50 : 250);
    }
  }

  /** Runs one plan to its decision (or abandons it after registering). */
  async run(plan: TransactionPlan): Promise<PlanOutcome> {
    let failovers = 0;
    const step = async (req: RawRequest, what: string, ok: Set<number> = OK): Promise<HttpResult<{ status?: string }>> => {
      const { result, failovers: f } = await this.call<{ status?: string }>(plan.replica, req, `${plan.gid} ${what}`);
      failovers += f;
      if (!ok.has(result.status)) throw new Error(`${plan.gid} ${what} answered ${result.status}: ${result.text.slice(0, 300)}`);
      return result;
    };
    const gidPath = `/v1/transactions/${encodeURIComponent(plan.gid)}`;
    try {
      await step({ method: 'POST', path: '/v1/transactions', json: { gid: plan.gid, timeoutMs: plan.timeoutMs } }, 'begin');
      for (const b of plan.branches) {
        await step({ method: 'POST', path: `${gidPath}/branches`, json: { branchId: b.branchId, protocol: 'http', confirm: b.confirm, cancel: b.cancel } }, `register ${b.branchId}`);
      }
      if (plan.decision === 'abandon') return { plan, failovers, finishedAt: Date.now() };
      const decided = await step({ method: 'POST', path: `${gidPath}/${plan.decision}`, json: { wait: this.options.wait ?? false } }, plan.decision, new Set([200]));
      return { plan, answered: decided.body?.status, failovers, finishedAt: Date.now() };
    } catch (error) {
      const problem = (error as Error).message;
      this.problems.push(problem);
      return { plan, problem, failovers, finishedAt: Date.now() };
    }
  }

  /**
   * Runs every plan with `concurrency` workers, starting at most `perSecond` plans a second;
   * `onDone` sees the count of finished plans as it grows.
   */
  async runAll(plans: TransactionPlan[], concurrency: number, perSecond: number, onDone?: (done: number) => void): Promise<PlanOutcome[]> {
    const outcomes: PlanOutcome[] = new Array(plans.length);
    const started = Date.now();
    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= plans.length) return;
        const due = started + (i * 1000) / perSecond;
        if (due > Date.now()) await sleep(due - Date.now());
        outcomes[i] = await this.run(plans[i]);
        done++;
        onDone?.(done);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, () => worker()));
    return outcomes;
  }
}
