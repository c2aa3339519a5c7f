/** Certificates for tests that need TLS, made on the spot with openssl (never committed): a CA, a server certificate for 127.0.0.1 / localhost, a client certificate, and an unrelated key. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  ca: Buffer;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  otherKey: Buffer;
  path(name: string): string;
}

/** A CA, a server certificate for 127.0.0.1 / localhost and a client certificate, all signed by it. */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'tcc-tls-'));
  const path = (name: string): string => join(dir, name);
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=tcc-test-ca');
  writeFileSync(path('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const [name, ext] of [['server', 'server.ext'], ['client', undefined]] as const) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=tcc-test-${name}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', ...(ext ? ['-extfile', ext] : []));
  }
  ssl('genrsa', '-out', 'other.key', '2048');
  const file = (name: string): Buffer => readFileSync(path(name));
  return {
    dir,
    path,
    ca: file('ca.crt'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
    otherKey: file('other.key'),
  };
}

/** The coordinator's TLS settings for `pki`: its gRPC API with client certificates required, and its calls to participants trusting the CA and presenting the client certificate. */
export function coordinatorTlsEnv(pki: Pki): Record<string, string> {
  return {
    TCC_GRPC_TLS_CERT: pki.path('server.crt'),
    TCC_GRPC_TLS_KEY: pki.path('server.key'),
    TCC_GRPC_TLS_CLIENT_CA: pki.path('ca.crt'),
    TCC_PARTICIPANT_TLS_CA: pki.path('ca.crt'),
    TCC_PARTICIPANT_TLS_CERT: pki.path('client.crt'),
    TCC_PARTICIPANT_TLS_KEY: pki.path('client.key'),
  };
}
