/**
 * The participant endpoints over gRPC (docs/contract.md §5), when TccModule has `grpc: { port }`: a grpc-js
 * server of this library's own, next to the application's HTTP server, serving every
 * @TccParticipant as the service named by participantGrpcService (`tcc.v1.participants.<Name>`,
 * methods Try, Confirm, Cancel; Action, Compensate for a saga participant; Message for a message
 * handler; Reconcile for every one, docs/contract.md §13; each taking tcc.v1.BranchRequest and answering tcc.v1.BranchReply), and a message
 * initiator's queryPrepared as `tcc.v1.Initiator/QueryPrepared` (reply `result`: the JSON
 * `{"status":"COMMITTED"|"ROLLED_BACK"}`). Each participant call runs through the same dispatcher as
 * over HTTP: barrier and business method in one local transaction.
 *
 * Answers: OK with `result` = the JSON of `{ gid, branchId, phase, outcome, result }` (what HTTP
 * answers) when done, duplicates and empty rollbacks included; a refused try or action answers the gRPC code
 * of its HTTP status (400 INVALID_ARGUMENT, 404 NOT_FOUND, 401 UNAUTHENTICATED, 403
 * PERMISSION_DENIED, any other 4xx FAILED_PRECONDITION) with trailers `tcc-error-code` (e.g.
 * INSUFFICIENT_FUNDS) and `tcc-http-status`; a try (action) after its cancel (compensation) FAILED_PRECONDITION
 * BRANCH_CANCELLED, a confirm with no try before it FAILED_PRECONDITION BRANCH_NOT_TRIED (both
 * `tcc-http-status` 409); a malformed call INVALID_ARGUMENT with `tcc-fields`; a failure INTERNAL,
 * which the coordinator retries. What each call answers is decided by answerCall, as over HTTP.
 *
 * Started in onApplicationBootstrap (after the explorer registered the participants), stopped in
 * beforeApplicationShutdown, so in-flight calls finish before the database closes.
 */
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import type {
  Metadata,
  sendUnaryData,
  Server,
  ServerErrorResponse,
  ServerUnaryCall,
  ServiceDefinition,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { grpcJs } from '../grpc/grpc.runtime';
import { ResolvedTccOptions, TCC_OPTIONS } from '../tcc.options';
import { participantMethods, type BranchReplyMsg, type BranchRequestMsg } from '../grpc/grpc.messages';
import { GrpcStatus, metadataText, TCC_TRAILERS } from '../grpc/grpc.status';
import { withTraceparent } from '../initiator/trace-context';
import { RECONCILE_GRPC_METHOD, TCC_HEADERS } from '../protocol';
import type { BranchPhase, JsonValue, TransactionFinished } from '../protocol';
import type { ParticipantPhase } from '../barrier/branch.barrier';
import { PreparedQuery } from '../initiator/prepared-query.service';
import { NoFinishedHandlerError, TransactionFinishedHandlers } from '../initiator/transaction-finished.handlers';
import type { BranchCall } from './branch-call.types';
import { parseBranchCall } from './branch-call.parser';
import type { BranchAnswer } from './participant.answer';
import { answerTraced } from './participant.span';
import { ParticipantDefinitionError } from './participant-definition.error';
import { ParticipantDispatcher } from './participant.dispatcher';
import { ParticipantReconciler } from './participant.reconciler';
import { FINISHED_GRPC_METHOD, GRPC_METHOD_OF, INITIATOR_GRPC_SERVICE, participantGrpcService, QUERY_PREPARED_GRPC_METHOD } from './participant-grpc.naming';
import { PHASES_OF_KIND, ParticipantRegistry } from './participant.registry';
import { SignatureVerifier } from '../signing/signature.verifier';
import { SIGNATURE_HEADERS } from '../signing/branch-signature';

const SHUTDOWN_GRACE_MS = 5_000;

const GRPC_OF_HTTP: Record<number, GrpcStatus> = {
  400: GrpcStatus.INVALID_ARGUMENT,
  401: GrpcStatus.UNAUTHENTICATED,
  403: GrpcStatus.PERMISSION_DENIED,
  404: GrpcStatus.NOT_FOUND,
};

function failure(code: GrpcStatus, details: string, trailers: Record<string, string> = {}): ServerErrorResponse {
  const metadata = new (grpcJs().Metadata)();
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value);
  return Object.assign(new Error(details), { code, details, metadata });
}

