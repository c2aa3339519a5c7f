/**
 * One gRPC channel per `host:port` and reply limit, opened at first use and kept for every later
 * call (the coordinator client and the initiator's try calls share them); closed when the
 * application stops. Participant calls ask for MAX_ANSWER_BYTES, so a huge reply ends as
 * RESOURCE_EXHAUSTED before it is buffered; the coordinator's own replies (a transaction's view
 * with up to TCC_MAX_BRANCHES branches and their errors) may be larger and keep the default.
 */
import { Inject, Injectable, OnApplicationShutdown, Optional } from '@nestjs/common';
import { TCC_CLIENT_TLS, tlsBuffers, type TlsClientOptions } from '../tls/tls.options';
import type { Client, Metadata, ServiceError } from '@grpc/grpc-js';
import { grpcJs } from './grpc.runtime';

/**
 * What unary() needs of a @grpc/proto-loader MethodDefinition. The public signatures of this class
 * name no type of @grpc/grpc-js or @grpc/proto-loader, so the shipped .d.ts type-check in an
 * application that does not install those optional peers (it reaches this file via TccInitiator).
 */
export interface UnaryMethod<Req, Res> {
  path: string;
  requestSerialize: (value: Req) => Buffer;
  responseDeserialize: (bytes: Buffer) => Res;
}

const CHANNEL_OPTIONS = {
  // Pings keep an idle channel's connection known-good, so the next call does not find it dead.
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
};

/** The reply limit of a channel nobody asked a smaller one for (the coordinator's API). */
export const DEFAULT_MAX_REPLY_BYTES = 16 * 1024 * 1024;

@Injectable()
export class GrpcChannels implements OnApplicationShutdown {
  private readonly clients = new Map<string, Client>();

  /** With TLS options every channel uses TLS (that CA, that client certificate); without, plaintext. */
  constructor(@Optional() @Inject(TCC_CLIENT_TLS) private readonly tls?: TlsClientOptions) {}

  private get(address: string, maxReplyBytes: number): Client {
    const key = `${maxReplyBytes} ${address}`;
    let client = this.clients.get(key);
    if (!client) {
      const { Client, credentials } = grpcJs();
      const pem = this.tls && tlsBuffers(this.tls);
      const channelCredentials = pem ? credentials.createSsl(pem.ca ?? null, pem.key ?? null, pem.cert ?? null) : credentials.createInsecure();
      client = new Client(address, channelCredentials, { ...CHANNEL_OPTIONS, 'grpc.max_receive_message_length': maxReplyBytes });
      this.clients.set(key, client);
    }
    return client;
  }

  /**
   * One unary call of `method` (at `path`, default the method's own) on the channel to `address`,
   * bounded by `timeoutMs`; rejects with the ServiceError (its `metadata` holds the trailers).
   * A reply over `maxReplyBytes` is refused unread (RESOURCE_EXHAUSTED).
   */
  unary<Req, Res>(
    address: string,
    method: UnaryMethod<Req, Res>,
    request: Req,
    /** A @grpc/grpc-js Metadata (typed loosely for the reason above). */
    metadata: object,
    timeoutMs: number,
    path: string = method.path,
    maxReplyBytes: number = DEFAULT_MAX_REPLY_BYTES,
  ): Promise<Res> {
    const client = this.get(address, maxReplyBytes);
    return new Promise<Res>((resolve, reject) => {
      client.makeUnaryRequest(
        path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        metadata as Metadata,
        { deadline: Date.now() + timeoutMs },
        (error: ServiceError | null, reply?: Res) => (error ? reject(error) : resolve(reply as Res)),
      );
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  onApplicationShutdown(): void {
    this.close();
  }
}
