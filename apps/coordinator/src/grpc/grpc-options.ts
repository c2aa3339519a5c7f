/** One set of @grpc/proto-loader options for every side that loads the tcc .proto files. */
import type { Options } from '@grpc/proto-loader';

export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  // Absent fields stay undefined, so "not given" and "empty" are told apart the same way as in JSON.
  defaults: false,
  oneofs: true,
};
