/**
 * A real gRPC participant for the specs: a grpc-js server on 127.0.0.1 (random port) serving the
 * conventional tcc.v1.Participant shape under any service names it is given, recording every call
 * (request, metadata) and answering each method as told: OK, a status N times then OK, or a delay.
 */
import {
  Metadata,
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type sendUnaryData,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { participantMethods, type BranchReplyMsg, type BranchRequestMsg } from '@tcc/client/grpc/grpc.messages';
import { eventually } from '../../support/wait';

export type GrpcBehaviour =
  | { kind: 'ok'; delayMs?: number; result?: string }
  /** Answers `code` to the first `times` calls, then OK. */
  | { kind: 'fail'; code: GrpcStatus; times: number };

export interface GrpcRecordedCall {
  seq: number;
  at: number;
  /** `/package.Service/Method`. */
  path: string;
  request: BranchRequestMsg;
  metadata: Record<string, string>;
  /** The code answered. */
  answer: GrpcStatus;
}

const METHODS = ['Try', 'Confirm', 'Cancel'] as const;

export class GrpcParticipantServer {
  readonly calls: GrpcRecordedCall[] = [];
  private readonly behaviours = new Map<string, GrpcBehaviour>();
  private readonly counts = new Map<string, number>();
  private seq = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Serves each of `services` (full names, e.g. `tcc.v1.Ledger`) with Try, Confirm and Cancel. */
  static async start(services: string[]): Promise<GrpcParticipantServer> {
    const server = new Server();
    let participant: GrpcParticipantServer | undefined;
    const methods = participantMethods();
    for (const service of services) {
      const definition: Record<string, ServiceDefinition[string]> = {};
      const implementation: UntypedServiceImplementation = {};
      for (const method of METHODS) {
        const path = `/${service}/${method}`;
        definition[method] = { ...methods[method], path };
        implementation[method] = (call: { request: BranchRequestMsg; metadata: Metadata }, callback: sendUnaryData<BranchReplyMsg>) =>
          participant!.handle(path, call.request, call.metadata, callback);
      }
      server.addService(definition as ServiceDefinition, implementation);
    }
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    participant = new GrpcParticipantServer(server, port);
    return participant;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Target of `service`'s `method`: `127.0.0.1:<port>/<service>/<method>`. */
  target(service: string, method: (typeof METHODS)[number]): string {
    return `${this.address}/${service}/${method}`;
  }

  /** Confirm and cancel targets of `service`, as a registration takes them. */
  branch(service: string): { confirm: string; cancel: string } {
    return { confirm: this.target(service, 'Confirm'), cancel: this.target(service, 'Cancel') };
  }

  behave(service: string, method: (typeof METHODS)[number], behaviour: GrpcBehaviour): void {
    const path = `/${service}/${method}`;
    this.behaviours.set(path, behaviour);
    this.counts.set(path, 0);
  }

  callsFor(gid: string, branchId?: string, phase?: string): GrpcRecordedCall[] {
    return this.calls.filter(
      (c) => c.request.gid === gid && (branchId === undefined || c.request.branchId === branchId) && (phase === undefined || c.request.phase === phase),
    );
  }

  waitForCalls(filter: (c: GrpcRecordedCall) => boolean, count = 1, timeoutMs = 15_000): Promise<GrpcRecordedCall[]> {
    return eventually(
      () => {
        const found = this.calls.filter(filter);
        return found.length >= count ? found : undefined;
      },
      { timeoutMs, intervalMs: 20, what: `${count} matching gRPC participant call(s)` },
    );
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2_000);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  private handle(path: string, request: BranchRequestMsg, metadata: Metadata, callback: sendUnaryData<BranchReplyMsg>): void {
    const count = (this.counts.get(path) ?? 0) + 1;
    this.counts.set(path, count);
    const behaviour = this.behaviours.get(path) ?? { kind: 'ok' };
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(metadata.getMap())) headers[key] = String(value);
    const call: GrpcRecordedCall = { seq: ++this.seq, at: Date.now(), path, request, metadata: headers, answer: GrpcStatus.OK };
    this.calls.push(call);
    if (behaviour.kind === 'fail' && count <= behaviour.times) {
      call.answer = behaviour.code;
      callback({ code: behaviour.code, details: `participant answers ${GrpcStatus[behaviour.code]} on purpose` });
      return;
    }
    const delay = behaviour.kind === 'ok' ? behaviour.delayMs ?? 0 : 0;
    const reply = { result: (behaviour.kind === 'ok' ? behaviour.result : undefined) ?? JSON.stringify({ ok: true }) };
    if (delay > 0) setTimeout(() => callback(null, reply), delay);
    else callback(null, reply);
  }
}
