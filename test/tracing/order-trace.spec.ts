/**
 * One order's trace, end to end, through the real OTLP/HTTP exporter of every process: the
 * coordinator, the account service and the order service run as processes exporting to a receiver
 * this spec runs; one order is placed; the spans received must form one trace with the parents the
 * contract names (docs/contract.md §12). Also checks that a SIGTERM flushes what is buffered.
 */
import { Http } from '../client/support/http';
import { eventually, randomSuffix } from '../support/wait';
import { OTLP_KIND, type ReceivedSpan } from './support/otlp.receiver';
import { startTraceStack, type TraceStack } from './support/trace.stack';
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

jest.setTimeout(120_000);

function one(spans: ReceivedSpan[], what: string, match: (s: ReceivedSpan) => boolean): ReceivedSpan {
  const found = spans.filter(match);
  if (found.length !== 1) throw new Error(`expected one ${what}, found ${found.length}: ${found.map((s) => `${s.service}/${s.name}`).join(', ')}`);
  return found[0];
}

/** The spans one order makes, by service and name (the points message's aside). */
const ORDER_SPANS: Record<string, number> = {
  'order-service tcc.transaction': 1,
  'order-service tcc.client.begin': 1,
  'order-service tcc.client.register': 2,
  'order-service tcc.participant.try': 1,
  'order-service tcc.call.try': 1,
  'order-service tcc.client.commit': 1,
  'order-service tcc.participant.confirm': 1,
  'tcc-coordinator tcc.coordinator.begin': 1,
  'tcc-coordinator tcc.coordinator.register': 2,
  'tcc-coordinator tcc.coordinator.commit': 1,
  'tcc-coordinator tcc.call.confirm': 2,
  'account-service tcc.participant.try': 1,
  'account-service tcc.participant.confirm': 1,
};

/** The spans of `gid` once every one of ORDER_SPANS has arrived (each exporter sends on its own timer). */
function allOf(received: ReceivedSpan[], gid: string): ReceivedSpan[] | undefined {
  const mine = received.filter((s) => s.attributes['tcc.gid'] === gid);
  const counts = new Map<string, number>();
  for (const s of mine) counts.set(`${s.service} ${s.name}`, (counts.get(`${s.service} ${s.name}`) ?? 0) + 1);
  return Object.entries(ORDER_SPANS).every(([key, n]) => (counts.get(key) ?? 0) >= n) ? mine : undefined;
}

