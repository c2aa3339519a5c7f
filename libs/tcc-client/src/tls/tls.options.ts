/**
 * TLS for every hop this library opens or serves: the coordinator client (HTTPS URL or gRPC),
 * the calls to participants (HTTPS URLs, gRPC targets), and the participant gRPC server. PEM
 * contents, not paths: an application reads its files and hands them over.
 */
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';

/** What a client trusts and, for mutual TLS, presents. */
export interface TlsClientOptions {
  /** CA certificate(s) to trust instead of the system's. */
  ca?: string | Buffer;
  /** Client certificate and its key, for servers that require one. */
  cert?: string | Buffer;
  key?: string | Buffer;
}

/** What a server presents and, optionally, requires of its clients. */
export interface TlsServerOptions {
  cert: string | Buffer;
  key: string | Buffer;
  /** When given, clients must present a certificate signed by this CA. */
  clientCa?: string | Buffer;
}

/** Injection token of the TlsClientOptions for outgoing calls (absent: plaintext gRPC, system CAs for HTTPS). */
export const TCC_CLIENT_TLS = Symbol('TCC_CLIENT_TLS');

/** Checks that a certificate and its key belong together (and parse), naming the setting otherwise. */
export function checkCertificateAndKey(setting: string, cert: string | Buffer | undefined, key: string | Buffer | undefined): void {
  if (!cert && !key) return;
  if (!cert || !key) throw new Error(`${setting}: a certificate needs its key and a key its certificate`);
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new Error(`${setting}: the key does not match the certificate, or one of them is not PEM (${(error as Error).message})`);
  }
}

/** Checks that CA certificates parse, naming the setting otherwise. */
export function checkCa(setting: string, ca: string | Buffer | undefined): void {
  if (!ca) return;
  try {
    // A secure context quietly ignores PEM that is not a certificate: parse it as one.
    new X509Certificate(ca);
    createSecureContext({ ca });
  } catch (error) {
    throw new Error(`${setting}: not a PEM CA certificate (${(error as Error).message})`);
  }
}

const pem = (value: string | Buffer | undefined): Buffer | undefined => (value === undefined ? undefined : Buffer.from(value));

/** The same options as Buffers, which grpc-js takes. */
export function tlsBuffers(options: TlsClientOptions): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  return { ca: pem(options.ca), cert: pem(options.cert), key: pem(options.key) };
}
