/**
 * @grpc/grpc-js and @grpc/proto-loader are optional peers of this library: only gRPC features need
 * them, so they are loaded at first use, and their absence is a clear error naming what to install.
 */
import type * as GrpcJs from '@grpc/grpc-js';
import type * as ProtoLoader from '@grpc/proto-loader';

const INSTALL = 'npm install @grpc/grpc-js @grpc/proto-loader';

function missing(name: string, error: unknown): Error {
  const code = (error as { code?: string } | null)?.code;
  if (code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes(name)) {
    return new Error(`tcc: gRPC needs the package "${name}", which is not installed (${INSTALL})`);
  }
  return error as Error;
}

let grpc: typeof GrpcJs | undefined;
let loader: typeof ProtoLoader | undefined;

export function grpcJs(): typeof GrpcJs {
  if (!grpc) {
    try {
      grpc = require('@grpc/grpc-js') as typeof GrpcJs;
    } catch (error) {
      throw missing('@grpc/grpc-js', error);
    }
  }
  return grpc;
}

export function protoLoader(): typeof ProtoLoader {
  if (!loader) {
    try {
      loader = require('@grpc/proto-loader') as typeof ProtoLoader;
    } catch (error) {
      throw missing('@grpc/proto-loader', error);
    }
  }
  return loader;
}
