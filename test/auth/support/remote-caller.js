/**
 * Run inside a test host (netns.ts): begins a transaction at the coordinator over HTTP and over
 * gRPC, without credentials, and prints what each answered as one JSON line.
 * Usage: node remote-caller.js <address> <httpPort> <grpcPort>
 */
const { join } = require('node:path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const [address, httpPort, grpcPort] = process.argv.slice(2);
const PROTO_ROOT = join(__dirname, '../../../libs/tcc-client/src/protocol/proto');

async function viaHttp() {
  const res = await fetch(`http://${address}:${httpPort}/v1/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.json() };
}

function viaGrpc() {
  const definition = loader.loadSync(join(PROTO_ROOT, 'tcc/v1/coordinator.proto'), { includeDirs: [PROTO_ROOT], keepCase: false, longs: Number, defaults: true });
  const { Coordinator } = grpc.loadPackageDefinition(definition).tcc.v1;
  const client = new Coordinator(`${address}:${grpcPort}`, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.Begin({}, { deadline: Date.now() + 10_000 }, (error, reply) => {
      client.close();
      resolve(error ? { code: error.code, details: error.details } : { code: 0, gid: reply.gid });
    });
  });
}

Promise.all([viaHttp(), viaGrpc()]).then(
  ([http, rpc]) => console.log(JSON.stringify({ http, grpc: rpc })),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
