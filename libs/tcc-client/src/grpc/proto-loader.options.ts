/**
 * The @grpc/proto-loader options every side uses for the tcc .proto files (the library, the
 * coordinator's gRPC server and its participant calls). Absent fields stay undefined, as in JSON.
 */
import type { Options } from '@grpc/proto-loader';

export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
};
