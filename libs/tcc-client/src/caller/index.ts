/** How the coordinator calls participants: the same code the initiator uses for its tries. */
export * from './participant.caller';
export * from './grpc-target';
export { parseSigningKeys, payloadText, signBranchCall, SIGNATURE_HEADERS } from '../signing/branch-signature';
export { TCC_CLIENT_TLS, checkCa, checkCertificateAndKey, type TlsClientOptions, type TlsServerOptions } from '../tls/tls.options';
export { GrpcChannels } from '../grpc/grpc.channels';
export { PROTO_LOADER_OPTIONS } from '../grpc/proto-loader.options';
export { formatTraceparent, inSpan, parseTraceparent, startSpan, withSpan, type TccSpan, type TccSpanAttributes, type TccSpanOptions } from '../tracing/tcc.tracing';
export { TCC_ATTRIBUTES, grpcTargetAttributes, httpTargetAttributes, modeOfPhase } from '../tracing/span-attributes';
