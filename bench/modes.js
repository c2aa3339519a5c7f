'use strict';
/**
 * What one iteration of a virtual user does in each mode of the default flow
 * (bench/transactions-flow.js), over HTTP; the same over gRPC is in bench/grpc-driver.js. Every
 * participant call goes to the stub (bench/participant-stub.js, 200 `{}` to every POST), and every
 * operation must end COMMITTED:
 *
 *   tcc      begin {timeoutMs} -> register b1 -> register b2 (confirm <stub>/confirm, cancel
 *            <stub>/cancel, payload {amount: 1}) -> commit {wait: true}: 200 COMMITTED
 *   saga     POST /v1/sagas { timeoutMs, steps: [s1, s2] (action <stub>/action, compensate
 *            <stub>/compensate, payload {amount: 1}), wait: true }: 201 COMMITTED
 *   message  POST /v1/messages { gid, timeoutMs, queryPrepared <stub>/query, steps: [m1, m2]
 *            (action <stub>/deliver, payload {amount: 1}) }: 201 PREPARED, then
 *            POST /v1/messages/:gid/submit { wait: true }: 200 COMMITTED
 *
 * `stub` names what the stub must have received per committed operation (the sanity check) and what
 * it should not have received at all (counted, reported, not failed on: an operation that failed may
 * legitimately cause it).
 */

const MODE_NAMES = ['tcc', 'saga', 'message'];

