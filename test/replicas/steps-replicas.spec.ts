/**
 * Sagas and reliable messages across three coordinator replicas (separate processes, one
 * database), one of them SIGKILLed twice while it holds leases with saga actions, compensations
 * and message deliveries in flight, and started again (docs/contract.md §6, §9, §10). Afterwards
 * every saga and message ends as decided: a saga whose second action is refused compensates its
 * first two steps in reverse order and never sends its third; the others commit without a single
 * compensation; a submitted message (and one whose queryPrepared says COMMITTED) delivers every
 * step, an aborted one (queryPrepared says ROLLED_BACK) none; and nothing is left owned or due.
 */
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { ParticipantServer } from '../support/participant.server';
import { eventually, randomSuffix } from '../support/wait';
import { disposeAll, startReplicas, type Replica } from './support/replica';
import { waitForAllFinal } from './support/store-view';

const SAGAS = 60;
const MESSAGES = 60;

describe('sagas and messages on three replicas, one SIGKILLed twice mid-flight', () => {
  let db: TestDatabase | undefined;
  let participant: ParticipantServer | undefined;
  let replicas: Replica[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    participant = await ParticipantServer.start();
    replicas = await startReplicas(3, {
      TCC_DB_URL: db.url,
      TCC_LEASE_MS: '2000',
      TCC_REQUEST_TIMEOUT_MS: '800',
      TCC_RETRY_BASE_MS: '100',
      TCC_RETRY_MAX_MS: '500',
      TCC_SCAN_INTERVAL_MS: '200',
      TCC_SHUTDOWN_GRACE_MS: '500',
      TCC_LOG_LEVEL: 'warn',
    });
  });

  afterAll(async () => {
    try {
      await disposeAll(replicas);
    } finally {
      try {
        await participant?.close();
      } finally {
        await db?.drop();
      }
    }
  });

  it('every saga and message ends as decided; refused sagas compensate in reverse order; no delivery for an aborted message', async () => {
    const p = participant!;
    const sql = db!.query;
    const run = randomSuffix(6);
    const victim = replicas[2];
    const api = (i: number) => replicas[i % replicas.length].api;
    const delay = (i: number) => 80 + (i % 4) * 40;

    const sagas = Array.from({ length: SAGAS }, (_, i) => ({ gid: `steps-saga-${run}-${i}`, refused: i % 3 === 2 }));
    const messages = Array.from({ length: MESSAGES }, (_, i) => ({
      gid: `steps-msg-${run}-${i}`,
      // 0: submitted by the initiator; 1: left PREPARED, its queryPrepared says COMMITTED; 2: says ROLLED_BACK.
      kind: (['submit', 'query-commit', 'query-abort'] as const)[i % 3],
    }));
    for (const [i, s] of sagas.entries()) {
      for (const id of ['s1', 's2', 's3']) {
        p.behave(`/${s.gid}/${id}/action`, { kind: 'ok', delayMs: delay(i) });
        p.behave(`/${s.gid}/${id}/compensate`, { kind: 'ok', delayMs: delay(i) });
      }
      if (s.refused) p.behave(`/${s.gid}/s2/action`, { kind: 'fail', status: 409, times: 1 });
    }
    for (const [i, m] of messages.entries()) {
      for (const id of ['a', 'b']) p.behave(`/${m.gid}/${id}/deliver`, { kind: 'ok', delayMs: delay(i) });
      p.behave(`/${m.gid}/query`, { kind: 'ok', body: JSON.stringify({ status: m.kind === 'query-abort' ? 'ROLLED_BACK' : 'COMMITTED' }) });
    }

    /**
     * Calls replica i; when it cannot answer (the victim killed under the call, or not up yet),
     * the same call (idempotent) goes to replica 0, which is never killed.
     */
    const onAny = async <T extends { status: number }>(i: number, call: (a: Replica['api']) => Promise<T>): Promise<T> => {
      try {
        return await call(api(i));
      } catch {
        return call(replicas[0].api);
      }
    };
    const startAll = async (): Promise<void> => {
      for (let i = 0; i < Math.max(SAGAS, MESSAGES); i++) {
        const s = sagas[i];
        const steps = ['s1', 's2', 's3'].map((id) => ({ branchId: id, protocol: 'http', action: p.url(`/${s.gid}/${id}/action`), compensate: p.url(`/${s.gid}/${id}/compensate`) }));
        const started = await onAny(i, (a) => a.startSaga({ gid: s.gid, steps, timeoutMs: 120_000 }));
        expect([s.gid, [200, 201].includes(started.status)]).toEqual([s.gid, true]);
        const m = messages[i];
        const body = {
          gid: m.gid,
          timeoutMs: m.kind === 'submit' ? 120_000 : 1_000,
          queryPrepared: p.url(`/${m.gid}/query`),
          steps: ['a', 'b'].map((id) => ({ branchId: id, protocol: 'http', action: p.url(`/${m.gid}/${id}/deliver`) })),
        };
        expect([200, 201]).toContain((await onAny(i + 1, (a) => a.prepareMessage(body))).status);
        if (m.kind === 'submit') expect((await onAny(i + 2, (a) => a.submitMessage(m.gid))).status).toBe(200);
        // Paced, so that the run outlasts both kills.
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    };
    const starting = startAll();

    const killWhileHolding = async (): Promise<number> => {
      const held = await eventually(
        async () => {
          const rows = await sql("SELECT gid FROM tcc_transactions WHERE owner LIKE ? AND status IN ('COMMITTING', 'ROLLING_BACK', 'PREPARED')", [victim.ownerPattern]);
          return rows.length > 0 ? rows.length : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 5, what: `${victim.name} to hold a lease` },
      );
      await victim.kill('SIGKILL');
      await victim.start();
      return held;
    };
    const firstKill = await killWhileHolding();
    const secondKill = await killWhileHolding();
    expect(Math.min(firstKill, secondKill)).toBeGreaterThan(0);
    await starting;

    await waitForAllFinal(sql, SAGAS + MESSAGES, 120_000);

    for (const s of sagas) {
      const view = await replicas[0].api.view(s.gid);
      const calls = p.callsFor(s.gid);
      const compensations = calls.filter((c) => c.phase === 'compensate' && c.answer === 200).map((c) => c.branchId);
      if (s.refused) {
        expect({ gid: s.gid, status: view.status, s3: calls.filter((c) => c.branchId === 's3').length }).toEqual({ gid: s.gid, status: 'ROLLED_BACK', s3: 0 });
        expect(view.branches.map((b) => b.status)).toEqual(['COMPENSATED', 'COMPENSATED', 'SKIPPED']);
        // The last successful compensation of s2 comes before the first of s1.
        const lastS2 = Math.max(...calls.filter((c) => c.branchId === 's2' && c.phase === 'compensate').map((c) => c.seq));
        const firstS1 = Math.min(...calls.filter((c) => c.branchId === 's1' && c.phase === 'compensate').map((c) => c.seq));
        expect(firstS1).toBeGreaterThan(lastS2);
      } else {
        expect({ gid: s.gid, status: view.status, compensations }).toEqual({ gid: s.gid, status: 'COMMITTED', compensations: [] });
        expect(view.branches.map((b) => b.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
      }
    }
    for (const m of messages) {
      const view = await replicas[1].api.view(m.gid);
      const delivered = new Set(p.callsFor(m.gid, undefined, 'message').filter((c) => c.answer === 200).map((c) => c.branchId));
      if (m.kind === 'query-abort') expect({ gid: m.gid, status: view.status, delivered: delivered.size }).toEqual({ gid: m.gid, status: 'ROLLED_BACK', delivered: 0 });
      else expect({ gid: m.gid, status: view.status, delivered: [...delivered].sort() }).toEqual({ gid: m.gid, status: 'COMMITTED', delivered: ['a', 'b'] });
    }
    const left = await sql('SELECT COUNT(*) AS n FROM tcc_transactions WHERE owner IS NOT NULL OR next_attempt_at IS NOT NULL');
    expect(Number(left[0].n)).toBe(0);

  });
});
