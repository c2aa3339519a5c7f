/**
 * A reliable-message initiator SIGKILLed around its local commit (docs/contract.md §10), with real
 * processes: the initiator is test/client/support/message-initiator.app.ts in a process of its own
 * (TccModule, its participant database on MariaDB or on PostgreSQL), which kills itself with
 * SIGKILL at an exact point of TccMessages.send; the coordinator runs in this process (on a
 * SQLite file) and delivers to a recording participant server.
 *
 * - Killed after its local transaction committed and before the submit: the business row and the
 *   prepared row (`commit`) are in its database, the coordinator asks the dead initiator past the
 *   message's timeoutMs (a failed query in its history), keeps the message PREPARED and delivers
 *   nothing; restarted on the same port, the initiator is asked again, answers COMMITTED, and the
 *   coordinator delivers every step, no earlier than that question arrived.
 * - Killed inside its work, before its local transaction commits: the same question, after the
 *   restart answered ROLLED_BACK from the prepared row the query wrote itself (`rollback`); the
 *   message ends ROLLED_BACK, nothing is delivered, the business row never exists.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCoordinator } from './support/coordinator';
import { createDatabase, randomId, type Engine, type TestDatabase } from './support/databases';
import { InitiatorProcess, freePort, type InitiatorEvent } from './support/message-initiator.process';
import { FAST_COORDINATOR } from './support/stack';
import { TEST_API_KEY } from '../support/api-keys';
import { CoordinatorApi } from '../support/coordinator.api';
import { ParticipantServer } from '../support/participant.server';
import { closeAll, eventually } from '../support/wait';

const ADMIN_TOKEN = 'message-kill-admin-token-0123456789';
/** The message's timeoutMs: how long it stays PREPARED before the coordinator asks queryPrepared. */
const MESSAGE_TIMEOUT_MS = 1_000;

/** The parts of the coordinator's admin view of a transaction these tests read. */
interface AdminView {
  gid: string;
  mode: string;
  status: string;
  reason: string | null;
  branches: { branchId: string; status: string }[];
  failures: { branchId: string; phase: string; attempt: number; error: string; createdAt: string }[];
}

