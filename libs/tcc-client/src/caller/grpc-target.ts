/** gRPC targets as the contract writes them: `host:port/package.Service/Method`. */

const TARGET = /^([^/\s]+:\d{1,5})\/([A-Za-z_][A-Za-z0-9_.]*)\/([A-Za-z_][A-Za-z0-9_]*)$/;

/** Splits a target into the channel address and the method path; undefined when malformed. */
export function splitGrpcTarget(target: string): { address: string; path: string } | undefined {
  const match = TARGET.exec(target);
  return match ? { address: match[1], path: `/${match[2]}/${match[3]}` } : undefined;
}
