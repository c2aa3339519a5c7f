/**
 * This service's own base URL, as the coordinator should call it back: the configured `selfUrl`, or
 * else the address the HTTP server actually listens on (so port 0 works), asked lazily at first use.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { ResolvedTccOptions, TCC_OPTIONS } from '../tcc.options';

@Injectable()
export class SelfUrl {
  private resolved: string | undefined;

  constructor(
    @Inject(TCC_OPTIONS) private readonly options: ResolvedTccOptions,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    this.resolved = options.selfUrl;
  }

  get(): string {
    if (this.resolved) return this.resolved;
    const server: unknown = this.adapterHost.httpAdapter?.getHttpServer();
    const address = (server as { address?: () => AddressInfo | string | null } | undefined)?.address?.();
    if (!address || typeof address === 'string') {
      throw new Error('tcc: this service is not listening yet and no selfUrl is configured');
    }
    const host =
      address.address === '::' || address.address === '0.0.0.0'
        ? '127.0.0.1'
        : address.family === 'IPv6'
          ? `[${address.address}]`
          : address.address;
    this.resolved = `http://${host}:${address.port}`;
    if (host === '127.0.0.1' && !/^https?:\/\/(127\.|localhost[:/]|\[::1\])/.test(this.options.coordinatorUrl + '/')) {
      // A coordinator on another host cannot call 127.0.0.1 back: the selfUrl must be configured.
      new Logger('TccInitiator').warn(
        `participant endpoints are registered at ${this.resolved}, which the coordinator at ${this.options.coordinatorUrl} ` +
          'probably cannot reach: configure selfUrl (ORDER_PUBLIC_URL in the example order service)',
      );
    }
    return this.resolved;
  }

  /** Endpoint of one phase of a participant hosted at `service` (default: here). */
  endpoint(participant: string, phase: string, service?: string): string {
    const base = (service ?? this.get()).replace(/\/+$/, '');
    const prefix = this.options.participantPath ? `/${this.options.participantPath}` : '';
    return `${base}${prefix}/${encodeURIComponent(participant)}/${phase}`;
  }
}
