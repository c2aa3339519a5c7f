export * from './status';
export * from './limits';
export * from './coordinator-api';
export * from './participant';
export * from './proto-files';
export type * from './grpc-messages';