describe('traces: one order across the initiator, the coordinator and the participants', () => {
  let stack: TraceStack | undefined;
  const http = new Http();

  beforeAll(async () => {
    stack = await startTraceStack();
  });

  afterAll(async () => {
    await stack?.dispose();
    await http.close();
  });

  it('holds every span of the order in one trace, each participant span the child of the call that sent it', async () => {
    const { receiver, account, order } = stack!;
    const accountId = `trace-${randomSuffix(6)}`;
    expect((await http.post(`${account.url}/accounts`, { id: accountId, balance: 10_000 })).status).toBe(201);
    const placed = await http.post(`${order.url}/orders`, { accountId, amount: 250 });
    expect(placed.status).toBe(201);
    const gid = (placed.body as { gid: string }).gid;
    expect(gid).toEqual(expect.any(String));

    // Both confirms answered (their server spans arrive once the batch delay passed).
    const spans = await eventually(() => allOf(receiver.spans, gid), {
      timeoutMs: 20_000,
      what: `the spans of ${gid} (received so far: ${receiver.spans.length}, rejected ${receiver.rejected.join('; ')})`,
    });
    const trace = spans[0].traceId;
    const all = receiver.spans.filter((s) => s.traceId === trace);
    const byId = new Map(all.map((s) => [s.spanId, s]));
    const parentOf = (s: ReceivedSpan): ReceivedSpan | undefined => byId.get(s.parentSpanId);

    // Every span of the order is in one trace.
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([trace]));

    // The initiator: the transaction, a root here (the request carried no traceparent).
    const transaction = one(all, 'transaction span', (s) => s.name === 'tcc.transaction');
    expect(transaction).toMatchObject({ service: 'order-service', kind: OTLP_KIND.internal, parentSpanId: '', status: 0 });
    expect(transaction.attributes).toMatchObject({ 'tcc.gid': gid, 'tcc.mode': 'tcc' });

    // begin: the initiator's client span, the coordinator's server span its child.
    const clientBegin = one(all, 'client begin', (s) => s.name === 'tcc.client.begin');
    expect(clientBegin).toMatchObject({ service: 'order-service', kind: OTLP_KIND.client, parentSpanId: transaction.spanId });
    expect(clientBegin.attributes).toMatchObject({ 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'http.response.status_code': 201, 'tcc.gid': gid });
    expect(String(clientBegin.attributes['url.full'])).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/transactions$/);
    const begin = one(all, 'coordinator begin', (s) => s.name === 'tcc.coordinator.begin');
    expect(begin).toMatchObject({ service: 'tcc-coordinator', kind: OTLP_KIND.server, parentSpanId: clientBegin.spanId });
    expect(begin.attributes).toMatchObject({ 'tcc.gid': gid, 'tcc.mode': 'tcc' });

    // register: two branches, each the coordinator's span under the initiator's client span.
    const registers = all.filter((s) => s.name === 'tcc.coordinator.register');
    expect(registers.map((s) => s.attributes['tcc.branch_id']).sort()).toEqual(['account-freeze', 'order']);
    for (const register of registers) {
      expect(register.kind).toBe(OTLP_KIND.server);
      expect(parentOf(register)).toMatchObject({ name: 'tcc.client.register', service: 'order-service', parentSpanId: transaction.spanId });
    }

    // try: the order's own branch runs in-process; the account's goes out over HTTP.
    const localTry = one(all, 'in-process try', (s) => s.name === 'tcc.participant.try' && s.service === 'order-service');
    expect(localTry).toMatchObject({ kind: OTLP_KIND.internal, parentSpanId: transaction.spanId });
    expect(localTry.attributes).toMatchObject({ 'tcc.barrier.outcome': 'applied', 'tcc.branch_id': 'order', 'tcc.phase': 'try', 'tcc.gid': gid });
    const tryCall = one(all, 'try client span', (s) => s.name === 'tcc.call.try');
    expect(tryCall).toMatchObject({ service: 'order-service', kind: OTLP_KIND.client, parentSpanId: transaction.spanId, status: 0 });
    expect(tryCall.attributes).toMatchObject({
      'tcc.gid': gid,
      'tcc.branch_id': 'account-freeze',
      'tcc.phase': 'try',
      'tcc.mode': 'tcc',
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(account.url).port),
    });
    expect(String(tryCall.attributes['url.full'])).toMatch(/\/account-freeze\/try$/);
    const accountTry = one(all, 'account try', (s) => s.name === 'tcc.participant.try' && s.service === 'account-service');
    expect(accountTry).toMatchObject({ kind: OTLP_KIND.server, parentSpanId: tryCall.spanId });
    expect(accountTry.attributes).toMatchObject({ 'tcc.barrier.outcome': 'applied', 'http.response.status_code': 200, 'tcc.branch_id': 'account-freeze' });

    // commit: the coordinator's decision under the initiator's client span, the confirms under it.
    const clientCommit = one(all, 'client commit', (s) => s.name === 'tcc.client.commit');
    expect(clientCommit).toMatchObject({ service: 'order-service', kind: OTLP_KIND.client, parentSpanId: transaction.spanId });
    const commit = one(all, 'coordinator commit', (s) => s.name === 'tcc.coordinator.commit');
    expect(commit).toMatchObject({ service: 'tcc-coordinator', kind: OTLP_KIND.server, parentSpanId: clientCommit.spanId });
    const confirmCalls = all.filter((s) => s.name === 'tcc.call.confirm');
    expect(confirmCalls.map((s) => s.attributes['tcc.branch_id']).sort()).toEqual(['account-freeze', 'order']);
    for (const call of confirmCalls) {
      expect(call).toMatchObject({ service: 'tcc-coordinator', kind: OTLP_KIND.client, parentSpanId: commit.spanId, status: 0 });
      expect(call.attributes).toMatchObject({ 'tcc.gid': gid, 'tcc.phase': 'confirm', 'http.response.status_code': 200 });
      const served = one(all, `server span of ${String(call.attributes['tcc.branch_id'])}'s confirm`, (s) => s.parentSpanId === call.spanId);
      expect(served).toMatchObject({
        name: 'tcc.participant.confirm',
        kind: OTLP_KIND.server,
        service: call.attributes['tcc.branch_id'] === 'order' ? 'order-service' : 'account-service',
      });
      expect(served.attributes).toMatchObject({ 'tcc.barrier.outcome': 'applied', 'tcc.branch_id': call.attributes['tcc.branch_id'], 'tcc.gid': gid });
    }
    // Nothing failed.
    expect(spans.filter((s) => s.status === 2).map((s) => s.name)).toEqual([]);

    // The picture's input (scripts/render-trace.js), when asked for.
    if (process.env.TCC_TRACE_CAPTURE) {
      mkdirSync(process.env.TCC_TRACE_CAPTURE, { recursive: true });
      writeFileSync(join(process.env.TCC_TRACE_CAPTURE, 'order-trace.json'), JSON.stringify({ traceId: trace, requests: receiver.bodies }));
    }
  });

  it('exports what is still buffered when a service is stopped with SIGTERM', async () => {
    const { receiver, account, order } = stack!;
    // A batch delay of ten minutes holds the order service's spans: only the shutdown sends them.
    order.env.OTEL_BSP_SCHEDULE_DELAY = '600000';
    await order.restart('SIGTERM');
    const accountId = `flush-${randomSuffix(6)}`;
    expect((await http.post(`${account.url}/accounts`, { id: accountId, balance: 1_000 })).status).toBe(201);
    const placed = await http.post(`${order.url}/orders`, { accountId, amount: 10 });
    expect(placed.status).toBe(201);
    const gid = (placed.body as { gid: string }).gid;
    const transactionOf = (): ReceivedSpan | undefined => receiver.spans.find((s) => s.name === 'tcc.transaction' && s.attributes['tcc.gid'] === gid);
    // The account service's server span of the try (its delay is short) arrives; the order service's spans do not.
    await eventually(() => receiver.spans.some((s) => s.service === 'account-service' && s.name === 'tcc.participant.try' && s.attributes['tcc.gid'] === gid), {
      what: 'the account service span of the try',
    });
    expect(transactionOf()).toBeUndefined();
    const exited = await order.kill('SIGTERM');
    // Ended by the signal, re-raised after the app closed and the spans went out.
    expect(exited.signal).toBe('SIGTERM');
    expect(transactionOf()).toMatchObject({ service: 'order-service', kind: OTLP_KIND.internal });
  });
});

