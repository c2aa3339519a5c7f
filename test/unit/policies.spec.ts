import { refusalCode } from '@tcc/client/protocol';
import { parseTarget, TargetPolicy } from '../../apps/coordinator/src/domain/target.policy';
import { retryDelayMs } from '../../apps/coordinator/src/phase-two/retry.policy';
import { loadCoordinatorConfig } from '../../apps/coordinator/src/config/coordinator.config';

describe('target policy', () => {
  it('parses http targets with default ports and grpc targets', () => {
    expect(parseTarget('http', 'http://127.0.0.1:8080/tcc/confirm')).toEqual({ protocol: 'http', hostPort: '127.0.0.1:8080' });
    expect(parseTarget('http', 'https://Pay.Example.com/c')).toEqual({ protocol: 'http', hostPort: 'pay.example.com:443' });
    expect(parseTarget('http', 'http://[::1]/c')).toEqual({ protocol: 'http', hostPort: '[::1]:80' });
    expect(parseTarget('grpc', 'account:7081/tcc.v1.Account/Confirm')).toEqual({ protocol: 'grpc', hostPort: 'account:7081' });
  });

  it.each([
    ['http', 'ftp://host/x'],
    ['http', '/relative'],
    ['http', 'http://user:pw@host/x'],
    ['grpc', 'http://host:1/a.B/C'],
    ['grpc', 'host/a.B/C'],
    ['grpc', 'host:99999/a.B/C'],
  ] as const)('refuses %s target %s', (protocol, target) => {
    expect(typeof parseTarget(protocol, target)).toBe('string');
  });

  it('matches host:port patterns with * as any run of characters', () => {
    const policy = new TargetPolicy('127.0.0.1:*, *.svc.cluster.local:8080');
    expect(policy.allows('127.0.0.1:7080')).toBe(true);
    expect(policy.allows('pay.ns.svc.cluster.local:8080')).toBe(true);
    expect(policy.allows('pay.ns.svc.cluster.local:8081')).toBe(false);
    expect(policy.allows('127.0.0.10:7080')).toBe(false);
    expect(policy.allows('10.0.0.1:80')).toBe(false);
    expect(new TargetPolicy('*').allows('anything:1')).toBe(true);
  });

  it('refuses a pattern without a port', () => {
    expect(() => new TargetPolicy('example.com')).toThrow(/host:port/);
    expect(() => new TargetPolicy(' , ')).toThrow(/at least one/);
  });
});

describe('retry policy', () => {
  const settings = { baseMs: 100, maxMs: 1000 };
  it('grows exponentially with jitter and stops at the cap', () => {
    expect(retryDelayMs(1, settings, () => 0)).toBe(50);
    expect(retryDelayMs(1, settings, () => 1)).toBe(100);
    expect(retryDelayMs(3, settings, () => 0)).toBe(200);
    expect(retryDelayMs(3, settings, () => 1)).toBe(400);
    expect(retryDelayMs(50, settings, () => 1)).toBe(1000);
    expect(retryDelayMs(50, settings, () => 0)).toBe(500);
  });
});

describe('coordinator configuration', () => {
  it('has documented defaults', () => {
    const c = loadCoordinatorConfig({});
    expect(c.http.port).toBe(7070);
    expect(c.db.url).toBeUndefined();
    expect(c.db.migrateOnStart).toBe(true);
    expect(c.maxPayloadBytes).toBe(65536);
    expect(c.allowedTargets).toBe('127.0.0.1:*,localhost:*,[::1]:*');
  });

  it('takes a PostgreSQL URL as well as a MySQL one', () => {
    expect(loadCoordinatorConfig({ TCC_DB_URL: 'postgres://postgres@127.0.0.1:5432/tcc' }).db.url).toBe('postgres://postgres@127.0.0.1:5432/tcc');
    expect(loadCoordinatorConfig({ TCC_DB_URL: 'postgresql://u:p@db:5432/tcc?sslmode=require' }).db.url).toBe('postgresql://u:p@db:5432/tcc?sslmode=require');
  });

  it('does not migrate MySQL on start unless asked', () => {
    expect(loadCoordinatorConfig({ TCC_DB_URL: 'mysql://root@127.0.0.1:3306/tcc' }).db.migrateOnStart).toBe(false);
    expect(loadCoordinatorConfig({ TCC_DB_URL: 'mysql://root@127.0.0.1:3306/tcc', TCC_MIGRATE_ON_START: 'true' }).db.migrateOnStart).toBe(true);
  });

  it.each([
    ['TCC_HTTP_PORT', 'abc'],
    ['TCC_HTTP_PORT', '70000'],
    ['TCC_DB_URL', 'sqlserver://x/y'],
    ['TCC_DB_URL', 'postgres://no-database'],
    ['TCC_RETRY_BASE_MS', '-5'],
    ['TCC_LOG_LEVEL', 'loud'],
    ['TCC_MIGRATE_ON_START', 'maybe'],
    ['TCC_ALLOWED_TARGETS', 'example.com'],
  ])('names the bad variable %s=%s', (name, value) => {
    expect(() => loadCoordinatorConfig({ [name]: value })).toThrow(name);
  });

  it('refuses a lease shorter than two request timeouts', () => {
    expect(() => loadCoordinatorConfig({ TCC_LEASE_MS: '1000', TCC_REQUEST_TIMEOUT_MS: '800' })).toThrow(/TCC_LEASE_MS/);
  });
});

describe('the refusal-code rule (one, for the caller and the participant)', () => {
  it('names a refusal by code, else error, else the status', () => {
    expect(refusalCode({ code: 'INSUFFICIENT_FUNDS', error: 'Conflict' }, 409)).toBe('INSUFFICIENT_FUNDS');
    expect(refusalCode({ code: 7, error: 'BRANCH_CANCELLED' }, 409)).toBe('BRANCH_CANCELLED');
    expect(refusalCode('not an object', 400)).toBe('HTTP_400');
    expect(refusalCode(['code'], 404)).toBe('HTTP_404');
    expect(refusalCode(undefined, 422)).toBe('HTTP_422');
  });
});
