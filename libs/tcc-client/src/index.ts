/**
 * @tcc/client: what business code imports. The module (TccModule), the initiators
 * (@TccTransactional, TccInitiator, TccSagas, TccMessages), the participant decorators and their barrier, the typed
 * errors, and the wire types of the contract. Internals are not exported.
 */
export * from './protocol';

// The module and its options.
export { TccModule, type TccModuleAsyncOptions } from './tcc.module';
export type { TccModuleOptions, ParticipantGrpcOptions } from './tcc.options';

// Talking to the coordinator.
export { CoordinatorClient } from './client/coordinator.client';
export {
  CoordinatorAuthError,
  CoordinatorError,
  CoordinatorUnavailableError,
  type CoordinatorAuthCode,
} from './client/coordinator.errors';

// The initiator.
export { TccTransactional } from './initiator/tcc-transactional.decorator';
export { TccInitiator } from './initiator/tcc-initiator.service';
export type { TransactionalOptions } from './initiator/transaction.runner';
export type { BranchOptions } from './initiator/branch.options';
export type { RetryBudgetOptions } from './initiator/retry-budget.options';
export type { FinalStatus, WaitForOutcomeOptions } from './initiator/outcome.waiter';
export * from './initiator/initiator.errors';

// Completion callbacks (docs/contract.md §11): the handler decorator (the event type is TransactionFinished).
export { OnTransactionFinished } from './initiator/on-transaction-finished.decorator';

// Sagas and reliable messages.
export { TccSagas } from './initiator/tcc-sagas.service';
export { SagaBuilder, type SagaOptions, type SagaStepOptions, type SagaSubmitted, type SubmitSagaOptions } from './initiator/saga.builder';
export { TccMessages, type MessageOptions, type MessageSent, type MessageStepOptions } from './initiator/tcc-messages.service';

// Participants.
export { TccParticipant } from './participant/tcc-participant.decorator';
export { TccTry, TccConfirm, TccCancel, SagaAction, SagaCompensate, MessageHandler } from './participant/tcc-phase.decorators';
export { TccReconcile } from './participant/tcc-reconcile.decorator';
export type { ParticipantKind } from './participant/participant.registry';
export type { BranchCall, BranchMethod } from './participant/branch-call.types';
export { BranchRefusal } from './participant/branch-refusal.error';
export { ParticipantDefinitionError } from './participant/participant-definition.error';
export {
  INITIATOR_GRPC_SERVICE,
  QUERY_PREPARED_GRPC_METHOD,
  FINISHED_GRPC_METHOD,
  finishedGrpcTarget,
  participantGrpcService,
  participantGrpcTarget,
  queryPreparedGrpcTarget,
} from './participant/participant-grpc.naming';
export { ParticipantGrpcServer } from './participant/participant-grpc.server';

// TLS of the calls this library makes and serves.
export type { TlsClientOptions, TlsServerOptions } from './tls/tls.options';

// Signed participant calls (for participants and callers not built with this library too).
export {
  DEFAULT_SIGNATURE_CLOCK_SKEW_MS,
  DEFAULT_SIGNATURE_WINDOW_MS,
  SIGNATURE_HEADERS,
  parseSigningKeys,
  payloadText,
  signBranchCall,
  verifyBranchCall,
  type SignatureCheck,
  type SignedFields,
} from './signing/branch-signature';

// The barrier, its adapters, its table and the participant's local transaction.
export { PreparedRowTakenError, type BarrierDecision, type ParticipantPhase, type PreparedOutcome } from './barrier/branch.barrier';
export type { BarrierAdapter, BarrierDatabase, BarrierRead, BarrierSql, ProviderLookup } from './barrier/barrier.adapter';
export { typeormBarrier, type TypeormBarrierOptions } from './barrier/adapters/typeorm.adapter';
export { drizzleBarrier, type DrizzleBarrierOptions, type DrizzleDatabaseLike } from './barrier/adapters/drizzle.adapter';
export { kyselyBarrier, type KyselyBarrierOptions, type KyselyDatabaseLike, type KyselyLike } from './barrier/adapters/kysely.adapter';
export { pgBarrier, type PgBarrierOptions, type PgPoolClientLike, type PgPoolLike } from './barrier/adapters/pg.adapter';
export {
  mysql2Barrier,
  type Mysql2BarrierOptions,
  type Mysql2CallbackPoolLike,
  type Mysql2PoolConnectionLike,
  type Mysql2PoolLike,
} from './barrier/adapters/mysql2.adapter';
export { BarrierTableMissingError } from './barrier/barrier-table.check';
export { BarrierCleanupService } from './barrier/barrier-cleanup.service';
export type { BarrierCleanupSettings } from './barrier/barrier-cleanup.job';
export { BARRIER_TABLE } from './barrier/barrier.table';
export { CreateTccBarrier1763900000000, TCC_BARRIER_MIGRATIONS } from './barrier/migrations/1763900000000-create-tcc-barrier';
export { BARRIER_DROP_SQL, barrierMigrationSql } from './barrier/barrier-table.sql';
export { runInLocalTransaction, runLocalRead, runLocalTransaction, runRead } from './sql/local-transaction.runner';
export { execute, select } from './sql/sql.result';
export { dialectOf, SQL_DIALECTS, SUPPORTED_DATABASE_TYPES, UnsupportedDatabaseError, type DatabaseDialect, type SqlDialect } from './sql/sql.dialect';
