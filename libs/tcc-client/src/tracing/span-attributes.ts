/** Attribute names and values shared by the spans (docs/contract.md §12). */
import type { BranchPhase } from '../protocol';

export const TCC_ATTRIBUTES = {
  gid: 'tcc.gid',
  branchId: 'tcc.branch_id',
  phase: 'tcc.phase',
  mode: 'tcc.mode',
  barrierOutcome: 'tcc.barrier.outcome',
} as const;

/** The transaction mode a phase belongs to: tcc, saga or message. */
export function modeOfPhase(phase: BranchPhase): 'tcc' | 'saga' | 'message' {
  if (phase === 'action' || phase === 'compensate') return 'saga';
  if (phase === 'message' || phase === 'query') return 'message';
  return 'tcc';
}

/** url.full, server.address and server.port of an http(s) URL (no query string or credentials kept). */
export function httpTargetAttributes(target: string): Record<string, string | number> {
  try {
    const url = new URL(target);
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    return { 'url.full': `${url.origin}${url.pathname}`, 'server.address': url.hostname, 'server.port': port };
  } catch {
    return {};
  }
}

/** rpc.* and server.* of a gRPC call to `address` (host:port) on `path` (/package.Service/Method). */
export function grpcTargetAttributes(address: string, path: string): Record<string, string | number> {
  const [, service = '', method = ''] = /^\/?([^/]+)\/([^/]+)$/.exec(path) ?? [];
  const colon = address.lastIndexOf(':');
  const host = colon > 0 ? address.slice(0, colon).replace(/^\[|\]$/g, '') : address;
  const port = colon > 0 ? Number(address.slice(colon + 1)) : NaN;
  return {
    'rpc.system': 'grpc',
    ...(service ? { 'rpc.service': service, 'rpc.method': method } : {}),
    'server.address': host,
    ...(Number.isInteger(port) ? { 'server.port': port } : {}),
  };
}

/** The client span of each traced call to the coordinator, by the clients' operation names. */
export const COORDINATOR_CALL_SPANS: Readonly<Record<string, string>> = {
  begin: 'tcc.client.begin',
  register: 'tcc.client.register',
  commit: 'tcc.client.commit',
  rollback: 'tcc.client.rollback',
  'start saga': 'tcc.client.saga.start',
  'prepare message': 'tcc.client.message.prepare',
  'submit message': 'tcc.client.message.submit',
  'abort message': 'tcc.client.message.abort',
};

/** tcc.gid of a coordinator answer that names one. */
export function gidOf(answer: unknown): string | undefined {
  const gid = answer && typeof answer === 'object' ? (answer as { gid?: unknown }).gid : undefined;
  return typeof gid === 'string' ? gid : undefined;
}