describe('traces: one order over gRPC (the coordinator API and the account branch)', () => {
  let stack: TraceStack | undefined;
  const http = new Http();

  beforeAll(async () => {
    stack = await startTraceStack({ grpc: true });
  });

  afterAll(async () => {
    await stack?.dispose();
    await http.close();
  });

  it('carries the trace in gRPC metadata, with rpc.* attributes', async () => {
    const { receiver, account, order } = stack!;
    const accountId = `trace-grpc-${randomSuffix(6)}`;
    expect((await http.post(`${account.url}/accounts`, { id: accountId, balance: 10_000 })).status).toBe(201);
    // The order request itself carries a trace: the transaction joins it.
    const incoming = { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') };
    const placed = await http.post(`${order.url}/orders`, { accountId, amount: 40 }, { traceparent: `00-${incoming.traceId}-${incoming.spanId}-01` });
    expect(placed.status).toBe(201);
    const gid = (placed.body as { gid: string }).gid;
    const spans = await eventually(() => allOf(receiver.spans, gid), { timeoutMs: 20_000, what: `the spans of ${gid}` });
    const trace = spans[0].traceId;
    expect(trace).toBe(incoming.traceId);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([trace]));
    const all = receiver.spans.filter((s) => s.traceId === trace);
    const transaction = one(all, 'transaction span', (s) => s.name === 'tcc.transaction');
    expect(transaction.parentSpanId).toBe(incoming.spanId);

    // The coordinator API over gRPC: the client span's context reaches the coordinator in metadata.
    const clientCommit = one(all, 'client commit', (s) => s.name === 'tcc.client.commit');
    expect(clientCommit).toMatchObject({ kind: OTLP_KIND.client, parentSpanId: transaction.spanId });
    expect(clientCommit.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.service': 'tcc.v1.Coordinator', 'rpc.method': 'Commit', 'rpc.grpc.status_code': 0, 'server.address': '127.0.0.1' });
    const commit = one(all, 'coordinator commit', (s) => s.name === 'tcc.coordinator.commit');
    expect(commit.parentSpanId).toBe(clientCommit.spanId);

    // The account branch over gRPC: try from the initiator, confirm from the coordinator.
    for (const [phase, service, parentName] of [
      ['try', 'order-service', 'tcc.transaction'],
      ['confirm', 'tcc-coordinator', 'tcc.coordinator.commit'],
    ] as const) {
      const call = one(all, `${phase} call`, (s) => s.name === `tcc.call.${phase}` && s.attributes['tcc.branch_id'] === 'account-freeze');
      expect(call).toMatchObject({ service, kind: OTLP_KIND.client, status: 0 });
      expect(all.find((s) => s.spanId === call.parentSpanId)?.name).toBe(parentName);
      expect(call.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.service': 'tcc.v1.participants.AccountFreeze', 'rpc.grpc.status_code': 0 });
      const served = one(all, `${phase} server span`, (s) => s.parentSpanId === call.spanId);
      expect(served).toMatchObject({ service: 'account-service', name: `tcc.participant.${phase}`, kind: OTLP_KIND.server });
      expect(served.attributes).toMatchObject({
        'rpc.system': 'grpc',
        'rpc.service': 'tcc.v1.participants.AccountFreeze',
        'rpc.method': phase === 'try' ? 'Try' : 'Confirm',
        'rpc.grpc.status_code': 0,
        'tcc.barrier.outcome': 'applied',
      });
    }
  });
});
