/**
 * Which confirm/cancel targets the coordinator may call (TCC_ALLOWED_TARGETS): comma-separated
 * `host:port` patterns where `*` matches any run of characters; `*` alone allows everything.
 * The coordinator never calls an address nobody allowed.
 */
import type { Protocol } from '@tcc/client/protocol';

export interface ParsedTarget {
  protocol: Protocol;
  /** `host:port`, lower-cased, with the scheme's default port filled in. */
  hostPort: string;
}

const GRPC_TARGET = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})\/([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\/([A-Za-z_][A-Za-z0-9_]*)$/;

/** Parses a confirm/cancel target; returns an error sentence when it is malformed. */
export function parseTarget(protocol: Protocol, target: string): ParsedTarget | string {
  if (protocol === 'http') {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return 'must be an absolute http:// or https:// URL';
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an absolute http:// or https:// URL';
    if (!url.hostname) return 'must name a host';
    if (url.username || url.password) return 'must not carry credentials';
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    return { protocol, hostPort: `${url.hostname.toLowerCase()}:${port}` };
  }
  const m = GRPC_TARGET.exec(target);
  if (!m) return 'must look like host:port/package.Service/Method';
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return 'has a port outside 1-65535';
  return { protocol, hostPort: `${m[1].toLowerCase()}:${port}` };
}

export class TargetPolicy {
  private readonly allowAll: boolean;
  private readonly patterns: RegExp[];

  constructor(readonly spec: string) {
    const items = spec.split(',').map((s) => s.trim()).filter(Boolean);
    if (items.length === 0) throw new Error('TCC_ALLOWED_TARGETS must list at least one host:port pattern, or * for every target');
    this.allowAll = items.includes('*');
    this.patterns = [];
    for (const item of items) {
      if (item === '*') continue;
      if (!/^.+:[^:\]]+$/.test(item) || /\s/.test(item)) {
        throw new Error(`TCC_ALLOWED_TARGETS entry "${item}" is not a host:port pattern (e.g. 127.0.0.1:*, *.svc.cluster.local:8080)`);
      }
      const source = item
        .toLowerCase()
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*');
      this.patterns.push(new RegExp(`^${source}$`));
    }
  }

  allows(hostPort: string): boolean {
    return this.allowAll || this.patterns.some((p) => p.test(hostPort));
  }
}
