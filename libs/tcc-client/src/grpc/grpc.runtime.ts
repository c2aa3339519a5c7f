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

/** Memoises a lazy require, turning a missing package into the error above. The require stays literal so bundlers see it. */
function lazy<T>(name: string, load: () => T): () => T {
  let loaded: T | undefined;
  return () => {
    if (loaded === undefined) {
      try {
        loaded = load();
      } catch (error) {
        throw missing(name, error);
      }
    }
    return loaded;
  };
}

export const grpcJs = lazy('@grpc/grpc-js', () => require('@grpc/grpc-js') as typeof GrpcJs);
export const protoLoader = lazy('@grpc/proto-loader', () => require('@grpc/proto-loader') as typeof ProtoLoader);
