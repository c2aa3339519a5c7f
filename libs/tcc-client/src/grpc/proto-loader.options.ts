/**
 * The @grpc/proto-loader options every side uses for the tcc .proto files: the same as the
 * coordinator's (apps/coordinator/src/grpc/grpc-options.ts), repeated here because a library must
 * not import from an app. Absent fields stay undefined, as in JSON.
 */
import type { Options } from '@grpc/proto-loader';

export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
};
