/**
 * The barrier's saga and message phases (docs/contract.md §5 "Saga steps and message deliveries",
 * §10) through every barrier adapter on MariaDB, PostgreSQL and SQLite: a Nest app with a saga
 * participant and a message handler served over HTTP, whose methods write `effects` rows through
 * their adapter's handle. Then a message initiator's prepared row and the queryPrepared endpoint:
 * asked while the initiator's local transaction is still open, the query waits for it (on the row's
 * lock; on SQLite behind the transaction queue) and answers what it finally did; a query that
 * answered ROLLED_BACK makes a late commit of the prepared row fail.
 */
import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  BARRIER_TABLE,
  BranchRefusal,
  MessageHandler,
  PREPARED_BRANCH_ID,
  PreparedRowTakenError,
  SagaAction,
  SagaCompensate,
  TCC_HEADERS,
  TccParticipant,
  barrierMigrationSql,
  runLocalTransaction,
  type BranchCall,
  type BranchPhase,
} from '@tcc/client';
import { BranchBarrier } from '@tcc/client/barrier/branch.barrier';
import { PreparedQuery } from '@tcc/client/initiator/prepared-query.service';
import { ParticipantDatabase } from '@tcc/client/participant/participant-database.provider';
import { randomId } from './support/databases';
import { ADAPTER_CASES, ADAPTERS, EFFECTS, createStore, startAdapterApp, type TestStore, type Wiring, type Write } from './support/adapter-wiring';
import { Http, type Answer } from './support/http';
import { closeAll, eventually } from '../support/wait';

interface Effects {
  refuse?: boolean;
  fail?: boolean;
}

function participantsOf(write: Write) {
  @TccParticipant('saga-effects')
  @Injectable()
  class SagaEffects {
    @SagaAction()
    async act(call: BranchCall, tx: unknown): Promise<{ wrote: string }> {
      await write(tx, call.gid, call.phase);
      // Refused after writing: the refusal must take the write and the barrier row back with it.
      if ((call.payload as Effects | null)?.refuse) throw new BranchRefusal('OUT_OF_STOCK', 'refused on purpose', 422);
      return { wrote: call.phase };
    }

    @SagaCompensate()
    async undo(call: BranchCall, tx: unknown): Promise<{ wrote: string }> {
      await write(tx, call.gid, call.phase);
      return { wrote: call.phase };
    }
  }

  @TccParticipant('msg-effects')
  @Injectable()
  class MessageEffects {
    @MessageHandler()
    async consume(call: BranchCall, tx: unknown): Promise<{ wrote: string }> {
      await write(tx, call.gid, call.phase);
      if ((call.payload as Effects | null)?.fail) throw new Error('failing the delivery on purpose, after its write');
      return { wrote: call.phase };
    }
  }
  return [SagaEffects, MessageEffects];
}

const gid = (): string => `g-${randomId(12)}`;

