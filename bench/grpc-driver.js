/**
 * The benchmark's load over gRPC: one two-branch TCC transaction through the coordinator's gRPC
 * API (tcc.v1.Coordinator, docs/contract.md §4), the same steps as the HTTP load in
 * bench/transactions-flow.js:
 * Begin {timeoutMs} -> RegisterBranch b1 -> RegisterBranch b2 (protocol http, confirm and cancel on
 * the participant stub, payload {"amount":1}) -> Commit {wait: true}, expecting COMMITTED. Every
 * call of a driver goes over one shared channel (one HTTP/2 connection, calls multiplexed on it).
 *
 *   const { createGrpcDriver } = require('./grpc-driver');
 *   const driver = createGrpcDriver({ address: `127.0.0.1:${grpcPort}` });
 *   const gid = await driver.oneTransaction(stubOrigin, { timeoutMs: 30000 });  // throws GrpcTxError
 *   driver.close();
 *
 * `oneTransaction(stubOrigin, { timeoutMs })`: `stubOrigin` is the stub's base URL
 * (`http://127.0.0.1:PORT`); the branches are registered at `<stubOrigin>/confirm` and
 * `<stubOrigin>/cancel`. Resolves with the gid; rejects with a GrpcTxError whose `key` is
 * `<step>: <gRPC code name> <details>` (steps begin, register, commit), like transactions-flow.js's TxError.
 * `callTimeoutMs` (default 60000) is the deadline of each call.
 *
 * Also runnable alone, as a quick check against a running coordinator:
 *   node bench/grpc-driver.js <coordinator host:port> <stub origin> [transactions=100] [concurrency=16]
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

  return {
    oneTransaction,
    close: () => client.close(),
  };
}

module.exports = { createGrpcDriver, GrpcTxError };

if (require.main === module) {
  const [address, stubOrigin, total = '100', concurrency = '16'] = process.argv.slice(2);
  if (!address || !stubOrigin) {
    console.error('usage: node bench/grpc-driver.js <coordinator host:port> <stub origin> [transactions=100] [concurrency=16]');
    process.exit(2);
  }
  const driver = createGrpcDriver({ address });
  let left = Number(total);
  const failures = new Map();
  const started = Date.now();
  const worker = async () => {
    while (left-- > 0) {
      await driver.oneTransaction(stubOrigin).catch((error) => failures.set(error.key || error.message, (failures.get(error.key || error.message) || 0) + 1));
    }
  };
  Promise.all(Array.from({ length: Number(concurrency) }, worker)).then(() => {
    const seconds = (Date.now() - started) / 1000;
    const failed = [...failures.values()].reduce((a, b) => a + b, 0);
    console.log(JSON.stringify({ transactions: Number(total), failed, seconds, perSecond: Math.round(Number(total) / seconds), failures: Object.fromEntries(failures) }));
    driver.close();
    process.exit(failed ? 1 : 0);
  });
}
