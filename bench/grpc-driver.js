/**
 * The benchmark's load over gRPC (tcc.v1.Coordinator, docs/contract.md §4, §9, §10): the same
 * operations as the HTTP load of bench/modes.js, one call of a driver's method per operation.
 * Every call of a driver goes over one shared channel (one HTTP/2 connection, calls multiplexed on it).
 *
 *   oneTransaction  Begin {timeoutMs} -> RegisterBranch b1 -> RegisterBranch b2 (protocol http,
 *                   confirm and cancel on the participant stub, payload {"amount":1}) ->
 *                   Commit {wait: true}, expecting COMMITTED
 *   oneSaga         StartSaga {timeoutMs, steps s1, s2 (protocol http, action <stub>/action,
 *                   compensate <stub>/compensate, payload {"amount":1}), wait: true}, expecting COMMITTED
 *   oneMessage      PrepareMessage {gid, timeoutMs, queryPrepared <stub>/query, steps m1, m2
 *                   (protocol http, action <stub>/deliver, payload {"amount":1})}, expecting PREPARED,
 *                   then SubmitMessage {gid, wait: true}, expecting COMMITTED
 *
 *   const { createGrpcDriver } = require('./grpc-driver');
 *   const driver = createGrpcDriver({ address: `127.0.0.1:${grpcPort}`, apiKey });
 *   const gid = await driver.oneTransaction(stubOrigin, { timeoutMs: 30000 });  // throws GrpcTxError
 *   await driver.oneSaga(stubOrigin, { timeoutMs: 30000 });
 *   await driver.oneMessage(stubOrigin, { gid: 'unique-gid', timeoutMs: 30000 });
 *   driver.close();
 *
 * `stubOrigin` is the stub's base URL (`http://127.0.0.1:PORT`). Each resolves with the gid; rejects
 * with a GrpcTxError whose `key` is `<step>: <gRPC code name> <details>` (steps begin, register,
 * commit, saga, prepare, submit), like bench/modes.js's TxError. `callTimeoutMs` (default 60000) is
 * the deadline of each call.
 *
 * Also runnable alone, as a quick check against a running coordinator:
 *   node bench/grpc-driver.js <coordinator host:port> <stub origin> [operations=100] [concurrency=16] [tcc|saga|message]
 * (the API key, when the coordinator wants one, from BENCH_API_KEY in the environment).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const ROOT = path.resolve(__dirname, '..');
// The same loader options as every other side (libs/tcc-client/src/grpc/proto-loader.options.ts).
const LOADER_OPTIONS = { keepCase: false, longs: Number, enums: String, defaults: false, oneofs: true };

/** The .proto folder: the library's source, or the copy a build puts next to the coordinator. */
function protoRoot() {
  const candidates = [path.join(ROOT, 'libs/tcc-client/src/protocol/proto'), path.join(ROOT, 'dist/apps/coordinator/proto')];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'tcc/v1/coordinator.proto')));
  if (!found) throw new Error(`tcc .proto files not found in ${candidates.join(' or ')}`);
  return found;
}

class GrpcTxError extends Error {
  constructor(step, detail) {
    super(`${step}: ${detail}`);
    this.key = `${step}: ${String(detail).slice(0, 120)}`;
  }
}

