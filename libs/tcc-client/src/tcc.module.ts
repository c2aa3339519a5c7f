/**
 * What an application imports to take part in TCC transactions, sagas and reliable messages: the
 * coordinator client (HTTP or gRPC, `transport`), the initiators (@TccTransactional, TccInitiator,
 * TccSagas, TccMessages with its queryPrepared endpoint) and the participant endpoints (HTTP always,
 * gRPC with `grpc`) with their barrier.
 */
import { DynamicModule, FactoryProvider, Module, ModuleMetadata, Provider } from '@nestjs/common';
import { APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { BarrierCleanupService } from './barrier/barrier-cleanup.service';
import { InitiatorExplorer } from './initiator/initiator.explorer';
import { PreparedQuery } from './initiator/prepared-query.service';
import { TransactionFinishedHandlers } from './initiator/transaction-finished.handlers';
import { ParticipantTargets } from './initiator/participant-targets';
import { TccMessages } from './initiator/tcc-messages.service';
import { TccSagas } from './initiator/tcc-sagas.service';
import { SelfUrl } from './initiator/self-url.service';
import { TccInitiator } from './initiator/tcc-initiator.service';
import { TraceparentInterceptor } from './initiator/traceparent.interceptor';
import { TransactionRunner } from './initiator/transaction.runner';
import { participantControllerFor } from './participant/participant.controller';
import { ParticipantDatabase } from './participant/participant-database.provider';
import { ParticipantDispatcher } from './participant/participant.dispatcher';
import { ParticipantReconciler } from './participant/participant.reconciler';
import { ParticipantExplorer } from './participant/participant.explorer';
import { ParticipantRegistry } from './participant/participant.registry';
import { ParticipantGrpcServer } from './participant/participant-grpc.server';
import { ParticipantCaller } from './caller/participant.caller';
import { SignatureVerifier } from './signing/signature.verifier';
import { TCC_CLIENT_TLS } from './tls/tls.options';
import { GrpcChannels } from './grpc/grpc.channels';
import { CoordinatorClient } from './client/coordinator.client';
import { GrpcCoordinatorClient } from './client/grpc-coordinator.client';
import { HttpCoordinatorClient } from './client/http-coordinator.client';
import { HttpTransport } from './client/http.transport';
import { DEFAULT_PARTICIPANT_PATH, ResolvedTccOptions, TCC_OPTIONS, TccModuleOptions, resolveTccOptions } from './tcc.options';

export interface TccModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: FactoryProvider['inject'];
  useFactory: (...args: never[]) => TccModuleOptions | Promise<TccModuleOptions>;
  /** Route prefix of the participant endpoints; fixed when the module is declared. Default `tcc`. */
  participantPath?: string;
}

const SERVICES: Provider[] = [
  { provide: TCC_CLIENT_TLS, inject: [TCC_OPTIONS], useFactory: (options: ResolvedTccOptions) => options.tls },
  HttpTransport,
  GrpcChannels,
  {
    provide: CoordinatorClient,
    inject: [TCC_OPTIONS, HttpTransport, GrpcChannels],
    useFactory: (options: ResolvedTccOptions, http: HttpTransport, channels: GrpcChannels): CoordinatorClient =>
      options.transport === 'grpc' ? new GrpcCoordinatorClient(options, channels) : new HttpCoordinatorClient(options, http),
  },
  ParticipantCaller,
  ParticipantGrpcServer,
  SelfUrl,
  TransactionRunner,
  TccInitiator,
  InitiatorExplorer,
  ParticipantRegistry,
  ParticipantDatabase,
  ParticipantDispatcher,
  ParticipantReconciler,
  ParticipantExplorer,
  SignatureVerifier,
  BarrierCleanupService,
  PreparedQuery,
  TransactionFinishedHandlers,
  ParticipantTargets,
  TccSagas,
  TccMessages,
  { provide: APP_INTERCEPTOR, useClass: TraceparentInterceptor },
];
const EXPORTS = [CoordinatorClient, TccInitiator, TccSagas, TccMessages, ParticipantRegistry, ParticipantGrpcServer, BarrierCleanupService, TCC_OPTIONS];

@Module({})
export class TccModule {
  static forRoot(options: TccModuleOptions = {}): DynamicModule {
    const resolved = resolveTccOptions(options);
    return {
      module: TccModule,
      global: true,
      imports: [DiscoveryModule],
      controllers: [participantControllerFor(resolved.participantPath)],
      providers: [{ provide: TCC_OPTIONS, useValue: resolved }, ...SERVICES],
      exports: EXPORTS,
    };
  }

  static forRootAsync(options: TccModuleAsyncOptions): DynamicModule {
    const participantPath = options.participantPath ?? DEFAULT_PARTICIPANT_PATH;
    const factory = options.useFactory as (...args: unknown[]) => TccModuleOptions | Promise<TccModuleOptions>;
    return {
      module: TccModule,
      global: true,
      imports: [DiscoveryModule, ...(options.imports ?? [])],
      controllers: [participantControllerFor(participantPath.replace(/^\/+|\/+$/g, ''))],
      providers: [
        {
          provide: TCC_OPTIONS,
          inject: options.inject ?? [],
          useFactory: async (...args: unknown[]) => resolveTccOptions({ ...(await factory(...args)), participantPath }),
        },
        ...SERVICES,
      ],
      exports: EXPORTS,
    };
  }
}
