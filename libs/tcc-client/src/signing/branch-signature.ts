/**
 * Signed participant calls (docs/contract.md §5): the coordinator signs every confirm and cancel, the
 * initiator every try, with HMAC-SHA256 over the phase, gid, branchId, a timestamp and the payload
 * bytes; the participant refuses a missing, wrong or stale signature before anything runs.
 *
 * Wire form (HTTP headers, or gRPC metadata of the same names):
 *   x-tcc-timestamp: milliseconds since the epoch, when the call was signed
 *   x-tcc-signature: v1=<lower-case hex of HMAC-SHA256(key, message)>
 *   message = "v1\n" + phase + "\n" + gid + "\n" + branchId + "\n" + timestamp + "\n" + payload
 * where payload is the JSON text of the call's payload (`null` when there is none), as
 * JSON.stringify writes it: the bytes of the `payload` field over gRPC, and what the body's
 * `payload` parses back to over HTTP. Keys are lists so they rotate without downtime: sign with the
 * first, accept any.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { BranchPhase, JsonValue } from '../protocol';

export const SIGNATURE_HEADERS = { signature: 'x-tcc-signature', timestamp: 'x-tcc-timestamp' } as const;
/** How old a signature's timestamp may be by the participant's clock, by default. */
export const DEFAULT_SIGNATURE_WINDOW_MS = 5 * 60 * 1000;
/**
 * How far a signature's timestamp may be ahead of the participant's clock, by default: clocks of
 * hosts kept by NTP differ by far less, and a call signed further ahead could otherwise be replayed
 * for that much longer than the window.
 */
export const DEFAULT_SIGNATURE_CLOCK_SKEW_MS = 30 * 1000;

export interface SignedFields {
  phase: BranchPhase;
  gid: string;
  branchId: string;
  /** The payload as JSON text (JSON.stringify of the value, `null` when absent). */
  payloadText: string;
}

/** The JSON text a payload is signed as. */
export function payloadText(payload: JsonValue | null | undefined): string {
  return JSON.stringify(payload ?? null);
}

function mac(key: string, fields: SignedFields, timestamp: string): Buffer {
  return createHmac('sha256', key)
    .update(`v1\n${fields.phase}\n${fields.gid}\n${fields.branchId}\n${timestamp}\n`)
    .update(fields.payloadText)
    .digest();
}

/** The two headers of a call signed with `key` at `now`. */
export function signBranchCall(key: string, fields: SignedFields, now = Date.now()): Record<string, string> {
  const timestamp = String(now);
  return { [SIGNATURE_HEADERS.timestamp]: timestamp, [SIGNATURE_HEADERS.signature]: `v1=${mac(key, fields, timestamp).toString('hex')}` };
}

/** `stale`: signed longer than the window ago; `future`: signed further ahead than the clock skew allows. */
export type SignatureCheck = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'future' | 'mismatch' };

/**
 * Checks a call's signature against every key. Its timestamp may be up to `windowMs` behind `now`
 * and up to `clockSkewMs` ahead of it (the signer's clock running fast), not the whole window both
 * ways.
 */
export function verifyBranchCall(
  keys: readonly string[],
  fields: SignedFields,
  signature: string | undefined,
  timestamp: string | undefined,
  windowMs: number,
  now = Date.now(),
  clockSkewMs = DEFAULT_SIGNATURE_CLOCK_SKEW_MS,
): SignatureCheck {
  if (!signature || !timestamp) return { ok: false, reason: 'missing' };
  const match = /^v1=([0-9a-f]{64})$/.exec(signature);
  if (!match || !/^\d{1,16}$/.test(timestamp)) return { ok: false, reason: 'malformed' };
  const age = now - Number(timestamp);
  if (age > windowMs) return { ok: false, reason: 'stale' };
  if (-age > clockSkewMs) return { ok: false, reason: 'future' };
  const given = Buffer.from(match[1], 'hex');
  for (const key of keys) {
    if (timingSafeEqual(mac(key, fields, timestamp), given)) return { ok: true };
  }
  return { ok: false, reason: 'mismatch' };
}

/** Reads a key list setting: comma-separated, blanks dropped; every key at least 16 characters. */
export function parseSigningKeys(value: string | undefined, setting: string): string[] {
  const keys = (value ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  for (const key of keys) {
    if (key.length < 16) throw new Error(`${setting}: every signing key must be at least 16 characters (one is ${key.length})`);
  }
  return keys;
}
