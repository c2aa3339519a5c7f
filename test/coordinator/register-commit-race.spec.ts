/**
 * A branch registered through one replica while the commit goes through another, hundreds of
 * times at once, on one database server (MariaDB, and PostgreSQL in the postgres project): the
 * registration and the decision both write the transaction's row (branch_count), so exactly one of
 * them goes first. A registration that answered 201 belongs to the decision (confirmed if
 * COMMITTED, cancelled if ROLLED_BACK); one that lost answered 409 and left nothing; no finished
 * transaction keeps a branch REGISTERED. test/galera runs the same race across the nodes of a
 * multi-writer Galera cluster, where only the row write keeps the two apart.
 */
import type { DecisionResponse, TransactionView } from '@tcc/client';
import type { HttpResult } from '../support/coordinator.api';
import { createStore, SERVER, startCoordinator, type RunningCoordinator, type TestStore } from '../support/coordinator.in-process';
import { ParticipantServer } from '../support/participant.server';
import { closeAll, eventually, randomSuffix } from '../support/wait';

const TRANSACTIONS = 300;
const CONCURRENCY = 24;
const REPLICA_ENV = {
  TCC_SCAN_INTERVAL_MS: '100',
  TCC_RETRY_BASE_MS: '50',
  TCC_RETRY_MAX_MS: '500',
  TCC_REQUEST_TIMEOUT_MS: '2000',
  TCC_COMMIT_WAIT_MS: '10000',
};

interface Race {
  gid: string;
  /** Branches whose registration answered 201. */
  registered: string[];
  late?: HttpResult<unknown>;
  commit?: HttpResult<DecisionResponse>;
  final?: TransactionView;
  errors: string[];
}

describe(`a registration through one replica racing the commit through another on ${SERVER}`, () => {
  let store: TestStore | undefined;
  let a: RunningCoordinator | undefined;
  let b: RunningCoordinator | undefined;
  let participant: ParticipantServer;

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    store = await createStore(SERVER);
    a = await startCoordinator(store, REPLICA_ENV);
    b = await startCoordinator(store, REPLICA_ENV);
  });

  afterAll(async () => {
    await closeAll(
      () => a?.close(),
      () => b?.close(),
      () => participant?.close(),
      () => store?.dispose(),
    );
  });

  it(`keeps every registered branch in the decision over ${TRANSACTIONS} races`, async () => {
    const route = participant.branch('late');
    const suffix = randomSuffix(6);

    const race = async (i: number): Promise<Race> => {
      const gid = `reg-race-${i}-${suffix}`;
      const outcome: Race = { gid, registered: [], errors: [] };
      const begun = await a!.api.begin({ gid, timeoutMs: 30_000 });
      if (begun.status !== 201) {
        outcome.errors.push(`begin answered ${begun.status} ${begun.text}`);
        return outcome;
      }
      const first = await a!.api.register(gid, { branchId: 'b0', protocol: 'http', ...route, payload: { i } });
      if (first.status !== 201) outcome.errors.push(`register b0 answered ${first.status} ${first.text}`);
      else outcome.registered.push('b0');
      // The late branch through replica A and the commit through replica B, sent together.
      const [late, commit] = await Promise.all([
        a!.api.register(gid, { branchId: 'late', protocol: 'http', ...route, payload: { i } }),
        b!.api.commit(gid, { wait: true }),
      ]);
      outcome.late = late;
      outcome.commit = commit;
      if (late.status === 201) outcome.registered.push('late');
      else if (late.status !== 409) outcome.errors.push(`late register answered ${late.status} ${late.text}`);
      if (commit.status !== 200) outcome.errors.push(`commit answered ${commit.status} ${commit.text}`);
      return outcome;
    };
    const races: Race[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < TRANSACTIONS) races.push(await race(next++));
      }),
    );

    await eventually(
      async () => {
        for (const o of races.filter((r) => r.final?.status !== 'COMMITTED')) {
          const res = await a!.api.get(o.gid);
          if (res.status === 200) o.final = res.body;
        }
        return races.every((o) => o.final?.status === 'COMMITTED');
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'every raced transaction to be COMMITTED' },
    );

    const violations: string[] = [];
    let lateWon = 0;
    let lateLost = 0;
    let leftRegistered = 0;
    for (const o of races) {
      const v = (msg: string): number => violations.push(`${o.gid}: ${msg}`);
      o.errors.forEach(v);
      if (o.late?.status === 201) lateWon++;
      else lateLost++;
      const shown = o.final!.branches.map((branch) => branch.branchId).sort();
      if (JSON.stringify(shown) !== JSON.stringify([...o.registered].sort())) v(`shows branches ${shown} but ${o.registered} answered 201`);
      for (const branch of o.final!.branches) {
        if (branch.status === 'REGISTERED') leftRegistered++;
        if (branch.status !== 'CONFIRMED') v(`branch ${branch.branchId} is ${branch.status} in a COMMITTED transaction`);
      }
      for (const branchId of o.registered) {
        if (participant.callsFor(o.gid, branchId, 'confirm').length === 0) v(`branch ${branchId} answered 201 but never got a confirm`);
      }
    }
    // eslint-disable-next-line no-console
    console.log(`register/commit race on ${SERVER}: ${TRANSACTIONS} transactions; the late branch went in first ${lateWon} times, after the decision (409) ${lateLost} times; ${leftRegistered} branches left REGISTERED`);
    expect(leftRegistered).toBe(0);
    expect(violations.slice(0, 50)).toEqual([]);
  });
});