function createGrpcDriver({ address, apiKey, callTimeoutMs = 60_000 }) {
  const root = protoRoot();
  const definition = protoLoader.loadSync(path.join(root, 'tcc/v1/coordinator.proto'), { ...LOADER_OPTIONS, includeDirs: [root] });
  const Coordinator = grpc.loadPackageDefinition(definition).tcc.v1.Coordinator;
  const client = new Coordinator(address, grpc.credentials.createInsecure(), {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_permit_without_calls': 1,
  });

  const metadata = new grpc.Metadata();
  if (apiKey) metadata.set('authorization', `Bearer ${apiKey}`);

  function call(step, method, request) {
    return new Promise((resolve, reject) => {
      client[method](request, metadata, { deadline: Date.now() + callTimeoutMs }, (error, reply) => {
        if (error) reject(new GrpcTxError(step, `${grpc.status[error.code] || error.code} ${error.details || ''}`.trim()));
        else resolve(reply);
      });
    });
  }

  async function oneTransaction(stubOrigin, { timeoutMs = 30_000 } = {}) {
    const begun = await call('begin', 'Begin', { timeoutMs });
    const gid = begun && begun.gid;
    if (typeof gid !== 'string' || !gid) throw new GrpcTxError('begin', 'no gid in the reply');
    for (const branchId of ['b1', 'b2']) {
      const registered = await call('register', 'RegisterBranch', {
        gid,
        branchId,
        protocol: 'http',
        confirm: `${stubOrigin}/confirm`,
        cancel: `${stubOrigin}/cancel`,
        payload: '{"amount":1}',
      });
      if (!registered || registered.status !== 'REGISTERED') throw new GrpcTxError('register', `status ${registered && registered.status}`);
    }
    const done = await call('commit', 'Commit', { gid, wait: true });
    if (!done || done.status !== 'COMMITTED') throw new GrpcTxError('commit', `status ${done && done.status}`);
    return gid;
  }

  async function oneSaga(stubOrigin, { timeoutMs = 30_000 } = {}) {
    const steps = ['s1', 's2'].map((branchId) => ({
      branchId,
      protocol: 'http',
      action: `${stubOrigin}/action`,
      compensate: `${stubOrigin}/compensate`,
      payload: '{"amount":1}',
    }));
    const done = await call('saga', 'StartSaga', { timeoutMs, steps, wait: true });
    if (!done || typeof done.gid !== 'string' || !done.gid) throw new GrpcTxError('saga', 'no gid in the reply');
    if (done.status !== 'COMMITTED') throw new GrpcTxError('saga', `status ${done.status}`);
    return done.gid;
  }

  async function oneMessage(stubOrigin, { gid, timeoutMs = 30_000 } = {}) {
    const steps = ['m1', 'm2'].map((branchId) => ({ branchId, protocol: 'http', action: `${stubOrigin}/deliver`, payload: '{"amount":1}' }));
    const prepared = await call('prepare', 'PrepareMessage', { gid, timeoutMs, queryPrepared: `${stubOrigin}/query`, steps });
    if (!prepared || prepared.status !== 'PREPARED') throw new GrpcTxError('prepare', `status ${prepared && prepared.status}`);
    const done = await call('submit', 'SubmitMessage', { gid, wait: true });
    if (!done || done.status !== 'COMMITTED') throw new GrpcTxError('submit', `status ${done && done.status}`);
    return gid;
  }

  return {
    oneTransaction,
    oneSaga,
    oneMessage,
    close: () => client.close(),
  };
}

module.exports = { createGrpcDriver, GrpcTxError };

if (require.main === module) {
  const [address, stubOrigin, total = '100', concurrency = '16', mode = 'tcc'] = process.argv.slice(2);
  if (!address || !stubOrigin || !['tcc', 'saga', 'message'].includes(mode)) {
    console.error('usage: node bench/grpc-driver.js <coordinator host:port> <stub origin> [operations=100] [concurrency=16] [tcc|saga|message]');
    process.exit(2);
  }
  const driver = createGrpcDriver({ address, apiKey: process.env.BENCH_API_KEY });
  const prefix = `grpc-driver-${Date.now().toString(36)}-${process.pid}-`;
  let seq = 0;
  const one = {
    tcc: () => driver.oneTransaction(stubOrigin),
    saga: () => driver.oneSaga(stubOrigin),
    message: () => driver.oneMessage(stubOrigin, { gid: `${prefix}${++seq}` }),
  }[mode];
  let left = Number(total);
  const failures = new Map();
  const started = Date.now();
  const worker = async () => {
    while (left-- > 0) {
      await one().catch((error) => failures.set(error.key || error.message, (failures.get(error.key || error.message) || 0) + 1));
    }
  };
  Promise.all(Array.from({ length: Number(concurrency) }, worker)).then(() => {
    const seconds = (Date.now() - started) / 1000;
    const failed = [...failures.values()].reduce((a, b) => a + b, 0);
    console.log(JSON.stringify({ mode, operations: Number(total), failed, seconds, perSecond: Math.round(Number(total) / seconds), failures: Object.fromEntries(failures) }));
    driver.close();
    process.exit(failed ? 1 : 0);
  });
}
