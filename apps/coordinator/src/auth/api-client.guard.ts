/**
 * Who is calling the v1 API (docs/contract.md §3.1), for HTTP and gRPC alike. A caller is a client by
 * one of:
 * - an API key: `Authorization: Bearer <secret>` (gRPC metadata `authorization`) matching a secret
 *   of TCC_API_KEYS: the client is that key's name;
 * - a client certificate the TLS handshake verified (TCC_HTTP_TLS_CLIENT_CA or
 *   TCC_GRPC_TLS_CLIENT_CA): the client is the certificate's common name;
 * - protected mode: with neither keys nor client certificates configured for that listener, a
 *   loopback caller is the client `anonymous`, and anyone else is refused;
 * - TCC_API_AUTH=off: everyone is `anonymous`.
 * A presented key that matches nothing is refused even where the caller could have gone without.
 * The client's name is kept beside the request for the handlers (clientOf).
 */
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';
import { MetricsService } from '../metrics/metrics.service';
import { TccError, TccErrorCode } from '../domain/transaction.errors';
import { CLIENT_NAME, clientOfSecret } from '../config/api-keys.parser';

/** The client of a caller that needs no credentials (protected mode, or TCC_API_AUTH=off). */
export const ANONYMOUS = 'anonymous';

const clients = new WeakMap<object, string>();

/** The authenticated client of an HTTP request or a gRPC call the guard let through. */
export function clientOf(request: object): string {
  const client = clients.get(request);
  if (client === undefined) throw new Error('no authenticated client: is ApiClientGuard on this route?');
  return client;
}

/** What a caller presents, read from either transport. */
interface Presented {
  transport: 'http' | 'grpc';
  authorization: string | undefined;
  remoteAddress: string | undefined;
  /** A certificate the TLS handshake verified against the client CA, if any. */
  certificate: PeerCertificate | undefined;
}

/** Keys are configured, or this listener requires client certificates. */
function needsCredentials(config: CoordinatorConfig, transport: 'http' | 'grpc'): boolean {
  return config.auth.keys.length > 0 || !!config[transport].tls?.clientCa;
}

/** What the coordinator says once at start about who may call it: a warning, or nothing when every caller must authenticate. */
export function apiAuthWarning(config: CoordinatorConfig): string | undefined {
  if (config.auth.off) {
    return 'TCC_API_AUTH=off: the v1 API asks no caller who it is; anyone who can reach this coordinator can begin, commit and roll back any transaction';
  }
  const open = [!needsCredentials(config, 'http') && 'HTTP', !needsCredentials(config, 'grpc') && 'gRPC'].filter(Boolean);
  if (open.length === 0) return undefined;
  const certs = config.http.tls?.clientCa || config.grpc.tls?.clientCa;
  return (
    `protected mode: no TCC_API_KEYS${certs ? '' : ' and no client certificates'}, so the ${open.join(' and ')} v1 API answers loopback callers only; ` +
    'set TCC_API_KEYS (or require client certificates) to serve other hosts, or TCC_API_AUTH=off to serve everyone'
  );
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

const unauthenticated = (message: string): TccError => new TccError(TccErrorCode.UNAUTHENTICATED, message);

@Injectable()
export class ApiClientGuard implements CanActivate {
  constructor(
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    private readonly metrics: MetricsService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const type = context.getType();
    if (type === 'rpc') {
      const metadata = context.switchToRpc().getContext<Metadata>();
      const call = context.getArgByIndex<ServerUnaryCall<unknown, unknown>>(2);
      const value = metadata?.get('authorization')[0];
      const auth = call?.getAuthContext?.();
      const client = this.authenticate({
        transport: 'grpc',
        authorization: typeof value === 'string' ? value : undefined,
        remoteAddress: call?.getPeer().replace(/:\d+$/, ''),
        certificate: auth?.transportSecurityType === 'ssl' ? auth.sslPeerCertificate : undefined,
      });
      clients.set(call, client);
      return true;
    }
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const socket = request.raw.socket as TLSSocket;
    const certificate = socket.authorized && typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
    const client = this.authenticate({
      transport: 'http',
      authorization: request.headers.authorization,
      remoteAddress: socket.remoteAddress,
      certificate: certificate?.raw ? certificate : undefined,
    });
    clients.set(request, client);
    return true;
  }

  private needsCredentials(transport: 'http' | 'grpc'): boolean {
    return needsCredentials(this.config, transport);
  }

  private authenticate(p: Presented): string {
    if (p.authorization !== undefined) {
      const match = /^Bearer +(\S+)$/i.exec(p.authorization.trim());
      const name = match ? clientOfSecret(this.config.auth.keys, match[1]) : undefined;
      if (name) return name;
      if (!this.config.auth.off) return this.refuse(p, 'wrong-key', 'the API key is not one of TCC_API_KEYS');
    }
    if (this.config.auth.off) return ANONYMOUS;
    if (p.certificate) {
      const name = p.certificate.subject?.CN;
      if (typeof name === 'string' && CLIENT_NAME.test(name)) return name;
      return this.refuse(p, 'bad-certificate', 'the client certificate has no common name usable as a client name (1-64 of A-Z a-z 0-9 _ . : @ -)');
    }
    if (this.needsCredentials(p.transport)) {
      return this.refuse(p, 'missing', 'send Authorization: Bearer <API key>' + (this.config[p.transport].tls?.clientCa ? ' or a client certificate' : ''));
    }
    if (isLoopback(p.remoteAddress)) return ANONYMOUS;
    return this.refuse(p, 'not-loopback', 'this coordinator answers loopback callers only until TCC_API_KEYS is set');
  }

  private refuse(p: Presented, reason: string, message: string): never {
    this.metrics.authRefusals.inc({ transport: p.transport, reason });
    throw unauthenticated(message);
  }
}
