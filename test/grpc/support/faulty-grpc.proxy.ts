/**
 * A real gRPC server in front of a gRPC participant service that fails a share of confirm and
 * cancel calls on their first attempt: half with UNAVAILABLE without forwarding (the participant
 * never saw it) and half with UNAVAILABLE after forwarding (the participant did the work but its
 * answer is lost), so the coordinator's retries must be idempotent. Tries pass through untouched,
 * and so do the participant's own statuses and trailers. `also`: more services of the same
 * participant process (a saga step's Action and Compensate, a message consumer's Message), proxied
 * with the same faults on their calls.
 */
import {
  Client,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { participantMethods, type BranchReplyMsg, type BranchRequestMsg } from '@tcc/client/grpc/grpc.messages';

export interface FaultyGrpcProxy {
  /** `host:port` to give callers instead of the participant's. */
  address: string;
  stats: { forwarded: number; droppedBefore: number; droppedAfter: number };
  close(): Promise<void>;
}

/** Fails every `1 / failureRate`-th first attempt of a confirm or cancel, alternating the two kinds of fault. */
export interface ProxyTls {
  /** What the proxy presents to its callers (and requires of them, with clientCa). */
  server: { cert: Buffer; key: Buffer; clientCa?: Buffer };
  /** What the proxy trusts and presents upstream. */
  upstream: { ca: Buffer; cert?: Buffer; key?: Buffer };
}

export async function startFaultyGrpcProxy(
  target: string,
  service: string,
  failureRate: number,
  tls?: ProxyTls,
  also: { service: string; methods: readonly string[] }[] = [],
): Promise<FaultyGrpcProxy> {
  const every = Math.round(1 / failureRate);
  let firstAttempts = 0;
  let faults = 0;
  const seen = new Set<string>();
  const stats = { forwarded: 0, droppedBefore: 0, droppedAfter: 0 };
  const upstream = new Client(
    target,
    tls ? credentials.createSsl(tls.upstream.ca, tls.upstream.key ?? null, tls.upstream.cert ?? null) : credentials.createInsecure(),
  );
  const methods = participantMethods();
  const unavailable = (details: string): ServiceError =>
    Object.assign(new Error(details), { code: GrpcStatus.UNAVAILABLE, details, metadata: new Metadata() });

  const server = new Server();
  for (const proxied of [{ service, methods: ['Try', 'Confirm', 'Cancel'] }, ...also]) {
    const definition: Record<string, ServiceDefinition[string]> = {};
    const implementation: UntypedServiceImplementation = {};
    for (const method of proxied.methods) {
      const path = `/${proxied.service}/${method}`;
      // Every branch method has the shape of tcc.v1.Participant's.
      const shape = methods.Confirm;
      definition[method] = { ...shape, path };
      implementation[method] = (call: ServerUnaryCall<BranchRequestMsg, BranchReplyMsg>, callback: sendUnaryData<BranchReplyMsg>) => {
      let fault: 'before' | 'after' | undefined;
      if (method !== 'Try') {
        const key = `${call.request.gid}/${call.request.branchId}/${method}`;
        if (!seen.has(key)) {
          seen.add(key);
          if (++firstAttempts % every === 0) fault = faults++ % 2 === 0 ? 'before' : 'after';
        }
      }
      if (fault === 'before') {
        stats.droppedBefore++;
        callback(unavailable('injected failure'));
        return;
      }
      upstream.makeUnaryRequest(
        path,
        shape.requestSerialize,
        shape.responseDeserialize,
        call.request,
        call.metadata,
        { deadline: Date.now() + 10_000 },
        (error: ServiceError | null, reply?: BranchReplyMsg) => {
          stats.forwarded++;
          if (fault === 'after') {
            stats.droppedAfter++;
            callback(unavailable('injected lost answer'));
            return;
          }
          if (error) callback(error);
          else callback(null, reply);
        },
      );
    };
    }
    server.addService(definition as ServiceDefinition, implementation);
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      '127.0.0.1:0',
      tls
        ? ServerCredentials.createSsl(tls.server.clientCa ?? null, [{ cert_chain: tls.server.cert, private_key: tls.server.key }], !!tls.server.clientCa)
        : ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    stats,
    async close() {
      server.forceShutdown();
      upstream.close();
    },
  };
}
