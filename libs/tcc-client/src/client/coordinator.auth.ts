/**
 * How a client proves who it is to the coordinator's v1 API: the same value as an HTTP header and
 * as gRPC metadata (metadata keys are lower case, so one name serves both).
 */
export const AUTHORIZATION = 'authorization';

/** The `authorization` value of an API key. */
export function bearer(apiKey: string): string {
  return `Bearer ${apiKey}`;
}