describe.each(['mariadb', 'postgres'] as Engine[])('a message initiator SIGKILLed around its local commit, its database on %s', (engine) => {
  let dir: string | undefined;
  let coordinator: Awaited<ReturnType<typeof createCoordinator>> | undefined;
  let api: CoordinatorApi | undefined;
  let participant: ParticipantServer | undefined;
  let database: TestDatabase | undefined;
  let initiator: InitiatorProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tcc-message-kill-'));
    coordinator = await createCoordinator({ ...FAST_COORDINATOR, TCC_SQLITE_PATH: join(dir, 'coordinator.sqlite'), TCC_ADMIN_TOKEN: ADMIN_TOKEN });
    api = new CoordinatorApi(coordinator.url);
    participant = await ParticipantServer.start();
    database = await createDatabase(`msgkill_${engine}`, engine);
    initiator = new InitiatorProcess(await freePort(), {
      INITIATOR_DB_TYPE: engine,
      INITIATOR_DB_URL: database.url,
      INITIATOR_COORDINATOR_URL: coordinator.url,
      INITIATOR_API_KEY: TEST_API_KEY,
    });
  });

  afterAll(() =>
    closeAll(
      () => initiator?.stop(),
      () => coordinator?.close(),
      () => api?.close(),
      () => participant?.close(),
      () => database?.drop(),
      () => dir && rmSync(dir, { recursive: true, force: true }),
    ),
  );

  async function adminView(gid: string): Promise<AdminView> {
    const res = await api!.send<AdminView>({ method: 'GET', path: `/admin/v1/transactions/${encodeURIComponent(gid)}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    if (res.status !== 200) throw new Error(`admin view of ${gid}: ${res.status} ${res.text}`);
    return res.body;
  }

  /** Past the message's timeoutMs the coordinator asks the dead initiator: a failed query in its history. */
  function askedWhileDown(gid: string): Promise<AdminView> {
    return eventually(
      async () => {
        const view = await adminView(gid);
        return view.failures.some((f) => f.branchId === 'prepared' && f.phase === 'query') ? view : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50, what: `the coordinator to ask the dead initiator about ${gid}` },
    );
  }

  async function finished(gid: string): Promise<AdminView> {
    let last: AdminView | undefined;
    return eventually(
      async () => {
        last = await adminView(gid);
        return last.status === 'COMMITTED' || last.status === 'ROLLED_BACK' ? last : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: `message ${gid} to finish` },
    ).catch((error: Error) => Promise.reject(new Error(`${error.message}; last view ${JSON.stringify(last)}\n${initiator!.tail()}`)));
  }

  const businessRows = (gid: string) => database!.query('SELECT gid FROM kill_business WHERE gid = ?', [gid]);
  const preparedRows = (gid: string) => database!.query("SELECT reason FROM tcc_barrier WHERE gid = ? AND branch_id = 'prepared' AND phase = 'prepared'", [gid]);

  /** The queryPrepared calls the run with `pid` answered for `gid`. */
  const queriesOf = (gid: string, pid: number | undefined): InitiatorEvent[] => initiator!.eventsOf(gid, 'query-prepared').filter((e) => e.pid === pid);

  /** Sends with `killAt`; the process dies by its own SIGKILL at that point, the request unanswered. */
  async function sendAndDie(gid: string, targets: string[], killAt: 'before-commit' | 'after-commit'): Promise<void> {
    if (!initiator!.running) await initiator!.start();
    const pid = initiator!.pid;
    const answer = await initiator!.send({ gid, targets, timeoutMs: MESSAGE_TIMEOUT_MS, killAt });
    expect('error' in answer ? 'no answer' : answer).toBe('no answer');
    expect(await initiator!.exited()).toEqual({ code: null, signal: 'SIGKILL' });
    // It died where it was told to, for this message, and nowhere else.
    expect(initiator!.events.filter((e) => e.event === 'dying' && e.pid === pid)).toEqual([expect.objectContaining({ at: killAt, gid })]);
  }

  it('killed after its local commit, before the submit: once restarted it is asked, answers COMMITTED, and every step is delivered, none before the question', async () => {
    const gid = `kill-after-${engine}-${randomId()}`;
    const targets = [participant!.url('/after-commit/step1'), participant!.url('/after-commit/step2')];
    await sendAndDie(gid, targets, 'after-commit');

    // The local transaction committed: the business row and the prepared row (reason `commit`).
    expect(await businessRows(gid)).toEqual([{ gid }]);
    expect(await preparedRows(gid)).toEqual([{ reason: 'commit' }]);
    // Never submitted: past its timeoutMs the coordinator asks the dead initiator, gets no answer,
    // keeps the message PREPARED and delivers nothing.
    const down = await askedWhileDown(gid);
    expect([down.mode, down.status]).toEqual(['message', 'PREPARED']);
    expect(participant!.callsFor(gid)).toEqual([]);

    await initiator!.start();
    const done = await finished(gid);
    expect(done.status).toBe('COMMITTED');
    // Submitted by the initiator's answer, not by anything else.
    expect(done.reason).toBe('queryPrepared answered COMMITTED');
    expect(done.branches.map((b) => `${b.branchId}:${b.status}`).sort()).toEqual(['step1:SUCCEEDED', 'step2:SUCCEEDED']);

    const queries = queriesOf(gid, initiator!.pid);
    expect(queries.length).toBeGreaterThanOrEqual(1);
    expect(queries.map((q) => `${q.statusCode}:${String(q.answer)}`)).toEqual(queries.map(() => '200:COMMITTED'));
    const deliveries = participant!.callsFor(gid);
    expect(new Set(deliveries.map((c) => `${c.path}:${c.branchId}:${c.phase}`))).toEqual(new Set(['/after-commit/step1:step1:message', '/after-commit/step2:step2:message']));
    // Delivered only after the restarted initiator was asked.
    const askedAt = Math.min(...queries.map((q) => q.arrivedAt!));
    for (const call of deliveries) expect(call.at).toBeGreaterThanOrEqual(askedAt);
    expect(await businessRows(gid)).toEqual([{ gid }]);
  });

  it('killed inside its work, before its local commit: once restarted it is asked, answers ROLLED_BACK, and nothing is delivered or kept', async () => {
    const gid = `kill-before-${engine}-${randomId()}`;
    await sendAndDie(gid, [participant!.url('/before-commit/step1')], 'before-commit');

    const down = await askedWhileDown(gid);
    expect([down.mode, down.status]).toEqual(['message', 'PREPARED']);
    expect(participant!.callsFor(gid)).toEqual([]);
    expect(await businessRows(gid)).toEqual([]);

    await initiator!.start();
    const done = await finished(gid);
    expect(done.status).toBe('ROLLED_BACK');
    expect(done.reason).toBe('queryPrepared answered ROLLED_BACK');
    const queries = queriesOf(gid, initiator!.pid);
    expect(queries.length).toBeGreaterThanOrEqual(1);
    expect(queries.map((q) => `${q.statusCode}:${String(q.answer)}`)).toEqual(queries.map(() => '200:ROLLED_BACK'));
    // The killed transaction's prepared row never committed: the row is the query's own.
    expect(await preparedRows(gid)).toEqual([{ reason: 'rollback' }]);
    expect(await businessRows(gid)).toEqual([]);
    expect(participant!.callsFor(gid)).toEqual([]);
    expect(done.branches.filter((b) => b.status === 'SUCCEEDED')).toEqual([]);
  });
});
