/** TCC_BROKERS: parsed into typed brokers, a clear start-up message for a bad value, credentials never shown. */
import { ConfigError, loadCoordinatorConfig } from '../../apps/coordinator/src/config/coordinator.config';
import { brokerUrlForLog, parseBrokers } from '../../apps/coordinator/src/config/brokers.parser';

const configError = (brokers: string): string => {
  try {
    loadCoordinatorConfig({ TCC_BROKERS: brokers });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`TCC_BROKERS=${brokers} was accepted`);
};

describe('TCC_BROKERS', () => {
  it('is empty when unset', () => {
    expect(loadCoordinatorConfig({}).brokers).toEqual([]);
  });

  it('reads name=url entries, the kind from the scheme', () => {
    const config = loadCoordinatorConfig({
      TCC_BROKERS: ' rabbit=amqp://guest:guest@127.0.0.1:5672 , secure.rabbit=amqps://u:p@mq.example:5671/vhost,js=nats://127.0.0.1:4222,js-tls=tls://nats.example:4443,',
    });
    expect(config.brokers).toEqual([
      { name: 'rabbit', kind: 'amqp', url: 'amqp://guest:guest@127.0.0.1:5672' },
      { name: 'secure.rabbit', kind: 'amqp', url: 'amqps://u:p@mq.example:5671/vhost' },
      { name: 'js', kind: 'nats', url: 'nats://127.0.0.1:4222' },
      { name: 'js-tls', kind: 'nats', url: 'tls://nats.example:4443' },
    ]);
  });

  it.each([
    ['rabbit', /entry 1 must be name=url/],
    ['=amqp://h:5672', /entry 1 must be name=url/],
    ['a=nats://h,bad name=amqp://h', /entry 2 must be name=url with a name of 1-64 characters/],
    [`${'n'.repeat(65)}=amqp://h`, /entry 1 must be name=url/],
    ['rabbit=http://h:5672', /the URL of "rabbit" \(entry 1\) must be amqp:\/\/, amqps:\/\/ .* or nats:\/\/, tls:\/\//],
    ['rabbit=127.0.0.1:5672', /the URL of "rabbit"/],
    ['js=nats://', /the URL of "js"/],
    ['rabbit=amqp://h,rabbit=nats://h', /the name "rabbit" is given twice \(entry 2\)/],
  ])('refuses %s at start with a message naming TCC_BROKERS', (value, expected) => {
    const message = configError(value);
    expect(message).toMatch(/^invalid coordinator configuration:/);
    expect(message).toMatch(/TCC_BROKERS: /);
    expect(message).toMatch(expected);
  });

  it('never repeats a URL or its password in an error', () => {
    const message = configError('rabbit=amqp://guest:s3cretpass@,js=nats://tok3n@');
    expect(message).toMatch(/the URL of "rabbit"/);
    expect(message).not.toContain('s3cretpass');
    expect(message).not.toContain('guest');
    expect(() => parseBrokers('js=nats://127.0.0.1:4222,rabbit=ftp://user:hunter2hunter2@h')).toThrow(/the URL of "rabbit"/);
    try {
      parseBrokers('rabbit=ftp://user:hunter2hunter2@h');
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });

  it('masks credentials for the start-up lines: an AMQP password, a NATS password or token', () => {
    expect(brokerUrlForLog('amqp://guest:guest@127.0.0.1:5672/v')).toBe('amqp://guest:***@127.0.0.1:5672/v');
    expect(brokerUrlForLog('nats://user:pw@127.0.0.1:4222')).toBe('nats://user:***@127.0.0.1:4222');
    expect(brokerUrlForLog('nats://s3cr3t-token@127.0.0.1:4222')).toBe('nats://***@127.0.0.1:4222');
    expect(brokerUrlForLog('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
    expect(brokerUrlForLog('not a url :pw@')).toBe('***');
  });
});
