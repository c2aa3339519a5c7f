/**
 * The @grpc/proto-loader options every side uses for the tcc .proto files (the library, the
 * coordinator's gRPC server and its participant calls). Absent fields stay undefined, as in JSON.
 */
// Typed here rather than as proto-loader's `Options`, so these declarations need no gRPC package.
export const PROTO_LOADER_OPTIONS: { keepCase: boolean; longs: NumberConstructor; enums: StringConstructor; defaults: boolean; oneofs: boolean } = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
};
