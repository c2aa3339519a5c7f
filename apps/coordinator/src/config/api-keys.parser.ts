/**
 * The named API keys of the v1 API (TCC_API_KEYS): `name=secret,name=secret,...`. A name may
 * carry several secrets, so a key rotates by adding the new one, moving the clients, then removing
 * the old. Only SHA-256 digests of the secrets are kept; a presented secret is hashed and compared
 * with every digest in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface ApiKey {
  /** The client's name: the owner recorded on every transaction it begins. */
  name: string;
  digest: Buffer;
}

/** A client's name, from a key or a certificate: what a transaction's `client` column holds. */
export const CLIENT_NAME = /^[A-Za-z0-9_.:@-]{1,64}$/;
const SECRET = /^[\x21-\x2b\x2d-\x7e]{16,256}$/;

const digest = (secret: string): Buffer => createHash('sha256').update(secret).digest();

/** Parses TCC_API_KEYS; throws naming the setting (never the secrets) when an entry is malformed. */
export function parseApiKeys(value: string | undefined): ApiKey[] {
  const keys: ApiKey[] = [];
  const seen = new Set<string>();
  const entries = (value ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  entries.forEach((entry, index) => {
    const eq = entry.indexOf('=');
    const name = eq > 0 ? entry.slice(0, eq).trim() : '';
    const secret = eq > 0 ? entry.slice(eq + 1).trim() : '';
    if (!CLIENT_NAME.test(name)) {
      throw new Error(`TCC_API_KEYS: entry ${index + 1} must be name=secret with a name of 1-64 characters of A-Z a-z 0-9 _ . : @ -`);
    }
    if (!SECRET.test(secret)) {
      throw new Error(`TCC_API_KEYS: the secret of "${name}" (entry ${index + 1}) must be 16-256 printable characters without spaces or commas`);
    }
    const d = digest(secret);
    const hex = d.toString('hex');
    if (seen.has(hex)) throw new Error(`TCC_API_KEYS: the secret of "${name}" (entry ${index + 1}) is already given to a client`);
    seen.add(hex);
    keys.push({ name, digest: d });
  });
  return keys;
}

/** The name whose key `secret` is, or undefined. Every key is compared, so the time says nothing of which matched. */
export function clientOfSecret(keys: readonly ApiKey[], secret: string): string | undefined {
  const presented = digest(secret);
  let found: string | undefined;
  for (const key of keys) {
    if (timingSafeEqual(presented, key.digest) && found === undefined) found = key.name;
  }
  return found;
}
