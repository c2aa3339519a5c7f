/**
 * A confirm re-driven after the coordinator was SIGKILLed is traced in a new trace linked to the
 * order's (docs/contract.md §12): the account service's confirms fail (a real proxy answers 503)
 * until the coordinator process is killed; it is started again on the same database, recovery
 * re-drives the confirm, and the spans of that round (the coordinator's tcc.coordinator.redrive,
 * its tcc.call.confirm, the account service's tcc.participant.confirm) share a new trace id whose
 * root links to the traceparent stored when the transaction began, a span of the order's trace.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Http } from '../client/support/http';
import { eventually, randomSuffix } from '../support/wait';
import { OTLP_KIND, type ReceivedSpan } from './support/otlp.receiver';
import { startTraceStack, type TraceStack } from './support/trace.stack';

jest.setTimeout(120_000);

describe('traces: a confirm re-driven after a coordinator crash', () => {
  let stack: TraceStack | undefined;
  const http = new Http();

  beforeAll(async () => {
    stack = await startTraceStack({
      proxy: true,
      coordinatorEnv: { TCC_COMMIT_WAIT_MS: '300', TCC_LEASE_MS: '2000', TCC_REQUEST_TIMEOUT_MS: '1000' },
    });
  });

  afterAll(async () => {
    await stack?.dispose();
    await http.close();
  });

  it('is a new trace whose root links to the order trace, the participant span in it', async () => {
    const { receiver, account, order, coordinator, proxy, coordinatorDb } = stack!;
    const accountId = `redrive-${randomSuffix(6)}`;
    expect((await http.post(`${account.url}/accounts`, { id: accountId, balance: 5_000 })).status).toBe(201);
    proxy!.failConfirms = true;
    const placed = await http.post(`${order.url}/orders`, { accountId, amount: 75 });
    // The commit is recorded; the account's confirm is what keeps failing.
    expect(placed.status).toBe(201);
    const gid = (placed.body as { gid: string }).gid;

    const clientBegin = await eventually(() => receiver.spans.find((s) => s.name === 'tcc.client.begin' && s.attributes['tcc.gid'] === gid), {
      what: 'the initiator begin span',
    });
    const orderTrace = clientBegin.traceId;
    // The confirm sent within the commit request failed, in the order's trace, as an error.
    const failedConfirm = await eventually(
      () =>
        receiver.spans.find(
          (s) => s.traceId === orderTrace && s.name === 'tcc.call.confirm' && s.attributes['tcc.branch_id'] === 'account-freeze' && s.status === 2,
        ),
      { what: 'the failed in-request confirm span' },
    );
    expect(failedConfirm.attributes['http.response.status_code']).toBe(503);
    // Sent within the commit request: the child of the coordinator's commit span.
    const commit = await eventually(() => receiver.spans.find((s) => s.name === 'tcc.coordinator.commit' && s.attributes['tcc.gid'] === gid), {
      what: 'the coordinator commit span',
    });
    expect(failedConfirm.parentSpanId).toBe(commit.spanId);

    // The coordinator dies with the confirm still owed; the participant heals; a new process recovers.
    await coordinator.kill('SIGKILL');
    const stored = await coordinatorDb.query<{ status: string; traceparent: string }>('SELECT status, traceparent FROM tcc_transactions WHERE gid = ?', [gid]);
    expect(stored[0].status).toBe('COMMITTING');
    expect(stored[0].traceparent).toBe(`00-${orderTrace}-${clientBegin.spanId}-01`);
    const refusedBeforeRestart = proxy!.refused;
    expect(refusedBeforeRestart).toBeGreaterThanOrEqual(1);
    proxy!.failConfirms = false;
    const restartedAt = BigInt(Date.now()) * 1_000_000n;
    await coordinator.start();

    // The participant's server span of the successful confirm: in a trace that is not the order's.
    const served = await eventually(
      () =>
        receiver.spans.find(
          (s) =>
            s.service === 'account-service' &&
            s.name === 'tcc.participant.confirm' &&
            s.attributes['tcc.gid'] === gid &&
            s.startNs >= restartedAt &&
            s.traceId !== orderTrace,
        ),
      { timeoutMs: 30_000, what: `the account service span of the re-driven confirm of ${gid}` },
    );
    expect(served.kind).toBe(OTLP_KIND.server);
    expect(served.attributes).toMatchObject({ 'tcc.barrier.outcome': 'applied', 'tcc.phase': 'confirm', 'tcc.branch_id': 'account-freeze', 'http.response.status_code': 200 });

    const inTrace = (): ReceivedSpan[] => receiver.spans.filter((s) => s.traceId === served.traceId);
    const [call, root] = await eventually(
      () => {
        const spans = inTrace();
        const c = spans.find((s) => s.spanId === served.parentSpanId);
        const r = c && spans.find((s) => s.spanId === c.parentSpanId);
        return c && r ? ([c, r] as const) : undefined;
      },
      { what: 'the coordinator spans of the re-drive' },
    );
    expect(call).toMatchObject({ service: 'tcc-coordinator', name: 'tcc.call.confirm', kind: OTLP_KIND.client, status: 0 });
    expect(call.attributes).toMatchObject({ 'tcc.gid': gid, 'tcc.branch_id': 'account-freeze', 'http.response.status_code': 200 });
    // The re-drive's root: no parent, a link to the order's trace at the span the transaction began under.
    expect(root).toMatchObject({ service: 'tcc-coordinator', name: 'tcc.coordinator.redrive', kind: OTLP_KIND.internal, parentSpanId: '' });
    expect(root.attributes).toMatchObject({ 'tcc.gid': gid, 'tcc.mode': 'tcc', 'tcc.status': 'COMMITTING' });
    expect(root.links).toEqual([{ traceId: orderTrace, spanId: clientBegin.spanId }]);
    expect(root.startNs).toBeGreaterThanOrEqual(restartedAt);

    // The transaction finishes.
    await eventually(
      async () => (await coordinatorDb.query<{ status: string }>('SELECT status FROM tcc_transactions WHERE gid = ?', [gid]))[0]?.status === 'COMMITTED',
      { what: `${gid} COMMITTED` },
    );

    // The picture's input (scripts/render-trace.js), when asked for.
    if (process.env.TCC_TRACE_CAPTURE) {
      mkdirSync(process.env.TCC_TRACE_CAPTURE, { recursive: true });
      writeFileSync(join(process.env.TCC_TRACE_CAPTURE, 'redrive-trace.json'), JSON.stringify({ traceId: orderTrace, requests: receiver.bodies }));
    }
  });
});
