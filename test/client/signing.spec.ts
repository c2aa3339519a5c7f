/**
 * Signed participant calls against the account service on MariaDB, over HTTP and gRPC: a forged,
 * an unsigned, a tampered-payload, a stale (replayed later), a future (signed ahead) and a wrong-key
 * confirm and cancel are each refused (401 / UNAUTHENTICATED) and change nothing: balances and barrier rows as before.
 * The real transaction afterwards commits through the coordinator, which signs its confirms;
 * keys rotate (a participant holding the new and the old key accepts either); bad keys stop
 * start-up naming the variable.
 */
import { Client, credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import {
  BARRIER_TABLE,
  DEFAULT_SIGNATURE_CLOCK_SKEW_MS,
  DEFAULT_SIGNATURE_WINDOW_MS,
  payloadText,
  SIGNATURE_HEADERS,
  signBranchCall,
  TCC_HEADERS,
  verifyBranchCall,
  type BranchPhase,
  type JsonValue,
} from '@tcc/client';
import { Logger } from '@nestjs/common';
import { resolveTccOptions } from '@tcc/client/tcc.options';
import { SignatureVerifier } from '@tcc/client/signing/signature.verifier';
import type { ParticipantRegistry } from '@tcc/client/participant/participant.registry';
import { participantMethods } from '@tcc/client/grpc/grpc.messages';
import { createCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap';
import { loadCoordinatorConfig } from '../../apps/coordinator/src/config/coordinator.config';
import { loadAccountConfig } from '../../apps/account-service/src/config/account.config';
import type { RunningAccountService } from '../../apps/account-service/src/bootstrap';
import { createDatabase, randomId, type TestDatabase } from './support/databases';
import { Http } from './support/http';
import { startAccountService } from './support/services';
import { FAST_COORDINATOR } from './support/stack';
import { bearer } from '../support/api-keys';

const NEW_KEY = 'new-key-0123456789abcdef';
const OLD_KEY = 'old-key-0123456789abcdef';
const STRANGER_KEY = 'not-our-key-0123456789ab';

interface Attempt {
  name: string;
  /** Headers the attacker sends for a call of `phase` on `gid` with `payload`. */
  headers(phase: BranchPhase, gid: string, payload: JsonValue | null): Record<string, string>;
  /** The payload actually sent (differs from the signed one when tampered). */
  sent?: (payload: JsonValue | null) => JsonValue | null;
}

const sign = (key: string, phase: BranchPhase, gid: string, payload: JsonValue | null, now = Date.now()): Record<string, string> =>
  signBranchCall(key, { phase, gid, branchId: 'freeze', payloadText: payloadText(payload) }, now);

const ATTEMPTS: Attempt[] = [
  { name: 'forged', headers: () => ({ [SIGNATURE_HEADERS.signature]: `v1=${'ab'.repeat(32)}`, [SIGNATURE_HEADERS.timestamp]: String(Date.now()) }) },
  { name: 'unsigned', headers: () => ({}) },
  {
    name: 'tampered payload',
    headers: (phase, gid) => sign(NEW_KEY, phase, gid, { accountId: 'x', amount: 1 }),
    sent: () => ({ accountId: 'x', amount: 999 }),
  },
  { name: 'stale (replayed ten minutes later)', headers: (phase, gid, payload) => sign(NEW_KEY, phase, gid, payload, Date.now() - 10 * 60 * 1000) },
  { name: 'future (signed four minutes ahead)', headers: (phase, gid, payload) => sign(NEW_KEY, phase, gid, payload, Date.now() + 4 * 60 * 1000) },
  { name: 'wrong key', headers: (phase, gid, payload) => sign(STRANGER_KEY, phase, gid, payload) },
];

describe('signed participant calls (account service on MariaDB)', () => {
  let db: TestDatabase;
  let coordinator: RunningCoordinator;
  let oldCoordinator: RunningCoordinator;
  let service: RunningAccountService;
  let grpc: Client;
  const http = new Http();

  beforeAll(async () => {
    db = await createDatabase('signing');
    // The participant accepts both keys; one coordinator signs with the new key, one with the old.
    service = await startAccountService({ ACCOUNT_DB_URL: db.url, ACCOUNT_MIGRATE_ON_START: 'true', TCC_SIGNING_KEYS: `${NEW_KEY},${OLD_KEY}` });
    coordinator = await createCoordinator({ ...FAST_COORDINATOR, TCC_SQLITE_PATH: ':memory:', TCC_SIGNING_KEYS: `${NEW_KEY},${OLD_KEY}` });
    oldCoordinator = await createCoordinator({ ...FAST_COORDINATOR, TCC_SQLITE_PATH: ':memory:', TCC_SIGNING_KEYS: OLD_KEY });
    grpc = new Client(service.grpcAddress, credentials.createInsecure());
  });

  afterAll(async () => {
    grpc?.close();
    await oldCoordinator?.close();
    await coordinator?.close();
    await service?.close();
    await http.close();
    await db?.drop();
  });

  async function open(balance: number): Promise<string> {
    const id = `acct-${randomId(8)}`;
    expect((await http.post(`${service.url}/accounts`, { id, balance })).status).toBe(201);
    return id;
  }
  const account = async (id: string) => (await http.get<{ balance: number; frozen: number }>(`${service.url}/accounts/${id}`)).body;
  const barrierRows = async (gid: string) => db.query(`SELECT phase FROM ${BARRIER_TABLE} WHERE gid = ?`, [gid]);

  function httpCall(phase: BranchPhase, gid: string, payload: JsonValue | null, headers: Record<string, string>) {
    return http.post(
      `${service.url}/tcc/account-freeze/${phase}`,
      { gid, branchId: 'freeze', phase, payload },
      { [TCC_HEADERS.gid]: gid, [TCC_HEADERS.branchId]: 'freeze', [TCC_HEADERS.phase]: phase, ...headers },
    );
  }

  function grpcCall(phase: BranchPhase, gid: string, payload: JsonValue | null, headers: Record<string, string>): Promise<ServiceError | null> {
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
    const method = participantMethods().Confirm;
    const path = `/tcc.v1.participants.AccountFreeze/${phase[0].toUpperCase()}${phase.slice(1)}`;
    const request = { gid, branchId: 'freeze', phase, ...(payload === null ? {} : { payload: JSON.stringify(payload) }) };
    return new Promise((resolve) =>
      grpc.makeUnaryRequest(path, method.requestSerialize, method.responseDeserialize, request, metadata, { deadline: Date.now() + 5000 }, (error) =>
        resolve(error),
      ),
    );
  }

  it.each(ATTEMPTS.map((a) => [a.name, a] as const))('refuses a %s confirm, cancel and try over HTTP and gRPC, writing nothing', async (_name, attempt) => {
    const id = await open(1000);
    const gid = `g-${randomId(12)}`;
    const payload = { accountId: id, amount: 300 };
    // A genuine try first, so a forged confirm would have something to deduct.
    expect((await httpCall('try', gid, payload, sign(NEW_KEY, 'try', gid, payload))).status).toBe(200);
    expect(await account(id)).toMatchObject({ balance: 1000, frozen: 300 });
    const rowsBefore = await barrierRows(gid);
    for (const phase of ['confirm', 'cancel'] as const) {
      const sent = attempt.sent ? attempt.sent(payload) : payload;
      const answer = await httpCall(phase, gid, sent, attempt.headers(phase, gid, payload));
      expect(answer.status).toBe(401);
      expect(answer.body.error).toBe('SIGNATURE_INVALID');
      const error = await grpcCall(phase, gid, sent, attempt.headers(phase, gid, payload));
      expect(error?.code).toBe(GrpcStatus.UNAUTHENTICATED);
    }
    // An unsigned try of another branch of the same kind is refused too, and holds nothing.
    const other = `g-${randomId(12)}`;
    expect((await httpCall('try', other, payload, attempt.headers('try', other, payload))).status).toBe(401);
    expect(await barrierRows(other)).toHaveLength(0);
    expect(await account(id)).toMatchObject({ balance: 1000, frozen: 300 });
    expect(await barrierRows(gid)).toEqual(rowsBefore);
    // The genuine cancel still works afterwards.
    expect((await httpCall('cancel', gid, payload, sign(OLD_KEY, 'cancel', gid, payload))).body.outcome).toBe('applied');
    expect(await account(id)).toMatchObject({ balance: 1000, frozen: 0 });
  });

  it("answers a call signed with a key it does not hold with 401 naming the setting to fix, over HTTP and gRPC, without any part of a key", async () => {
    const id = await open(1000);
    const gid = `g-${randomId(12)}`;
    const payload = { accountId: id, amount: 100 };
    const headers = sign(STRANGER_KEY, 'cancel', gid, payload);
    const answer = await httpCall('cancel', gid, payload, headers);
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('SIGNATURE_INVALID');
    const error = await grpcCall('cancel', gid, payload, headers);
    expect(error?.code).toBe(GrpcStatus.UNAUTHENTICATED);
    expect(error?.metadata.get('tcc-error-code')).toEqual(['SIGNATURE_INVALID']);
    for (const message of [String(answer.body.message), error?.details ?? '']) {
      expect(message).toMatch(/the caller's signing key is not among this service's signing keys/);
      expect(message).toContain('signingKeys');
      expect(message).toContain('TCC_SIGNING_KEYS');
      expect(message).toMatch(/the coordinator and every service must share one/);
      // Neither this service's keys nor the caller's, nor any six characters of one.
      for (const key of [NEW_KEY, OLD_KEY, STRANGER_KEY]) {
        for (let i = 0; i + 6 <= key.length; i++) expect({ key, message, part: message.includes(key.slice(i, i + 6)) }).toEqual({ key, message, part: false });
      }
    }
  });

  it.each([
    ['the new key', () => coordinator],
    ['the old key (rotation: both accepted while both are configured)', () => oldCoordinator],
  ] as const)('commits a real transaction whose confirms the coordinator signs with %s', async (_name, which) => {
    const id = await open(1000);
    const api = which().url;
    const begun = await http.post<{ gid: string }>(`${api}/v1/transactions`, { timeoutMs: 30_000 }, bearer());
    const gid = begun.body.gid;
    const payload = { accountId: id, amount: 250 };
    const urls = { confirm: `${service.url}/tcc/account-freeze/confirm`, cancel: `${service.url}/tcc/account-freeze/cancel` };
    expect((await http.post(`${api}/v1/transactions/${gid}/branches`, { branchId: 'freeze', protocol: 'http', ...urls, payload }, bearer())).status).toBe(201);
    expect((await httpCall('try', gid, payload, sign(NEW_KEY, 'try', gid, payload))).status).toBe(200);
    const committed = await http.post<{ status: string }>(`${api}/v1/transactions/${gid}/commit`, { wait: true }, bearer());
    expect(committed.body.status).toBe('COMMITTED');
    expect(await account(id)).toMatchObject({ balance: 750, frozen: 0 });
  });

  it('refuses bad keys at start, naming the variable', () => {
    expect(() => loadCoordinatorConfig({ TCC_SIGNING_KEYS: 'short' })).toThrow(/TCC_SIGNING_KEYS/);
    expect(() => loadAccountConfig({ TCC_SIGNING_KEYS: `${NEW_KEY},tiny` })).toThrow(/TCC_SIGNING_KEYS/);
    expect(loadCoordinatorConfig({ TCC_SIGNING_KEYS: ` ${NEW_KEY} , ${OLD_KEY} ` }).signingKeys).toEqual([NEW_KEY, OLD_KEY]);
  });
});

describe('signature timestamps', () => {
  const fields = { phase: 'confirm' as const, gid: 'g-1', branchId: 'freeze', payloadText: payloadText({ amount: 1 }) };
  const now = 1_760_000_000_000;
  const MINUTE = 60 * 1000;
  const check = (offsetMs: number, clockSkewMs?: number) => {
    const headers = signBranchCall(NEW_KEY, fields, now + offsetMs);
    const signature = headers[SIGNATURE_HEADERS.signature];
    const timestamp = headers[SIGNATURE_HEADERS.timestamp];
    return verifyBranchCall([NEW_KEY], fields, signature, timestamp, DEFAULT_SIGNATURE_WINDOW_MS, now, clockSkewMs);
  };

  it('accepts the whole window into the past but only the clock skew into the future', () => {
    expect(DEFAULT_SIGNATURE_WINDOW_MS).toBe(5 * MINUTE);
    expect(DEFAULT_SIGNATURE_CLOCK_SKEW_MS).toBe(30_000);
    expect(check(4 * MINUTE)).toEqual({ ok: false, reason: 'future' });
    expect(check(10_000)).toEqual({ ok: true });
    expect(check(-4 * MINUTE)).toEqual({ ok: true });
    expect(check(-6 * MINUTE)).toEqual({ ok: false, reason: 'stale' });
    // The bounds themselves.
    expect(check(30_000)).toEqual({ ok: true });
    expect(check(30_001)).toEqual({ ok: false, reason: 'future' });
    expect(check(-5 * MINUTE)).toEqual({ ok: true });
    expect(check(-5 * MINUTE - 1)).toEqual({ ok: false, reason: 'stale' });
    // A wider skew when asked for.
    expect(check(2 * MINUTE, 3 * MINUTE)).toEqual({ ok: true });
    expect(check(1, 0)).toEqual({ ok: false, reason: 'future' });
  });

  it('takes signatureClockSkewMs from the module options: 30 s by default, a non-negative integer', () => {
    expect(resolveTccOptions({}).signatureClockSkewMs).toBe(30_000);
    expect(resolveTccOptions({ signatureClockSkewMs: 5_000 }).signatureClockSkewMs).toBe(5_000);
    expect(() => resolveTccOptions({ signatureClockSkewMs: -1 })).toThrow(/signatureClockSkewMs/);
    expect(() => resolveTccOptions({ signatureClockSkewMs: 1.5 })).toThrow(/signatureClockSkewMs/);
  });
});

describe('the participant log of refused signatures', () => {
  it('warns with the same words as the answer, at most once a minute per reason, never a key', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const verifier = new SignatureVerifier(resolveTccOptions({ signingKeys: [NEW_KEY] }), {} as ParticipantRegistry);
      const call = (gid: string, key: string) => {
        const payload = { amount: 1 };
        return verifier.refusal({ gid, branchId: 'freeze', phase: 'cancel', payload }, sign(key, 'cancel', gid, payload));
      };
      const answers = [call('g-1', STRANGER_KEY), call('g-2', STRANGER_KEY), call('g-3', STRANGER_KEY)];
      expect(new Set(answers).size).toBe(1);
      expect(call('g-4', NEW_KEY)).toBeUndefined();
      expect(verifier.refusal({ gid: 'g-5', branchId: 'freeze', phase: 'cancel', payload: null }, {})).toBe('missing signature');
      const lines = warn.mock.calls.map(([line]) => line as { reason: string; msg: string; gid: string });
      // One line for the three mismatches (the first gid), one for the missing signature.
      expect(lines.map((l) => [l.reason, l.gid])).toEqual([['mismatch', 'g-1'], ['missing', 'g-5']]);
      expect(lines[0].msg).toContain(answers[0]!);
      expect(JSON.stringify(lines)).not.toContain(NEW_KEY.slice(0, 8));
      expect(JSON.stringify(lines)).not.toContain(STRANGER_KEY.slice(0, 8));
    } finally {
      warn.mockRestore();
    }
  });
});
