/**
 * Admin API (docs/contract.md §7, §9, §10) on sagas and reliable messages, against the built
 * coordinator on the test server database (MariaDB or PostgreSQL, by jest project): the list by
 * mode, a saga's detail with its steps and failures, force compensate of a saga waiting between
 * retries (409 in the middle of a round and once finished), retry and resolve by hand while it
 * compensates; abort of a PREPARED message (409 once submitted), ask now (queryPrepared), retry and
 * resolve of a delivery. Participants and initiators are a real HTTP server in the test.
 */
import type { MessageStep, SagaStep } from '@tcc/client';
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { closeAll, eventually, randomSuffix } from '../support/wait';
import type { AdminDetail, OperateClient } from './support/admin.client';
import { newAdminToken, startOperateCoordinator, type OperateCoordinator } from './support/operate.coordinator';

const TOKEN = newAdminToken();
const HOUR = 3_600_000;
const FOREVER = 1_000_000;

interface AuditRow {
  gid: string;
  branch_id: string | null;
  action: string;
  actor: string;
  reason: string | null;
}

describe('admin API on sagas and messages', () => {
  let database: TestDatabase | undefined;
  let coordinator: OperateCoordinator | undefined;
  let participant: ParticipantServer;
  let admin: OperateClient;

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    database = await createTestDatabase();
    coordinator = await startOperateCoordinator({
      TCC_DB_URL: database.url,
      TCC_ADMIN_TOKEN: TOKEN,
      // Long enough for a call held open by the test to keep its round (and lease) going.
      TCC_REQUEST_TIMEOUT_MS: '5000',
      TCC_LEASE_MS: '10000',
      // The scheduler retries only after a minute: every later call in these tests is one we caused.
      TCC_RETRY_BASE_MS: '60000',
      TCC_RETRY_MAX_MS: '60000',
      TCC_SCAN_INTERVAL_MS: '200',
      TCC_COMMIT_WAIT_MS: '5000',
    });
    admin = coordinator.admin;
  });

  afterAll(async () => {
    await closeAll(
      () => coordinator?.close(),
      () => participant?.close(),
      () => database?.drop(),
    );
  });

  // ---- making sagas and messages in a known state --------------------------------------------

  /** Step `id` of saga `gid`: action `/<gid>/<id>/action`, compensation `/<gid>/<id>/compensate`. */
  function sagaStep(gid: string, id: string): SagaStep {
    return { branchId: id, participant: `svc-${id}`, protocol: 'http', action: participant.url(`/${gid}/${id}/action`), compensate: participant.url(`/${gid}/${id}/compensate`), payload: { id } };
  }

  /** A message asked about only by hand (its timeout is an hour): queryPrepared `/<gid>/query`, deliveries `/<gid>/<id>/deliver`. */
  function message(gid: string, ids: string[]) {
    const steps: MessageStep[] = ids.map((id) => ({ branchId: id, participant: `svc-${id}`, protocol: 'http', action: participant.url(`/${gid}/${id}/deliver`), payload: { id } }));
    return { gid, timeoutMs: HOUR, queryPrepared: participant.url(`/${gid}/query`), steps };
  }

  /** Polls the admin detail until `ready` holds. */
  function until(gid: string, what: string, ready: (view: AdminDetail) => boolean): Promise<AdminDetail> {
    let last = '';
    return eventually(
      async () => {
        const view = await admin.view(gid);
        last = `${view.status} owner=${view.owner} ${view.branches.map((b) => `${b.branchId}:${b.status}/${b.attempts}`).join(' ')}`;
        return ready(view) ? view : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50, what: `${gid}: ${what}` },
    ).catch((error: Error) => {
      throw new Error(`${error.message} (last seen ${last})`);
    });
  }

  const step = (view: AdminDetail, id: string) => view.branches.find((b) => b.branchId === id)!;

  /**
   * A sequential saga s1, s2, s3 whose s2 action keeps failing with 503: s1 succeeded, s2 failed
   * once, and the saga waits a minute for its next round, no replica holding it.
   */
  async function waitingSaga(label: string): Promise<string> {
    const gid = `${label}-${randomSuffix(10)}`;
    participant.behave(`/${gid}/s2/action`, { kind: 'fail', status: 503, times: FOREVER });
    const res = await coordinator!.api.startSaga({ gid, timeoutMs: HOUR, steps: ['s1', 's2', 's3'].map((id) => sagaStep(gid, id)) });
    expect([res.status, res.body.status]).toEqual([201, 'COMMITTING']);
    await until(gid, 'the s2 action to fail once and the round to end', (v) => v.status === 'COMMITTING' && v.owner === null && step(v, 's2').attempts === 1);
    return gid;
  }

  async function auditRows(gid: string): Promise<AuditRow[]> {
    return database!.query<AuditRow>('SELECT gid, branch_id, action, actor, reason FROM tcc_audit WHERE gid = ? ORDER BY id', [gid]);
  }

  const gidsOf = (items: { gid: string }[]): string[] => items.map((t) => t.gid);
  const sorted = (gids: string[]): string[] => [...gids].sort();

  // ---- the list ------------------------------------------------------------------------------

  describe('the list by mode', () => {
    const made: Record<'tcc' | 'saga' | 'message', string[]> = { tcc: [], saga: [], message: [] };

    beforeAll(async () => {
      for (let k = 0; k < 3; k++) {
        const gid = `mode-tcc${k}-${randomSuffix(8)}`;
        expect((await coordinator!.api.begin({ gid, timeoutMs: HOUR })).status).toBe(201);
        made.tcc.push(gid);
      }
      for (let k = 0; k < 2; k++) {
        const gid = `mode-saga${k}-${randomSuffix(8)}`;
        const res = await coordinator!.api.startSaga({ gid, steps: [sagaStep(gid, 's1')], wait: true });
        expect(res.body.status).toBe('COMMITTED');
        made.saga.push(gid);
      }
      for (let k = 0; k < 2; k++) {
        const gid = `mode-msg${k}-${randomSuffix(8)}`;
        expect((await coordinator!.api.prepareMessage(message(gid, ['a']))).status).toBe(201);
        made.message.push(gid);
      }
    });

    it('each item carries its mode; ?mode= lists exactly the transactions of that mode, and the three lists partition the whole', async () => {
      const all = (await admin.listAll()).items;
      const modeOf = new Map(all.map((t) => [t.gid, t.mode]));
      for (const mode of ['tcc', 'saga', 'message'] as const) {
        for (const gid of made[mode]) expect({ gid, mode: modeOf.get(gid) }).toEqual({ gid, mode });
      }
      const byMode: string[][] = [];
      for (const mode of ['tcc', 'saga', 'message'] as const) {
        const items = (await admin.listAll({ mode })).items;
        for (const t of items) expect({ gid: t.gid, mode: t.mode }).toEqual({ gid: t.gid, mode });
        expect(gidsOf(items)).toEqual(expect.arrayContaining(made[mode]));
        expect(sorted(gidsOf(items))).toEqual(sorted(all.filter((t) => t.mode === mode).map((t) => t.gid)));
        byMode.push(gidsOf(items));
      }
      expect(sorted(byMode.flat())).toEqual(sorted(gidsOf(all)));
    });

    it('combines with status; a mode that does not exist is a 400 naming mode', async () => {
      expect(sorted(gidsOf((await admin.listAll({ mode: 'message', status: 'PREPARED' })).items))).toEqual(expect.arrayContaining(made.message));
      for (const t of (await admin.listAll({ mode: 'message', status: 'PREPARED' })).items) expect([t.mode, t.status]).toEqual(['message', 'PREPARED']);
      expect((await admin.listAll({ mode: 'saga', status: 'PREPARED' })).items).toEqual([]);
      expect((await admin.listAll({ mode: 'tcc', status: 'PREPARED' })).items).toEqual([]);
      const committedSagas = gidsOf((await admin.listAll({ mode: 'saga', status: 'COMMITTED' })).items);
      expect(committedSagas).toEqual(expect.arrayContaining(made.saga));
      const trying = gidsOf((await admin.listAll({ mode: 'tcc', status: 'TRYING' })).items);
      expect(trying).toEqual(expect.arrayContaining(made.tcc));
      expect(trying).not.toContain(made.message[0]);
      for (const mode of ['xa', 'SAGA', '']) {
        const res = await admin.list({ mode });
        expect({ mode, status: res.status, fields: res.error.fields }).toEqual({ mode, status: 400, fields: ['mode'] });
      }
    });
  });

  // ---- sagas ---------------------------------------------------------------------------------

  describe('a saga', () => {
    it('detail: the mode, the steps with their statuses, attempts and last error, and the failed actions', async () => {
      const gid = await waitingSaga('saga-detail');
      const view = await admin.view(gid);
      expect(view).toMatchObject({ gid, mode: 'saga', status: 'COMMITTING', owner: null, reason: null, audit: [] });
      expect(Date.parse(view.nextAttemptAt!)).toBeGreaterThan(Date.now() + 30_000);
      expect(view.branches.map((b) => [b.branchId, b.participant, b.status, b.attempts])).toEqual([
        ['s1', 'svc-s1', 'SUCCEEDED', 1],
        ['s2', 'svc-s2', 'REGISTERED', 1],
        ['s3', 'svc-s3', 'REGISTERED', 0],
      ]);
      expect(step(view, 's1').lastError).toBeNull();
      expect(step(view, 's2').lastError).toMatch(/503/);
      expect(step(view, 's3').lastError).toBeNull();
      expect(view.failures.map((f) => [f.branchId, f.phase, f.attempt])).toEqual([['s2', 'action', 1]]);
      expect(view.failures[0].error).toMatch(/503/);
    });

    it('force compensate while it waits between retries: no action sent again, every sent step compensated in reverse order, the unsent one SKIPPED; audited', async () => {
      const gid = await waitingSaga('saga-force');
      const res = await admin.forceRollback(gid, { reason: 'supplier closed' }, { 'x-tcc-actor': 'erin' });
      expect(res.status).toBe(200);
      expect(['ROLLING_BACK', 'ROLLED_BACK']).toContain(res.body.status);
      const view = await until(gid, 'ROLLED_BACK', (v) => v.status === 'ROLLED_BACK');
      expect(view.branches.map((b) => [b.branchId, b.status])).toEqual([
        ['s1', 'COMPENSATED'],
        ['s2', 'COMPENSATED'],
        ['s3', 'SKIPPED'],
      ]);
      expect(step(view, 's3').lastError).toMatch(/never sent/);
      expect(view.reason).toMatch(/forced by erin: supplier closed/);
      // The failing action was not sent again; its step was compensated first, then s1's.
      expect(participant.callsFor(gid, 's2', 'action')).toHaveLength(1);
      const [s2Compensation] = participant.callsFor(gid, 's2', 'compensate');
      const [s1Compensation] = participant.callsFor(gid, 's1', 'compensate');
      expect(s2Compensation.seq).toBeGreaterThan(participant.callsFor(gid, 's2', 'action')[0].seq);
      expect(s1Compensation.seq).toBeGreaterThan(s2Compensation.seq);
      expect(participant.callsFor(gid, 's1', 'compensate')).toHaveLength(1);
      expect(participant.callsFor(gid, 's3')).toEqual([]);

      expect(view.audit).toEqual([{ action: 'force-rollback', actor: 'erin', reason: 'supplier closed', branchId: null, createdAt: expect.any(String) }]);
      expect(await auditRows(gid)).toEqual([{ gid, branch_id: null, action: 'force-rollback', actor: 'erin', reason: 'supplier closed' }]);
      expect((await coordinator!.api.view(gid)).status).toBe('ROLLED_BACK');

      // Finished: forcing it again is a 409 with its status, and writes nothing.
      const again = await admin.forceRollback(gid, { reason: 'twice' });
      expect([again.status, again.error.status]).toEqual([409, 'ROLLED_BACK']);
      expect(await auditRows(gid)).toHaveLength(1);
    });

    it('force compensate: 409 while a replica is in the middle of a round, and for a COMMITTED saga; nothing audited', async () => {
      const gid = `saga-busy-${randomSuffix(10)}`;
      // The action is held open by the test: the round (and its lease) lasts until it is released.
      participant.behave(`/${gid}/s1/action`, { kind: 'hang', times: 1 });
      expect((await coordinator!.api.startSaga({ gid, timeoutMs: HOUR, steps: [sagaStep(gid, 's1')] })).body.status).toBe('COMMITTING');
      await participant.waitForCalls((c) => c.gid === gid && c.phase === 'action');
      const busy = await admin.forceRollback(gid, { reason: 'while it runs' });
      expect([busy.status, busy.error.status]).toEqual([409, 'COMMITTING']);
      expect(busy.error.message).toMatch(/under way/);
      expect(await auditRows(gid)).toEqual([]);

      participant.releaseHanging();
      const view = await until(gid, 'COMMITTED once its action answered', (v) => v.status === 'COMMITTED');
      expect(view.branches.map((b) => b.status)).toEqual(['SUCCEEDED']);
      expect(participant.callsFor(gid, undefined, 'compensate')).toEqual([]);

      const finished = await admin.forceRollback(gid, { reason: 'too late' });
      expect([finished.status, finished.error.status]).toEqual([409, 'COMMITTED']);
      expect(finished.error.message).toMatch(/only a COMMITTING saga/);
      expect((await admin.view(gid)).status).toBe('COMMITTED');
      expect(await auditRows(gid)).toEqual([]);
    });

    it('force compensate needs a reason (400), and leaves the saga running without one', async () => {
      const gid = await waitingSaga('saga-noreason');
      for (const body of [{}, { reason: '' }, { reason: '   ' }]) {
        const res = await admin.forceRollback(gid, body);
        expect({ body, status: res.status, fields: res.error.fields }).toEqual({ body, status: 400, fields: ['reason'] });
      }
      expect((await admin.view(gid)).status).toBe('COMMITTING');
      expect(await auditRows(gid)).toEqual([]);
    });

    it('retry now between rounds sends the failing action again; once it succeeds the saga goes on and commits', async () => {
      const gid = await waitingSaga('saga-retry');
      const res = await admin.retry(gid, { reason: 'supplier back' });
      expect(res.body).toEqual({ gid, status: 'COMMITTING' });
      const view = await until(gid, 'the second round to end', (v) => v.owner === null && step(v, 's2').attempts === 2);
      expect(view.failures.map((f) => [f.branchId, f.phase, f.attempt])).toEqual([
        ['s2', 'action', 2],
        ['s2', 'action', 1],
      ]);
      expect(participant.callsFor(gid, 's3')).toEqual([]);

      participant.behave(`/${gid}/s2/action`, { kind: 'ok' });
      expect((await admin.retry(gid)).body).toEqual({ gid, status: 'COMMITTED' });
      expect(participant.callsFor(gid, 's2', 'action').map((c) => c.answer)).toEqual([503, 503, 200]);
      expect(participant.callsFor(gid, 's3', 'action')).toHaveLength(1);
      expect((await admin.view(gid)).branches.map((b) => b.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
      expect((await auditRows(gid)).map((r) => [r.action, r.reason])).toEqual([
        ['retry', 'supplier back'],
        ['retry', null],
      ]);
    });

    it('ROLLING_BACK: the step whose compensation keeps failing resolved by hand (COMPENSATED), then retry compensates the step it held up', async () => {
      const gid = `saga-resolve-${randomSuffix(10)}`;
      participant.behave(`/${gid}/s2/action`, { kind: 'fail', status: 409, times: 1 });
      participant.behave(`/${gid}/s2/compensate`, { kind: 'fail', status: 503, times: FOREVER });
      await coordinator!.api.startSaga({ gid, timeoutMs: HOUR, steps: ['s1', 's2', 's3'].map((id) => sagaStep(gid, id)) });
      let view = await until(gid, 'its first compensation round to fail and end', (v) => v.status === 'ROLLING_BACK' && v.owner === null && participant.callsFor(gid, 's2', 'compensate').length === 1);
      // s1 is compensated only after s2 (reverse order): it waits for s2, whose compensation fails.
      expect(view.branches.map((b) => [b.branchId, b.status])).toEqual([
        ['s1', 'SUCCEEDED'],
        ['s2', 'FAILED'],
        ['s3', 'SKIPPED'],
      ]);
      expect(view.failures.map((f) => [f.branchId, f.phase])).toEqual([
        ['s2', 'compensate'],
        ['s2', 'action'],
      ]);
      expect(participant.callsFor(gid, 's1', 'compensate')).toEqual([]);

      // A step never sent owes nothing: not resolvable.
      const skipped = await admin.resolve(gid, 's3', { reason: 'nothing to undo' });
      expect([skipped.status, skipped.error.status]).toEqual([409, 'ROLLING_BACK']);

      const resolved = await admin.resolve(gid, 's2', { reason: 'refund made by hand' }, { 'x-tcc-actor': 'gina' });
      expect(resolved.body).toEqual({ gid, status: 'ROLLING_BACK' });
      view = await admin.view(gid);
      expect(view.branches.map((b) => b.status)).toEqual(['SUCCEEDED', 'COMPENSATED', 'SKIPPED']);
      expect(step(view, 's2').lastError).toMatch(/resolved by gina: refund made by hand/);
      const twice = await admin.resolve(gid, 's2', { reason: 'again' });
      expect(twice.status).toBe(409);

      expect((await admin.retry(gid)).body).toEqual({ gid, status: 'ROLLED_BACK' });
      expect(participant.callsFor(gid, 's1', 'compensate').map((c) => c.answer)).toEqual([200]);
      expect(participant.callsFor(gid, 's2', 'compensate')).toHaveLength(1);
      view = await admin.view(gid);
      expect(view.branches.map((b) => b.status)).toEqual(['COMPENSATED', 'COMPENSATED', 'SKIPPED']);
      expect(view.audit.map((a) => [a.action, a.actor, a.branchId, a.reason])).toEqual([
        ['resolve-branch', 'gina', 's2', 'refund made by hand'],
        ['retry', 'admin', null, null],
      ]);
      expect((await auditRows(gid)).map((r) => [r.action, r.branch_id])).toEqual([
        ['resolve-branch', 's2'],
        ['retry', null],
      ]);
    });
  });

  // ---- messages ------------------------------------------------------------------------------

  describe('a message', () => {
    it('abort while PREPARED: ROLLED_BACK at once, nothing delivered, audited; submit and abort again answer 409', async () => {
      const gid = `msg-abort-${randomSuffix(10)}`;
      expect((await coordinator!.api.prepareMessage(message(gid, ['a', 'b']))).body.status).toBe('PREPARED');
      const before = await admin.view(gid);
      expect(before).toMatchObject({ mode: 'message', status: 'PREPARED' });
      expect(before.branches.map((b) => [b.branchId, b.status, b.attempts])).toEqual([
        ['a', 'REGISTERED', 0],
        ['b', 'REGISTERED', 0],
      ]);

      const res = await admin.forceRollback(gid, { reason: 'order was never saved' }, { 'x-tcc-actor': 'frank' });
      expect([res.status, res.body]).toEqual([200, { gid, status: 'ROLLED_BACK' }]);
      const view = await admin.view(gid);
      expect(view.status).toBe('ROLLED_BACK');
      expect(view.reason).toMatch(/forced by frank: order was never saved/);
      expect(view.audit).toEqual([{ action: 'force-rollback', actor: 'frank', reason: 'order was never saved', branchId: null, createdAt: expect.any(String) }]);
      expect(await auditRows(gid)).toEqual([{ gid, branch_id: null, action: 'force-rollback', actor: 'frank', reason: 'order was never saved' }]);

      const submit = await coordinator!.api.submitMessage(gid);
      expect([submit.status, submit.error.status]).toEqual([409, 'ROLLED_BACK']);
      const again = await admin.forceRollback(gid, { reason: 'twice' });
      expect([again.status, again.error.status]).toEqual([409, 'ROLLED_BACK']);
      expect(await auditRows(gid)).toHaveLength(1);
      expect(participant.callsFor(gid)).toEqual([]);
    });

    it('once submitted, abort is a 409; retry sends the failing delivery again, and resolving it by hand finishes the message', async () => {
      const gid = `msg-submitted-${randomSuffix(10)}`;
      participant.behave(`/${gid}/b/deliver`, { kind: 'fail', status: 503, times: FOREVER });
      await coordinator!.api.prepareMessage(message(gid, ['a', 'b']));
      expect((await coordinator!.api.submitMessage(gid)).body.status).toBe('COMMITTING');
      await until(gid, 'the first delivery round to end', (v) => v.owner === null && step(v, 'b').attempts === 1);

      const abort = await admin.forceRollback(gid, { reason: 'too late' });
      expect([abort.status, abort.error.status]).toEqual([409, 'COMMITTING']);
      expect(abort.error.message).toMatch(/only a PREPARED message/);
      expect(await auditRows(gid)).toEqual([]);

      expect((await admin.retry(gid)).body).toEqual({ gid, status: 'COMMITTING' });
      expect(participant.callsFor(gid, 'b', 'message')).toHaveLength(2);
      expect(participant.callsFor(gid, 'a', 'message')).toHaveLength(1);

      const delivered = await admin.resolve(gid, 'a', { reason: 'already delivered' });
      expect([delivered.status, delivered.error.status]).toEqual([409, 'COMMITTING']);
      const resolved = await admin.resolve(gid, 'b', { reason: 'mail sent by hand' });
      expect(resolved.body).toEqual({ gid, status: 'COMMITTED' });
      const view = await admin.view(gid);
      expect(view.branches.map((b) => [b.branchId, b.status])).toEqual([
        ['a', 'SUCCEEDED'],
        ['b', 'SUCCEEDED'],
      ]);
      expect(step(view, 'b').lastError).toMatch(/resolved by admin: mail sent by hand/);

      const finished = await admin.forceRollback(gid, { reason: 'later still' });
      expect([finished.status, finished.error.status]).toEqual([409, 'COMMITTED']);
      expect((await auditRows(gid)).map((r) => [r.action, r.branch_id])).toEqual([
        ['retry', null],
        ['resolve-branch', 'b'],
      ]);
    });

    it('ask now: a queryPrepared that fails leaves it PREPARED (failure shown as prepared/query); one answering COMMITTED delivers at once', async () => {
      const gid = `msg-ask-${randomSuffix(10)}`;
      participant.behave(`/${gid}/query`, { kind: 'fail', status: 503, times: FOREVER });
      await coordinator!.api.prepareMessage(message(gid, ['a']));
      // Its timeout is an hour away: nobody asks unless told.
      expect(participant.callsFor(gid)).toEqual([]);

      expect((await admin.retry(gid, { reason: 'is it there?' })).body).toEqual({ gid, status: 'PREPARED' });
      const [query] = participant.callsFor(gid, 'prepared', 'query');
      expect(query.body).toEqual({ gid, branchId: 'prepared', phase: 'query', payload: null });
      let view = await until(gid, 'the query round to end', (v) => v.owner === null);
      expect(view.status).toBe('PREPARED');
      expect(view.failures.map((f) => [f.branchId, f.phase, f.attempt])).toEqual([['prepared', 'query', 1]]);
      expect(view.failures[0].error).toMatch(/503/);
      expect(participant.callsFor(gid, undefined, 'message')).toEqual([]);

      participant.behave(`/${gid}/query`, { kind: 'ok', body: '{"status":"COMMITTED"}' });
      expect((await admin.retry(gid, { reason: 'initiator back' }, { 'x-tcc-actor': 'hana' })).body).toEqual({ gid, status: 'COMMITTED' });
      expect(participant.callsFor(gid, 'prepared', 'query').map((c) => c.answer)).toEqual([503, 200]);
      expect(participant.callsFor(gid, 'a', 'message').map((c) => c.answer)).toEqual([200]);
      view = await admin.view(gid);
      expect(view.branches.map((b) => [b.branchId, b.status, b.attempts])).toEqual([['a', 'SUCCEEDED', 1]]);
      expect(view.audit.map((a) => [a.action, a.actor, a.reason])).toEqual([
        ['retry', 'admin', 'is it there?'],
        ['retry', 'hana', 'initiator back'],
      ]);
      expect(await auditRows(gid)).toHaveLength(2);
    });
  });
});
