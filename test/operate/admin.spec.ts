/**
 * Admin API (docs/contract.md §7) against the built coordinator on MariaDB: the bearer token, the list's
 * filters and cursor paging, one transaction's detail, and every manual action with its audit row,
 * read both through the API and from tcc_audit. Participants are real HTTP servers in the test.
 */
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { eventually, randomSuffix, sleep, closeAll } from '../support/wait';
import type { AdminDetail, AdminSummary, OperateClient } from './support/admin.client';
import { newAdminToken, startOperateCoordinator, type OperateCoordinator } from './support/operate.coordinator';

const TOKEN = newAdminToken();
const HOUR = 3_600_000;

interface AuditRow {
  gid: string;
  branch_id: string | null;
  action: string;
  actor: string;
  reason: string | null;
  created_at: number | string;
}

describe('admin API on MariaDB', () => {
  let database: TestDatabase | undefined;
  let coordinator: OperateCoordinator | undefined;
  let participant: ParticipantServer | undefined;
  let admin: OperateClient;

  beforeAll(async () => {
    participant = await ParticipantServer.start();
    database = await createTestDatabase();
    coordinator = await startOperateCoordinator({
      TCC_DB_URL: database.url,
      TCC_ADMIN_TOKEN: TOKEN,
      TCC_REQUEST_TIMEOUT_MS: '500',
      TCC_LEASE_MS: '2000',
      // The scheduler retries only after a minute: every call in these tests is one we caused.
      TCC_RETRY_BASE_MS: '60000',
      TCC_RETRY_MAX_MS: '60000',
      TCC_SCAN_INTERVAL_MS: '200',
      TCC_ATTENTION_AFTER_MS: '0',
      TCC_COMMIT_WAIT_MS: '3000',
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

  // ---- making transactions in a known state --------------------------------------------------

  /** Begins a transaction and registers one branch per participant name (`b1`, `b2`, ...). */
  async function begin(label: string, participants: string[]): Promise<string> {
    const gid = `${label}-${randomSuffix(10)}`;
    const res = await coordinator!.api.begin({ gid, timeoutMs: HOUR });
    expect(res.status).toBe(201);
    for (const [k, name] of participants.entries()) {
      const reg = await coordinator!.api.register(gid, { branchId: `b${k + 1}`, participant: name, protocol: 'http', ...participant!.branch(name) });
      expect(reg.status).toBe(201);
    }
    return gid;
  }

  /** Waits until phase two has made `attempts` attempts on every pending branch and let go of the lease. */
  async function settled(gid: string, attempts = 1): Promise<AdminDetail> {
    return eventually(
      async () => {
        const view = await admin.view(gid);
        const pending = view.branches.filter((b) => b.status === 'REGISTERED');
        return view.owner === null && pending.length > 0 && pending.every((b) => b.attempts >= attempts) ? view : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 50, what: `${gid} to settle after ${attempts} failed attempt(s)` },
    );
  }

  /** A COMMITTING transaction whose first round of confirms failed. */
  async function committingStuck(label: string, participants: string[]): Promise<string> {
    const gid = await begin(label, participants);
    const res = await coordinator!.api.commit(gid, { wait: false });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('COMMITTING');
    await settled(gid);
    return gid;
  }

  async function auditRows(gid: string): Promise<AuditRow[]> {
    return database!.query<AuditRow>('SELECT gid, branch_id, action, actor, reason, created_at FROM tcc_audit WHERE gid = ? ORDER BY id', [gid]);
  }

  const gidsOf = (items: AdminSummary[]): string[] => items.map((t) => t.gid);
  const sorted = (gids: string[]): string[] => [...gids].sort();

  // ---- auth ----------------------------------------------------------------------------------

  describe('the bearer token', () => {
    it('401 without a token, with a wrong one or another scheme, on reads and actions alike; 200 with the right one', async () => {
      const gid = await begin('auth', ['svc-auth']);
      const cases: [string, OperateClient][] = [
        ['no header', admin.as(undefined)],
        ['wrong token', admin.as(`${TOKEN}x`)],
        ['a prefix of the token', admin.as(TOKEN.slice(0, 16))],
        ['empty bearer', admin.as('')],
      ];
      for (const [what, client] of cases) {
        for (const res of [await client.list(), await client.detail(gid), await client.forceRollback(gid, { reason: 'not allowed' })]) {
          expect({ what, status: res.status }).toEqual({ what, status: 401 });
          expect(res.error.message).toBe('missing or wrong admin token');
        }
        await client.close();
      }
      const basic = await admin.as(undefined).send('GET', '/admin/v1/transactions', { headers: { authorization: `Basic ${TOKEN}` } });
      expect(basic.status).toBe(401);

      // Nothing was done by the refused action.
      expect((await coordinator!.api.view(gid)).status).toBe('TRYING');
      expect(await auditRows(gid)).toEqual([]);

      const ok = await admin.list();
      expect(ok.status).toBe(200);
      expect(gidsOf(ok.body.items)).toContain(gid);
      const lower = await admin.as(undefined).send('GET', `/admin/v1/transactions/${gid}`, { headers: { authorization: `bearer ${TOKEN}` } });
      expect(lower.status).toBe(200);
    });

    it('with no TCC_ADMIN_TOKEN configured, refuses everything with 401 saying the admin API is disabled, and says so at start', async () => {
      const unguarded = await startOperateCoordinator({ TCC_DB_URL: database!.url, TCC_LOG_LEVEL: 'warn', TCC_SCAN_INTERVAL_MS: '60000' });
      try {
        const gid = await begin('disabled', ['svc-auth']);
        for (const client of [unguarded.admin.as(undefined), unguarded.admin.as(TOKEN), unguarded.admin.as('a-token-of-16-chars-or-more')]) {
          for (const res of [await client.list(), await client.detail(gid), await client.forceRollback(gid, { reason: 'no admin' })]) {
            expect(res.status).toBe(401);
            expect(res.error.message).toMatch(/admin API is disabled.*TCC_ADMIN_TOKEN/);
          }
          await client.close();
        }
        expect((await coordinator!.api.view(gid)).status).toBe('TRYING');
        // The public API is not affected.
        expect((await unguarded.api.get(gid)).status).toBe(200);
        // "says so at start": a line in the start-up output naming the missing setting.
        expect(unguarded.process.logs).toMatch(/TCC_ADMIN_TOKEN/);
      } finally {
        await unguarded.close();
      }
    });
  });

  // ---- the list ------------------------------------------------------------------------------

  describe('the list', () => {
    const batches: Record<'A' | 'B' | 'C' | 'committed' | 'rolledBack' | 'stuck', string[]> = { A: [], B: [], C: [], committed: [], rolledBack: [], stuck: [] };
    let all: string[] = [];

    beforeAll(async () => {
      participant!.behave('/svc-broken/confirm', { kind: 'fail', status: 500, times: 1_000_000 });
      // Three batches apart in time for the created range; none of them times out during the spec.
      for (let k = 0; k < 8; k++) batches.A.push(await begin(`list-a${k}`, ['svc-a']));
      await sleep(50);
      for (let k = 0; k < 10; k++) batches.B.push(await begin(`list-b${k}`, ['svc-b']));
      await sleep(50);
      for (let k = 0; k < 7; k++) batches.C.push(await begin(`list-c${k}`, ['svc-a', 'svc-c']));
      for (let k = 0; k < 2; k++) {
        const gid = await begin(`list-ok${k}`, ['svc-ok']);
        expect((await coordinator!.api.commit(gid, { wait: true })).body.status).toBe('COMMITTED');
        batches.committed.push(gid);
      }
      const rb = await begin('list-rb', ['svc-ok']);
      expect((await coordinator!.api.rollback(rb, { wait: true })).body.status).toBe('ROLLED_BACK');
      batches.rolledBack.push(rb);
      for (let k = 0; k < 2; k++) batches.stuck.push(await committingStuck(`list-stuck${k}`, ['svc-broken']));
      // Everything in the database (the auth tests above made a few more).
      all = gidsOf((await admin.listAll()).items);
      expect(all.length).toBeGreaterThanOrEqual(30);
    });

    it('filters by status: exactly the transactions in that status', async () => {
      const trying = gidsOf((await admin.listAll({ status: 'TRYING' })).items);
      expect(trying).toEqual(expect.arrayContaining([...batches.A, ...batches.B, ...batches.C]));
      expect(trying.filter((g) => g.startsWith('list-'))).toHaveLength(25);
      expect(sorted(gidsOf((await admin.listAll({ status: 'COMMITTED' })).items))).toEqual(sorted(batches.committed));
      expect(gidsOf((await admin.listAll({ status: 'ROLLED_BACK' })).items)).toEqual(batches.rolledBack);
      expect(sorted(gidsOf((await admin.listAll({ status: 'COMMITTING' })).items))).toEqual(sorted(batches.stuck));
      expect((await admin.listAll({ status: 'ROLLING_BACK' })).items).toEqual([]);
      for (const t of (await admin.list({ status: 'COMMITTING' })).body.items) expect(t.status).toBe('COMMITTING');
    });

    it('filters by participant: transactions with any branch of it, combined with status', async () => {
      expect(sorted(gidsOf((await admin.listAll({ participant: 'svc-a' })).items))).toEqual(sorted([...batches.A, ...batches.C]));
      expect(sorted(gidsOf((await admin.listAll({ participant: 'svc-b' })).items))).toEqual(sorted(batches.B));
      expect(sorted(gidsOf((await admin.listAll({ participant: 'svc-c' })).items))).toEqual(sorted(batches.C));
      expect(sorted(gidsOf((await admin.listAll({ participant: 'svc-ok', status: 'COMMITTED' })).items))).toEqual(sorted(batches.committed));
      expect((await admin.listAll({ participant: 'svc-ok', status: 'TRYING' })).items).toEqual([]);
      expect((await admin.listAll({ participant: 'nobody' })).items).toEqual([]);
    });

    it('filters by attention: flagged phase-two transactions, or all the others', async () => {
      const flagged = (await admin.listAll({ attention: true })).items;
      expect(sorted(gidsOf(flagged))).toEqual(sorted(batches.stuck));
      for (const t of flagged) expect(t.attentionAt).toEqual(expect.any(String));
      const others = gidsOf((await admin.listAll({ attention: false })).items);
      expect(sorted(others)).toEqual(sorted(all.filter((g) => !batches.stuck.includes(g))));
    });

    it('filters by created range: from inclusive, to exclusive', async () => {
      const byGid = new Map((await admin.listAll()).items.map((t) => [t.gid, t]));
      const created = (gids: string[]): number[] => gids.map((g) => Date.parse(byGid.get(g)!.createdAt));
      const from = new Date(Math.min(...created(batches.B))).toISOString();
      const to = new Date(Math.min(...created(batches.C))).toISOString();
      expect(Math.max(...created(batches.A))).toBeLessThan(Date.parse(from));
      expect(Math.max(...created(batches.B))).toBeLessThan(Date.parse(to));

      expect(sorted(gidsOf((await admin.listAll({ createdFrom: from, createdTo: to })).items))).toEqual(sorted(batches.B));
      const since = gidsOf((await admin.listAll({ createdFrom: from })).items);
      expect(sorted(since)).toEqual(sorted([...byGid.values()].filter((t) => Date.parse(t.createdAt) >= Date.parse(from)).map((t) => t.gid)));
      expect(since).toEqual(expect.arrayContaining([...batches.B, ...batches.C, ...batches.stuck]));
      expect(since).not.toContain(batches.A[0]);
      const before = gidsOf((await admin.listAll({ createdTo: from, participant: 'svc-a' })).items);
      expect(sorted(before)).toEqual(sorted(batches.A));
      // An offset time means the same instant.
      const offset = new Date(Date.parse(from) + 2 * HOUR).toISOString().replace('Z', '+02:00');
      expect(sorted(gidsOf((await admin.listAll({ createdFrom: offset, createdTo: to })).items))).toEqual(sorted(batches.B));
    });

    it('pages with a cursor: limit 10 over everything and over 25 TRYING, no duplicate, none missing, in gid order', async () => {
      for (const query of [{}, { status: 'TRYING' }]) {
        const expected = gidsOf((await admin.listAll(query)).items);
        const { pages, items } = await admin.listAll(query, 10);
        const seen = gidsOf(items);
        expect(new Set(seen).size).toBe(seen.length);
        expect(seen).toEqual(expected);
        expect(seen).toEqual(sorted(seen));
        expect(pages.length).toBe(Math.max(1, Math.ceil(expected.length / 10)));
        for (const page of pages.slice(0, -1)) {
          expect(page.items).toHaveLength(10);
          expect(page.nextCursor).toBe(page.items[9].gid);
        }
        expect(pages[pages.length - 1].nextCursor).toBeNull();
      }
      // Exactly one full page: no cursor to an empty page after it.
      const b = await admin.list({ participant: 'svc-b', limit: 10 });
      expect(b.body.items).toHaveLength(10);
      expect(b.body.nextCursor).toBeNull();
      // A cursor continues after the given gid, whatever it is.
      const sortedB = sorted(batches.B);
      const rest = await admin.list({ participant: 'svc-b', cursor: sortedB[4] });
      expect(gidsOf(rest.body.items)).toEqual(sortedB.slice(5));
    });

    it('bad query values answer 400 naming the field', async () => {
      const cases: [Record<string, string>, string][] = [
        [{ status: 'DONE' }, 'status'],
        [{ limit: '0' }, 'limit'],
        [{ limit: '501' }, 'limit'],
        [{ limit: 'ten' }, 'limit'],
        [{ attention: 'yes' }, 'attention'],
        [{ createdFrom: 'yesterday' }, 'createdFrom'],
        [{ createdTo: '2024-13-45T00:00:00Z' }, 'createdTo'],
        // ISO 8601, but not a form Date.parse reads: a week date, the basic format.
        [{ createdFrom: '2024-W05' }, 'createdFrom'],
        [{ createdTo: '20240101' }, 'createdTo'],
        [{ cursor: 'not a gid!' }, 'cursor'],
        [{ participant: 'p'.repeat(129) }, 'participant'],
        [{ colour: 'blue' }, 'colour'],
      ];
      for (const [query, field] of cases) {
        const res = await admin.list(query);
        expect({ query, status: res.status }).toEqual({ query, status: 400 });
        expect({ query, fields: res.error.fields }).toEqual({ query, fields: [field] });
      }
    });
  });

  // ---- one transaction -----------------------------------------------------------------------

  describe('one transaction', () => {
    it('shows branches with attempts and last error, the failed attempts newest first, owner, rounds, decision and attention', async () => {
      participant!.behave('/svc-d1/confirm', { kind: 'fail', status: 503, times: 1_000_000 });
      const gid = await committingStuck('detail', ['svc-d1', 'svc-d2']);
      await admin.retry(gid);
      const view = await settled(gid, 2);
      expect(view).toMatchObject({ gid, status: 'COMMITTING', owner: null, reason: null, audit: [expect.objectContaining({ action: 'retry' })] });
      expect(view.rounds).toBeGreaterThanOrEqual(2);
      expect(Date.parse(view.decidedAt!)).toBeGreaterThanOrEqual(Date.parse(view.createdAt));
      expect(view.attentionAt).toEqual(expect.any(String));
      expect(Date.parse(view.nextAttemptAt!)).toBeGreaterThan(Date.now() + 30_000);
      const [b1, b2] = view.branches;
      expect(b1).toMatchObject({ branchId: 'b1', participant: 'svc-d1', protocol: 'http', status: 'REGISTERED', attempts: 2 });
      expect(b1.lastError).toMatch(/503/);
      expect(b2).toMatchObject({ branchId: 'b2', participant: 'svc-d2', status: 'CONFIRMED', attempts: 1, lastError: null });
      expect(view.failures.map((f) => [f.branchId, f.phase, f.attempt])).toEqual([
        ['b1', 'confirm', 2],
        ['b1', 'confirm', 1],
      ]);
      for (const f of view.failures) expect(f.error).toMatch(/503/);
    });

    it('an unknown gid is 404, a malformed one 400 naming gid', async () => {
      const missing = await admin.detail(`nope-${randomSuffix()}`);
      expect(missing.status).toBe(404);
      expect(missing.error.message).toMatch(/not found/);
      const bad = await admin.detail('bad gid!');
      expect(bad.status).toBe(400);
      expect(bad.error.fields).toEqual(['gid']);
      for (const res of [await admin.retry(`nope-${randomSuffix()}`), await admin.forceRollback(`nope-${randomSuffix()}`, { reason: 'x' }), await admin.resolve(`nope-${randomSuffix()}`, 'b1', { reason: 'x' })]) {
        expect(res.status).toBe(404);
      }
    });
  });

  // ---- actions -------------------------------------------------------------------------------

  describe('retry now', () => {
    it('runs a round at once; when the participant is fixed the transaction commits; audited with actor and reason', async () => {
      participant!.behave('/svc-fixed/confirm', { kind: 'fail', status: 500, times: 1 });
      const gid = await committingStuck('retry-ok', ['svc-fixed']);
      expect(participant!.callsFor(gid, 'b1', 'confirm')).toHaveLength(1);

      const before = Date.now();
      const res = await admin.retry(gid, { reason: 'participant redeployed' }, { 'x-tcc-actor': 'alice@ops' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ gid, status: 'COMMITTED' });
      expect(participant!.callsFor(gid, 'b1', 'confirm').map((c) => c.answer)).toEqual([500, 200]);

      const view = await admin.view(gid);
      expect(view.status).toBe('COMMITTED');
      expect(view.audit).toEqual([{ action: 'retry', actor: 'alice@ops', reason: 'participant redeployed', branchId: null, createdAt: expect.any(String) }]);
      expect(Math.abs(Date.parse(view.audit[0].createdAt) - before)).toBeLessThan(10_000);
      const rows = await auditRows(gid);
      expect(rows).toEqual([expect.objectContaining({ gid, branch_id: null, action: 'retry', actor: 'alice@ops', reason: 'participant redeployed' })]);
      expect(Number(rows[0].created_at)).toBe(Date.parse(view.audit[0].createdAt));
    });

    it('with the participant still failing: one more attempt and failure recorded, still COMMITTING; actor defaults to admin, no reason', async () => {
      participant!.behave('/svc-down/confirm', { kind: 'fail', status: 500, times: 1_000_000 });
      const gid = await committingStuck('retry-fail', ['svc-down']);
      const res = await admin.retry(gid);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ gid, status: 'COMMITTING' });
      expect(participant!.callsFor(gid, 'b1', 'confirm')).toHaveLength(2);
      const view = await settled(gid, 2);
      expect(view.branches[0]).toMatchObject({ status: 'REGISTERED', attempts: 2 });
      expect(view.failures.map((f) => f.attempt)).toEqual([2, 1]);
      expect(view.audit).toEqual([expect.objectContaining({ action: 'retry', actor: 'admin', reason: null, branchId: null })]);
    });

    it('409 for a transaction not in phase two (TRYING, COMMITTED), with its status, and nothing audited', async () => {
      const trying = await begin('retry-trying', ['svc-ok']);
      const done = await begin('retry-done', ['svc-ok']);
      expect((await coordinator!.api.commit(done, { wait: true })).body.status).toBe('COMMITTED');
      for (const [gid, status] of [
        [trying, 'TRYING'],
        [done, 'COMMITTED'],
      ]) {
        const res = await admin.retry(gid, { reason: 'try' });
        expect(res.status).toBe(409);
        expect(res.error.status).toBe(status);
        expect(await auditRows(gid)).toEqual([]);
      }
      expect(participant!.callsFor(trying)).toHaveLength(0);
    });

    it('bad input: unknown body field, reason too long, bad actor header -> 400 naming it, nothing done', async () => {
      participant!.behave('/svc-down2/confirm', { kind: 'fail', status: 500, times: 1_000_000 });
      const gid = await committingStuck('retry-bad', ['svc-down2']);
      const cases: [unknown, Record<string, string>, string][] = [
        [{ reason: 'x', now: true }, {}, 'now'],
        [{ reason: 'r'.repeat(1025) }, {}, 'reason'],
        [{ reason: 42 }, {}, 'reason'],
        [{}, { 'x-tcc-actor': 'a'.repeat(129) }, 'x-tcc-actor'],
      ];
      for (const [body, headers, field] of cases) {
        const res = await admin.retry(gid, body, headers);
        expect({ field, status: res.status }).toEqual({ field, status: 400 });
        expect(res.error.fields).toEqual([field]);
      }
      expect(participant!.callsFor(gid, 'b1', 'confirm')).toHaveLength(1);
      expect(await auditRows(gid)).toEqual([]);
    });
  });

  describe('force rollback', () => {
    it('rolls a TRYING transaction back: every branch cancelled, none confirmed; audited with actor and reason', async () => {
      const gid = await begin('force', ['svc-f1', 'svc-f2']);
      const res = await admin.forceRollback(gid, { reason: 'customer cancelled by phone' }, { 'x-tcc-actor': 'bob' });
      expect(res.status).toBe(200);
      expect(['ROLLING_BACK', 'ROLLED_BACK']).toContain(res.body.status);
      const view = await eventually(async () => {
        const v = await admin.view(gid);
        return v.status === 'ROLLED_BACK' ? v : undefined;
      }, { what: `${gid} to be ROLLED_BACK` });
      expect(view.branches.map((b) => b.status)).toEqual(['CANCELLED', 'CANCELLED']);
      expect(participant!.callsFor(gid, 'b1', 'cancel')).toHaveLength(1);
      expect(participant!.callsFor(gid, 'b2', 'cancel')).toHaveLength(1);
      expect(participant!.callsFor(gid, undefined, 'confirm')).toHaveLength(0);
      expect(view.reason).toMatch(/customer cancelled by phone/);
      expect(view.audit).toEqual([{ action: 'force-rollback', actor: 'bob', reason: 'customer cancelled by phone', branchId: null, createdAt: expect.any(String) }]);
      expect(await auditRows(gid)).toEqual([expect.objectContaining({ action: 'force-rollback', actor: 'bob', reason: 'customer cancelled by phone', branch_id: null })]);
      // The client that still holds the transaction is told it is over.
      const commit = await coordinator!.api.commit(gid);
      expect(commit.status).toBe(409);
    });

    it('needs a reason: missing, empty or not a string -> 400 naming reason; the transaction stays TRYING', async () => {
      const gid = await begin('force-noreason', ['svc-f1']);
      for (const body of [{}, { reason: '' }, { reason: 7 }, { reason: null }]) {
        const res = await admin.forceRollback(gid, body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
        expect(res.error.fields).toEqual(['reason']);
      }
      const noBody = await admin.send('POST', `/admin/v1/transactions/${gid}/force-rollback`);
      expect(noBody.status).toBe(400);
      expect((await admin.view(gid)).status).toBe('TRYING');
      expect(await auditRows(gid)).toEqual([]);
    });

    it('409 with the status for COMMITTING, COMMITTED and ROLLED_BACK transactions; nothing audited', async () => {
      participant!.behave('/svc-down3/confirm', { kind: 'fail', status: 500, times: 1_000_000 });
      const committing = await committingStuck('force-committing', ['svc-down3']);
      const committed = await begin('force-committed', ['svc-ok']);
      expect((await coordinator!.api.commit(committed, { wait: true })).body.status).toBe('COMMITTED');
      const rolledBack = await begin('force-rolledback', ['svc-ok']);
      expect((await coordinator!.api.rollback(rolledBack, { wait: true })).body.status).toBe('ROLLED_BACK');
      for (const [gid, status] of [
        [committing, 'COMMITTING'],
        [committed, 'COMMITTED'],
        [rolledBack, 'ROLLED_BACK'],
      ]) {
        const res = await admin.forceRollback(gid, { reason: 'too late' });
        expect({ status: res.status, current: res.error.status }).toEqual({ status: 409, current: status });
        expect((await admin.view(gid)).status).toBe(status);
        expect(await auditRows(gid)).toEqual([]);
      }
      expect(participant!.callsFor(committing, undefined, 'cancel')).toHaveLength(0);
    });
  });

  describe('resolve a branch by hand', () => {
    it('COMMITTING: each branch counted confirmed with a reason; the last one finishes the transaction; both audited', async () => {
      participant!.behave('/svc-r1/confirm', { kind: 'fail', status: 500, times: 1_000_000 });
      participant!.behave('/svc-r2/confirm', { kind: 'fail', status: 500, times: 1_000_000 });
      const gid = await committingStuck('resolve', ['svc-r1', 'svc-r2']);

      const first = await admin.resolve(gid, 'b1', { reason: 'checked the ledger: booked' }, { 'x-tcc-actor': 'carol' });
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ gid, status: 'COMMITTING' });
      let view = await admin.view(gid);
      expect(view.status).toBe('COMMITTING');
      expect(view.branches.map((b) => b.status)).toEqual(['CONFIRMED', 'REGISTERED']);

      const again = await admin.resolve(gid, 'b1', { reason: 'twice' });
      expect(again.status).toBe(409);

      const last = await admin.resolve(gid, 'b2', { reason: 'refunded by hand' });
      expect(last.status).toBe(200);
      expect(last.body).toEqual({ gid, status: 'COMMITTED' });
      view = await admin.view(gid);
      expect(view.status).toBe('COMMITTED');
      expect(view.branches.map((b) => b.status)).toEqual(['CONFIRMED', 'CONFIRMED']);
      expect(view.audit.map((a) => [a.action, a.actor, a.branchId, a.reason])).toEqual([
        ['resolve-branch', 'carol', 'b1', 'checked the ledger: booked'],
        ['resolve-branch', 'admin', 'b2', 'refunded by hand'],
      ]);
      expect((await auditRows(gid)).map((r) => [r.action, r.actor, r.branch_id, r.reason])).toEqual([
        ['resolve-branch', 'carol', 'b1', 'checked the ledger: booked'],
        ['resolve-branch', 'admin', 'b2', 'refunded by hand'],
      ]);
      // The public API agrees, and the finished transaction is no longer flagged.
      expect((await coordinator!.api.view(gid)).status).toBe('COMMITTED');
      expect(gidsOf((await admin.listAll({ attention: true })).items)).not.toContain(gid);
      // No participant was called for the resolved branches.
      expect(participant!.callsFor(gid, undefined, 'confirm')).toHaveLength(2);
    });

    it('ROLLING_BACK: the branch counted cancelled and the transaction ROLLED_BACK', async () => {
      participant!.behave('/svc-rc/cancel', { kind: 'fail', status: 500, times: 1_000_000 });
      const gid = await begin('resolve-rb', ['svc-rc']);
      expect((await coordinator!.api.rollback(gid, { wait: false })).status).toBe(200);
      await settled(gid);
      const res = await admin.resolve(gid, 'b1', { reason: 'nothing was reserved' });
      expect(res.body).toEqual({ gid, status: 'ROLLED_BACK' });
      const view = await admin.view(gid);
      expect(view.branches[0].status).toBe('CANCELLED');
      expect(view.audit).toEqual([expect.objectContaining({ action: 'resolve-branch', branchId: 'b1', reason: 'nothing was reserved' })]);
    });

    it('needs a reason (400), a well-formed branchId (400), an existing branch (404), a phase-two transaction (409)', async () => {
      participant!.behave('/svc-r3/confirm', { kind: 'fail', status: 500, times: 1_000_000 });
      const gid = await committingStuck('resolve-bad', ['svc-r3']);
      for (const body of [{}, { reason: '' }, { reason: null }, { reason: ['why'] }]) {
        const res = await admin.resolve(gid, 'b1', body);
        expect(res.status).toBe(400);
        expect(res.error.fields).toEqual(['reason']);
      }
      const badId = await admin.resolve(gid, 'no such!', { reason: 'x' });
      expect(badId.status).toBe(400);
      expect(badId.error.fields).toEqual(['branchId']);
      const unknown = await admin.resolve(gid, 'b9', { reason: 'x' });
      expect(unknown.status).toBe(404);
      expect(unknown.error.message).toMatch(/b9/);

      const trying = await begin('resolve-trying', ['svc-ok']);
      const conflict = await admin.resolve(trying, 'b1', { reason: 'too early' });
      expect(conflict.status).toBe(409);
      expect(conflict.error.status).toBe('TRYING');

      expect((await admin.view(gid)).branches[0].status).toBe('REGISTERED');
      expect(await auditRows(gid)).toEqual([]);
      expect(await auditRows(trying)).toEqual([]);
    });
  });
});