describe.each(ADAPTER_CASES)('saga and message barrier through the %s adapter on %s', (adapterName, engine) => {
  let store: TestStore;
  let wiring: Wiring;
  let app: NestFastifyApplication;
  let url: string;
  const http = new Http();

  const call = (participant: string, phase: BranchPhase, id: string, payload: unknown = null, branchId = 'b1'): Promise<Answer> =>
    http.post(`${url}/tcc/${participant}/${phase}`, { gid: id, branchId, phase, payload }, { [TCC_HEADERS.gid]: id, [TCC_HEADERS.branchId]: branchId, [TCC_HEADERS.phase]: phase });
  const query = (id: string): Promise<Answer> =>
    http.post(
      `${url}/tcc/query-prepared`,
      { gid: id, branchId: PREPARED_BRANCH_ID, phase: 'query', payload: null },
      { [TCC_HEADERS.gid]: id, [TCC_HEADERS.branchId]: PREPARED_BRANCH_ID, [TCC_HEADERS.phase]: 'query' },
    );
  const effects = async (id: string): Promise<string[]> => (await store.query<{ phase: string }>('SELECT phase FROM effects WHERE gid = ?', [id])).map((r) => r.phase).sort();
  const barrierRows = async (id: string): Promise<string[]> =>
    (await store.query<{ branch_id: string; phase: string; reason: string }>(`SELECT branch_id, phase, reason FROM ${BARRIER_TABLE} WHERE gid = ?`, [id]))
      .map((r) => `${r.branch_id}:${r.phase}:${r.reason}`)
      .sort();

  /**
   * The message initiator's local transaction: the prepared row and a business write, then it waits
   * for `decide` (true: commit; false: roll back). Resolves `open` once both are written.
   */
  function initiatorTransaction(id: string): { open: Promise<void>; decide(commit: boolean): void; done: Promise<void> } {
    const database = app.get(ParticipantDatabase).get();
    const barrier = new BranchBarrier(database.dialect);
    let opened!: () => void;
    let decide!: (commit: boolean) => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const decision = new Promise<boolean>((resolve) => (decide = resolve));
    const done = runLocalTransaction(database, async (sql, tx) => {
      await barrier.prepare(sql, id);
      await wiring.write(tx, id, 'business' as BranchPhase);
      opened();
      if (!(await decision)) throw new Error('rolled back on purpose');
    });
    // A transaction failing before it opened must fail the test, not leave it waiting.
    done.catch(() => opened());
    return { open, decide, done };
  }

  /**
   * Until the query is waiting for the open transaction: on a server, its insert of the prepared
   * key waiting on a lock (a statement still running); on SQLite, queued behind the transaction.
   */
  async function queryWaiting(answersBefore: number): Promise<void> {
    const answer = jest.mocked(app.get(PreparedQuery).answer);
    await eventually(() => answer.mock.calls.length > answersBefore, { what: 'the queryPrepared call to arrive' });
    if (store.dialect === 'sqlite') return;
    const waiting =
      store.dialect === 'postgres'
        ? () => store.query("SELECT pid FROM pg_stat_activity WHERE datname = ? AND wait_event_type = 'Lock' AND query LIKE ?", [store.name, `INSERT INTO ${BARRIER_TABLE}%`])
        : () => store.query('SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE ?', [store.name, `INSERT IGNORE INTO ${BARRIER_TABLE}%`]);
    await eventually(async () => (await waiting()).length === 1, { what: 'the query to wait on the prepared row' });
  }

  beforeAll(async () => {
    store = await createStore(engine, `libsaga_${adapterName}`);
    await store.query(EFFECTS);
    if (adapterName !== 'typeorm') for (const statement of barrierMigrationSql(store.dialect)) await store.query(statement);
    wiring = ADAPTERS[adapterName].wire(store);
    app = await startAdapterApp(wiring, participantsOf(wiring.write));
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    jest.spyOn(app.get(PreparedQuery), 'answer');
  });

  afterAll(() =>
    closeAll(
      () => app?.close(),
      () => wiring?.close(),
      () => http.close(),
      () => store?.drop(),
    ),
  );

  it('runs an action once and its compensation once, answering repeats from the barrier (stored as try and cancel)', async () => {
    const id = gid();
    const actions = await Promise.all([1, 2, 3].map(() => call('saga-effects', 'action', id)));
    expect(actions.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(actions.map((a) => String(a.body.outcome)).sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    const compensations = [await call('saga-effects', 'compensate', id), await call('saga-effects', 'compensate', id)];
    expect(compensations.map((c) => `${c.status}:${String(c.body.outcome)}`)).toEqual(['200:applied', '200:duplicate']);
    expect(compensations[0].body).toMatchObject({ gid: id, branchId: 'b1', phase: 'compensate', result: { wrote: 'compensate' } });
    expect(await effects(id)).toEqual(['action', 'compensate']);
    expect(await barrierRows(id)).toEqual(['b1:cancel:cancel', 'b1:try:try']);
  });

  it('records a compensation with no action as an empty compensation and refuses the action that comes after it (409 BRANCH_CANCELLED)', async () => {
    const id = gid();
    const compensation = await call('saga-effects', 'compensate', id);
    expect([compensation.status, compensation.body.outcome]).toEqual([200, 'empty-rollback']);
    const late = await call('saga-effects', 'action', id);
    expect([late.status, late.body.error]).toEqual([409, 'BRANCH_CANCELLED']);
    expect(String(late.body.message)).toContain('arrived after its compensation');
    expect(await effects(id)).toEqual([]);
    expect(await barrierRows(id)).toEqual(['b1:cancel:cancel', 'b1:try:cancel']);
  });

  it('answers a refused action with its 4xx, keeping neither its write nor its barrier row: its compensation is then empty', async () => {
    const id = gid();
    const refused = await call('saga-effects', 'action', id, { refuse: true });
    expect([refused.status, refused.body.error]).toEqual([422, 'OUT_OF_STOCK']);
    expect(await effects(id)).toEqual([]);
    expect(await barrierRows(id)).toEqual([]);
    expect((await call('saga-effects', 'compensate', id)).body.outcome).toBe('empty-rollback');
    expect(await effects(id)).toEqual([]);
  });

  it('orders a concurrent action and compensation of one step: either both ran, or the compensation was empty and the action refused', async () => {
    const ids = Array.from({ length: 12 }, gid);
    await Promise.all(
      ids.map(async (id, i) => {
        const [action, compensation] =
          i % 2 === 0
            ? await Promise.all([call('saga-effects', 'action', id), call('saga-effects', 'compensate', id)])
            : await Promise.all([call('saga-effects', 'compensate', id), call('saga-effects', 'action', id)]).then(([c, a]) => [a, c] as const);
        expect(compensation.status).toBe(200);
        if (action.status === 200) expect(await effects(id)).toEqual(['action', 'compensate']);
        else expect([action.status, compensation.body.outcome, await effects(id)]).toEqual([409, 'empty-rollback', []]);
      }),
    );
  });

  it('runs a message delivery once: redeliveries, concurrent or later, answer 200 duplicate without running', async () => {
    const id = gid();
    const deliveries = await Promise.all([1, 2, 3].map(() => call('msg-effects', 'message', id, { n: 1 }, 'notify')));
    expect(deliveries.map((d) => d.status)).toEqual([200, 200, 200]);
    expect(deliveries.map((d) => String(d.body.outcome)).sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    const again = await call('msg-effects', 'message', id, { n: 1 }, 'notify');
    expect([again.status, again.body.outcome]).toEqual([200, 'duplicate']);
    expect(await effects(id)).toEqual(['message']);
    expect(await barrierRows(id)).toEqual(['notify:msg:msg']);
    // Another step of the same message is its own delivery.
    expect((await call('msg-effects', 'message', id, null, 'audit')).body.outcome).toBe('applied');
    expect(await effects(id)).toEqual(['message', 'message']);
  });

  it('keeps nothing of a delivery whose handler fails, so the redelivery runs', async () => {
    const id = gid();
    expect((await call('msg-effects', 'message', id, { fail: true })).status).toBe(500);
    expect(await effects(id)).toEqual([]);
    expect(await barrierRows(id)).toEqual([]);
    expect((await call('msg-effects', 'message', id)).body.outcome).toBe('applied');
    expect(await effects(id)).toEqual(['message']);
  });

  it('answers 404 for a phase of another kind of participant, running nothing', async () => {
    const id = gid();
    const tried = await call('saga-effects', 'try', id);
    expect([tried.status, tried.body.message]).toEqual([404, 'participant "saga-effects" is a saga participant and has no try method']);
    expect((await call('msg-effects', 'action', id)).status).toBe(404);
    expect((await call('saga-effects', 'message', id)).status).toBe(404);
    expect((await call('saga-effects', 'query', id)).status).toBe(404);
    expect(await barrierRows(id)).toEqual([]);
  });

  it('answers queryPrepared ROLLED_BACK when no local transaction wrote the prepared row, after which the row can no longer commit', async () => {
    const id = gid();
    const first = await query(id);
    expect([first.status, first.body]).toEqual([200, { status: 'ROLLED_BACK' }]);
    expect((await query(id)).body).toEqual({ status: 'ROLLED_BACK' });
    const late = initiatorTransaction(id);
    late.decide(true);
    await expect(late.done).rejects.toBeInstanceOf(PreparedRowTakenError);
    expect(await effects(id)).toEqual([]);
    expect(await barrierRows(id)).toEqual(['prepared:prepared:rollback']);
  });

  it('makes a queryPrepared wait for the open local transaction and answer COMMITTED once it commits', async () => {
    const id = gid();
    const local = initiatorTransaction(id);
    await local.open;
    const answersBefore = jest.mocked(app.get(PreparedQuery).answer).mock.calls.length;
    const asked = query(id);
    await queryWaiting(answersBefore);
    local.decide(true);
    await local.done;
    const answer = await asked;
    expect([answer.status, answer.body]).toEqual([200, { status: 'COMMITTED' }]);
    expect(await effects(id)).toEqual(['business']);
    expect(await barrierRows(id)).toEqual(['prepared:prepared:commit']);
    expect((await query(id)).body).toEqual({ status: 'COMMITTED' });
  });

  it('makes a queryPrepared wait for the open local transaction and answer ROLLED_BACK once it rolls back; a later commit of the row fails', async () => {
    const id = gid();
    const local = initiatorTransaction(id);
    await local.open;
    const answersBefore = jest.mocked(app.get(PreparedQuery).answer).mock.calls.length;
    const asked = query(id);
    await queryWaiting(answersBefore);
    local.decide(false);
    await expect(local.done).rejects.toThrow('rolled back on purpose');
    const answer = await asked;
    expect([answer.status, answer.body]).toEqual([200, { status: 'ROLLED_BACK' }]);
    const retried = initiatorTransaction(id);
    retried.decide(true);
    await expect(retried.done).rejects.toBeInstanceOf(PreparedRowTakenError);
    expect(await effects(id)).toEqual([]);
    expect(await barrierRows(id)).toEqual(['prepared:prepared:rollback']);
  });

  it('refuses a malformed queryPrepared (400 naming the fields) without writing', async () => {
    const id = gid();
    const wrongBranch = await http.post(`${url}/tcc/query-prepared`, { gid: id, branchId: 'b1', phase: 'query', payload: null });
    expect([wrongBranch.status, wrongBranch.body.fields]).toEqual([400, ['branchId']]);
    const withPayload = await http.post(`${url}/tcc/query-prepared`, { gid: id, branchId: PREPARED_BRANCH_ID, phase: 'query', payload: { x: 1 } });
    expect([withPayload.status, withPayload.body.fields]).toEqual([400, ['payload']]);
    const wrongPhase = await http.post(`${url}/tcc/query-prepared`, { gid: id, branchId: PREPARED_BRANCH_ID, phase: 'try', payload: null });
    expect([wrongPhase.status, wrongPhase.body.fields]).toEqual([400, ['phase']]);
    expect(await barrierRows(id)).toEqual([]);
  });
});