/** The load authenticates as a deployment would: one named API key (TCC_API_KEYS) sent with every v1 call. */
const BENCH_API_KEY = 'bench-api-key-0123456789abcdef';
const API_HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${BENCH_API_KEY}` };

class TxError extends Error {
  constructor(step, detail) {
    super(`${step}: ${detail}`);
    this.key = `${step}: ${String(detail).slice(0, 120)}`;
  }
}

async function call(pool, step, method, urlPath, body, expect) {
  let res;
  try {
    res = await pool.request({
      method,
      path: urlPath,
      headers: API_HEADERS,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new TxError(step, err.code || err.message);
  }
  let json;
  try {
    json = await res.body.json();
  } catch {
    json = undefined;
  }
  if (!expect.includes(res.statusCode)) {
    const detail = json && typeof json === 'object' ? json.message || json.error || json.status : '';
    throw new TxError(step, `HTTP ${res.statusCode}${detail ? ` ${JSON.stringify(detail)}` : ''}`);
  }
  return json;
}

async function oneTransaction(pool, o, stubOrigin) {
  const begun = await call(pool, 'begin', 'POST', '/v1/transactions', { timeoutMs: o.timeoutMs }, [201]);
  const gid = begun && begun.gid;
  if (typeof gid !== 'string') throw new TxError('begin', 'no gid in the response');
  const base = `/v1/transactions/${encodeURIComponent(gid)}`;
  for (const branchId of ['b1', 'b2']) {
    await call(
      pool,
      'register',
      'POST',
      `${base}/branches`,
      {
        branchId,
        protocol: 'http',
        confirm: `${stubOrigin}/confirm`,
        cancel: `${stubOrigin}/cancel`,
        payload: { amount: 1 },
      },
      [201],
    );
  }
  const done = await call(pool, 'commit', 'POST', `${base}/commit`, { wait: true }, [200]);
  if (!done || done.status !== 'COMMITTED') throw new TxError('commit', `status ${done && done.status}`);
  return gid;
}

/** The two steps of a benchmark saga (protocol http, on the stub). */
function sagaSteps(stubOrigin) {
  return ['s1', 's2'].map((branchId) => ({
    branchId,
    protocol: 'http',
    action: `${stubOrigin}/action`,
    compensate: `${stubOrigin}/compensate`,
    payload: { amount: 1 },
  }));
}

async function oneSaga(pool, o, stubOrigin) {
  const done = await call(pool, 'saga', 'POST', '/v1/sagas', { timeoutMs: o.timeoutMs, steps: sagaSteps(stubOrigin), wait: true }, [201]);
  if (!done || typeof done.gid !== 'string') throw new TxError('saga', 'no gid in the response');
  if (done.status !== 'COMMITTED') throw new TxError('saga', `status ${done.status}`);
  return done.gid;
}

/** The two steps of a benchmark message (protocol http, delivered to the stub). */
function messageSteps(stubOrigin) {
  return ['m1', 'm2'].map((branchId) => ({ branchId, protocol: 'http', action: `${stubOrigin}/deliver`, payload: { amount: 1 } }));
}

// A message's gid is the initiator's: unique within the run (and the database is fresh for each run).
const gidPrefix = `bench-${Date.now().toString(36)}-${process.pid}-`;
let gidSeq = 0;
const nextMessageGid = () => `${gidPrefix}${++gidSeq}`;

async function oneMessage(pool, o, stubOrigin) {
  const gid = nextMessageGid();
  const prepared = await call(
    pool,
    'prepare',
    'POST',
    '/v1/messages',
    { gid, timeoutMs: o.timeoutMs, queryPrepared: `${stubOrigin}/query`, steps: messageSteps(stubOrigin) },
    [201],
  );
  if (!prepared || prepared.status !== 'PREPARED') throw new TxError('prepare', `status ${prepared && prepared.status}`);
  const done = await call(pool, 'submit', 'POST', `/v1/messages/${encodeURIComponent(gid)}/submit`, { wait: true }, [200]);
  if (!done || done.status !== 'COMMITTED') throw new TxError('submit', `status ${done && done.status}`);
  return gid;
}

const MODES = {
  tcc: {
    title: 'TCC two-branch transactions',
    noun: 'transaction',
    latency: 'whole transaction',
    bench: (transport) => `tcc-2-branch-${transport}`,
    http: (pool, o, stubOrigin) => oneTransaction(pool, o, stubOrigin),
    grpc: (driver, o, stubOrigin) => driver.oneTransaction(stubOrigin, { timeoutMs: o.timeoutMs }),
    stub: { expected: [['/confirm', 'confirms']], unexpected: [['/cancel', 'cancels']] },
  },
  saga: {
    title: 'Two-step sagas',
    noun: 'saga',
    latency: 'POST /v1/sagas {wait}',
    bench: (transport) => `saga-2-step-${transport}`,
    http: (pool, o, stubOrigin) => oneSaga(pool, o, stubOrigin),
    grpc: (driver, o, stubOrigin) => driver.oneSaga(stubOrigin, { timeoutMs: o.timeoutMs }),
    stub: { expected: [['/action', 'actions']], unexpected: [['/compensate', 'compensations']] },
  },
  message: {
    title: 'Two-step reliable messages',
    noun: 'message',
    latency: 'prepare + submit {wait}',
    bench: (transport) => `message-2-step-${transport}`,
    http: (pool, o, stubOrigin) => oneMessage(pool, o, stubOrigin),
    grpc: (driver, o, stubOrigin) => driver.oneMessage(stubOrigin, { gid: nextMessageGid(), timeoutMs: o.timeoutMs }),
    stub: { expected: [['/deliver', 'deliveries']], unexpected: [['/query', 'queries']] },
  },
};

/** Participant calls per committed operation: two in every mode (two branches, steps, deliveries). */
const CALLS_PER_OPERATION = 2;

/**
 * The stub check of one mode: `counts` are the stub's counts received during the mode's run
 * (warm-up, window and drain), `committed` the operations answered COMMITTED in that time. Every one
 * of them must have had its two calls (more arrive when a retry repeats one, or for an operation
 * that failed on the way but was finished by the coordinator).
 */
function stubCheck(mode, counts, committed) {
  const check = {};
  let ok = true;
  for (const [p, name] of MODES[mode].stub.expected) {
    const got = counts[p] || 0;
    const expected = CALLS_PER_OPERATION * committed;
    check[name] = got;
    check[`expected${name[0].toUpperCase()}${name.slice(1)}`] = expected;
    if (got < expected) ok = false;
  }
  for (const [p, name] of MODES[mode].stub.unexpected) check[name] = counts[p] || 0;
  check.ok = ok;
  return check;
}

module.exports = { MODE_NAMES, MODES, BENCH_API_KEY, API_HEADERS, TxError, stubCheck };