/** The gRPC status code an answer goes out with (rpc.grpc.status_code). */
function grpcCodeOfAnswer(answer: BranchAnswer): number {
  switch (answer.kind) {
    case 'done':
      return GrpcStatus.OK;
    case 'not-found':
      return GrpcStatus.NOT_FOUND;
    case 'refused':
      return GRPC_OF_HTTP[answer.statusCode] ?? GrpcStatus.FAILED_PRECONDITION;
    case 'failed':
      return GrpcStatus.INTERNAL;
  }
}

function refusal(statusCode: number, errorCode: string, message: string): ServerErrorResponse {
  return failure(GRPC_OF_HTTP[statusCode] ?? GrpcStatus.FAILED_PRECONDITION, `${errorCode}: ${message}`, {
    [TCC_TRAILERS.errorCode]: errorCode,
    [TCC_TRAILERS.httpStatus]: String(statusCode),
  });
}

@Injectable()
export class ParticipantGrpcServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('TccParticipant');
  private server: Server | undefined;
  private boundPort: number | undefined;

  constructor(
    @Inject(TCC_OPTIONS) private readonly options: ResolvedTccOptions,
    private readonly registry: ParticipantRegistry,
    private readonly dispatcher: ParticipantDispatcher,
    private readonly signatures: SignatureVerifier,
    private readonly prepared: PreparedQuery,
    private readonly finished: TransactionFinishedHandlers,
    private readonly reconciler: ParticipantReconciler,
  ) {}

  /** Whether this service serves its participants over gRPC. */
  get enabled(): boolean {
    return this.options.grpc !== undefined;
  }

  /** `host:port` at which others reach this server: the configured publicAddress, or 127.0.0.1 and the bound port. */
  address(): string {
    const grpc = this.options.grpc;
    if (!grpc) throw new Error('tcc: this service serves no participant over gRPC: set the grpc option of TccModule');
    if (grpc.publicAddress) return grpc.publicAddress;
    if (this.boundPort === undefined) throw new Error('tcc: the participant gRPC server is not listening yet');
    const host = grpc.host === '0.0.0.0' || grpc.host === '::' ? '127.0.0.1' : grpc.host.includes(':') ? `[${grpc.host}]` : grpc.host;
    return `${host}:${this.boundPort}`;
  }

  /** The port actually bound (useful with port 0), once started. */
  get port(): number | undefined {
    return this.boundPort;
  }

  async onApplicationBootstrap(): Promise<void> {
    const grpc = this.options.grpc;
    if (!grpc) return;
    const { Server, ServerCredentials } = grpcJs();
    const server = new Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
    const served = new Map<string, string>();
    for (const name of this.registry.names()) {
      const service = participantGrpcService(name);
      const other = served.get(service);
      if (other) {
        throw new ParticipantDefinitionError(
          `tcc participants "${other}" and "${name}" would both be served over gRPC as ${service}: rename one`,
        );
      }
      served.set(service, name);
      const phases = PHASES_OF_KIND[this.registry.get(name)!.kind];
      // Every participant also answers Reconcile (docs/contract.md §13).
      server.addService(
        this.definition(service, [...phases.map((phase) => GRPC_METHOD_OF[phase]), RECONCILE_GRPC_METHOD]),
        this.implementation(name, phases),
      );
    }
    // A message initiator's queryPrepared (docs/contract.md §10), whether or not this service hosts participants.
    // And an initiator's completion callbacks (§11).
    server.addService(this.definition(INITIATOR_GRPC_SERVICE, [QUERY_PREPARED_GRPC_METHOD, FINISHED_GRPC_METHOD]), {
      [QUERY_PREPARED_GRPC_METHOD]: (call: ServerUnaryCall<BranchRequestMsg, BranchReplyMsg>, callback: sendUnaryData<BranchReplyMsg>): void => {
        this.queryPrepared(call.request, call.metadata).then(
          (reply) => callback(null, reply),
          (error: ServerErrorResponse) => callback(error),
        );
      },
      [FINISHED_GRPC_METHOD]: (call: ServerUnaryCall<BranchRequestMsg, BranchReplyMsg>, callback: sendUnaryData<BranchReplyMsg>): void => {
        this.transactionFinished(call.request, call.metadata).then(
          (reply) => callback(null, reply),
          (error: ServerErrorResponse) => callback(error),
        );
      },
    });
    served.set(INITIATOR_GRPC_SERVICE, '');
    const host = grpc.host.includes(':') && !grpc.host.startsWith('[') ? `[${grpc.host}]` : grpc.host;
    this.boundPort = await new Promise<number>((resolve, reject) => {
      const tls = grpc.tls;
      const serverCredentials = tls
        ? ServerCredentials.createSsl(tls.clientCa ? Buffer.from(tls.clientCa) : null, [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }], !!tls.clientCa)
        : ServerCredentials.createInsecure();
      server.bindAsync(`${host}:${grpc.port}`, serverCredentials, (error, port) => (error ? reject(error) : resolve(port)));
    });
    this.server = server;
    this.logger.log({ msg: `participants served over gRPC on ${host}:${this.boundPort}`, services: [...served.keys()] });
  }

  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, SHUTDOWN_GRACE_MS);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  /** Methods of the conventional shape (BranchRequest -> BranchReply), at the paths of `service`. */
  private definition(service: string, methodNames: readonly string[]): ServiceDefinition {
    const shape = participantMethods().Try;
    const definition: Record<string, ServiceDefinition[string]> = {};
    for (const method of methodNames) definition[method] = { ...shape, path: `/${service}/${method}`, originalName: method };
    return definition as ServiceDefinition;
  }

  private implementation(participant: string, phases: readonly ParticipantPhase[]): UntypedServiceImplementation {
    const implementation: UntypedServiceImplementation = {};
    for (const phase of phases) {
      implementation[GRPC_METHOD_OF[phase]] = (
        call: ServerUnaryCall<BranchRequestMsg, BranchReplyMsg>,
        callback: sendUnaryData<BranchReplyMsg>,
      ): void => {
        this.handle(participant, phase, call.request, call.metadata).then(
          (reply) => callback(null, reply),
          (error: ServerErrorResponse) => callback(error),
        );
      };
    }
    implementation[RECONCILE_GRPC_METHOD] = (call: ServerUnaryCall<BranchRequestMsg, BranchReplyMsg>, callback: sendUnaryData<BranchReplyMsg>): void => {
      this.reconcile(participant, call.request, call.metadata).then(
        (reply) => callback(null, reply),
        (error: ServerErrorResponse) => callback(error),
      );
    };
    return implementation;
  }

  /** Reconciliation (§13): OK with `result` = the JSON of the ReconcileAnswer; reads only. */
  private async reconcile(participant: string, request: BranchRequestMsg, metadata: Metadata): Promise<BranchReplyMsg> {
    const call = this.parse('reconcile', request, metadata);
    let result: Awaited<ReturnType<ParticipantReconciler['answer']>>;
    try {
      result = await this.reconciler.answer(participant, call);
    } catch (error) {
      throw failure(GrpcStatus.INTERNAL, error instanceof Error ? error.message : String(error));
    }
    if (result.kind === 'not-found') throw failure(GrpcStatus.NOT_FOUND, result.message);
    return { result: JSON.stringify(result.answer) };
  }

  /** The call checked as over HTTP (syntax, headers agreeing, signature), or the gRPC error refusing it. */
  private parse(phase: BranchPhase, request: BranchRequestMsg, metadata: Metadata): BranchCall {
    let payload: JsonValue | null = null;
    const invalid: string[] = [];
    if (request.payload) {
      try {
        payload = JSON.parse(request.payload) as JsonValue;
      } catch {
        invalid.push('payload');
      }
    }
    const headers = {
      [TCC_HEADERS.gid]: metadataText(metadata, TCC_HEADERS.gid),
      [TCC_HEADERS.branchId]: metadataText(metadata, TCC_HEADERS.branchId),
      [TCC_HEADERS.phase]: metadataText(metadata, TCC_HEADERS.phase),
      [SIGNATURE_HEADERS.signature]: metadataText(metadata, SIGNATURE_HEADERS.signature),
      [SIGNATURE_HEADERS.timestamp]: metadataText(metadata, SIGNATURE_HEADERS.timestamp),
    };
    const parsed = parseBranchCall(phase, { gid: request.gid, branchId: request.branchId, phase: request.phase || undefined, payload }, headers);
    if ('invalid' in parsed) invalid.unshift(...parsed.invalid);
    if (invalid.length > 0 || 'invalid' in parsed) {
      throw failure(GrpcStatus.INVALID_ARGUMENT, `invalid ${invalid.join(', ')}`, { [TCC_TRAILERS.fields]: invalid.join(',') });
    }
    const { call } = parsed;
    const refused = this.signatures.refusal(call, headers);
    if (refused) throw failure(GrpcStatus.UNAUTHENTICATED, `SIGNATURE_INVALID: ${refused}`, { [TCC_TRAILERS.errorCode]: 'SIGNATURE_INVALID' });
    return call;
  }

  private async queryPrepared(request: BranchRequestMsg, metadata: Metadata): Promise<BranchReplyMsg> {
    const call = this.parse('query', request, metadata);
    try {
      return { result: JSON.stringify({ status: await this.prepared.answer(call.gid) }) };
    } catch (error) {
      // The coordinator asks again later.
      throw failure(GrpcStatus.INTERNAL, error instanceof Error ? error.message : String(error));
    }
  }

  /** A completion callback (docs/contract.md §11): OK once every handler returned; any error status is sent again. */
  private async transactionFinished(request: BranchRequestMsg, metadata: Metadata): Promise<BranchReplyMsg> {
    const call = this.parse('callback', request, metadata);
    try {
      await this.finished.deliver(call.payload as unknown as TransactionFinished);
    } catch (error) {
      const code = error instanceof NoFinishedHandlerError ? GrpcStatus.NOT_FOUND : GrpcStatus.INTERNAL;
      throw failure(code, error instanceof Error ? error.message : String(error));
    }
    return { result: JSON.stringify({ gid: call.gid, received: true }) };
  }

  private async handle(participant: string, phase: ParticipantPhase, request: BranchRequestMsg, metadata: Metadata): Promise<BranchReplyMsg> {
    const call = this.parse(phase, request, metadata);
    const origin = {
      kind: 'server' as const,
      traceparent: metadataText(metadata, TCC_HEADERS.traceparent),
      attributes: { 'rpc.system': 'grpc', 'rpc.service': participantGrpcService(participant), 'rpc.method': GRPC_METHOD_OF[phase] },
      statusAttributes: (answer: BranchAnswer) => ({ 'rpc.grpc.status_code': grpcCodeOfAnswer(answer) }),
    };
    // The span makes the caller's traceparent (its own, as parent) current for the business method.
    const answer = await answerTraced(participant, call, origin, () => this.dispatcher.dispatch(participant, phase, call));
    switch (answer.kind) {
      case 'done':
        return { result: JSON.stringify(answer.answer) };
      case 'not-found':
        throw failure(GrpcStatus.NOT_FOUND, answer.message);
      case 'refused':
        throw refusal(answer.statusCode, answer.code, answer.message);
      case 'failed':
        throw failure(GrpcStatus.INTERNAL, answer.message);
    }
  }
}
