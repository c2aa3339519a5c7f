/** The pure half of broker publishing: where an action publishes, and what a message carries. */
import { verifyBranchCall } from '../../libs/tcc-client/src/signing/branch-signature';
import { parseBrokers } from '../../apps/coordinator/src/config/brokers.parser';
import { brokerMessage, isBrokerProtocol, parseBrokerAction } from '../../apps/coordinator/src/phase-two/brokers';

const brokers = parseBrokers('rabbit=amqp://guest:guest@127.0.0.1:5672,js=nats://127.0.0.1:4222,js2=tls://127.0.0.1:4443');

describe('parseBrokerAction', () => {
  it.each([
    ['amqp', 'rabbit/orders/order.created', { kind: 'amqp', broker: 'rabbit', exchange: 'orders', routingKey: 'order.created' }],
    ['amqp', 'rabbit/amq.topic/a/b/c', { kind: 'amqp', broker: 'rabbit', exchange: 'amq.topic', routingKey: 'a/b/c' }],
    ['amqp', 'rabbit//some-queue', { kind: 'amqp', broker: 'rabbit', exchange: '', routingKey: 'some-queue' }],
    ['amqp', 'rabbit/fanout-x/', { kind: 'amqp', broker: 'rabbit', exchange: 'fanout-x', routingKey: '' }],
    ['nats', 'js/orders.created', { kind: 'nats', broker: 'js', subject: 'orders.created' }],
    ['nats', 'js2/a', { kind: 'nats', broker: 'js2', subject: 'a' }],
  ])('%s %s', (protocol, action, target) => {
    expect(parseBrokerAction(protocol, action, brokers)).toEqual(target);
  });

  it.each([
    ['amqp', 'nope/x/y', /^names broker "nope", which is not configured \(TCC_BROKERS has amqp brokers rabbit\)$/],
    ['nats', 'nope/x', /^names broker "nope", which is not configured \(TCC_BROKERS has nats brokers js, js2\)$/],
    ['amqp', 'js/x/y', /^names broker "js", which is a nats broker: an amqp step needs an amqp broker$/],
    ['nats', 'rabbit/x', /^names broker "rabbit", which is an amqp broker: a nats step needs a nats broker$/],
    ['amqp', 'rabbit', /^must be <broker>\/<exchange>\/<routingKey> for an amqp step$/],
    ['amqp', '/x/y', /^must be <broker>\/<exchange>\/<routingKey>/],
    ['amqp', 'rabbit/orders', /must be <broker>\/<exchange>\/<routingKey> for an amqp step \(an empty exchange is the default exchange: rabbit\/\/<queue>\)/],
    ['amqp', 'rabbit/bad exchange/k', /has exchange "bad exchange"/],
    ['amqp', `rabbit/x/${'k'.repeat(256)}`, /has a routing key of 256 bytes: at most 255/],
    ['nats', 'js', /^must be <broker>\/<subject> for a nats step$/],
    ['nats', 'js/', /has subject ""/],
    ['nats', 'js/a..b', /has subject "a..b"/],
    ['nats', 'js/orders.*', /without spaces or the wildcards/],
    ['nats', 'js/orders.>', /without spaces or the wildcards/],
    ['nats', 'js/has space', /has subject/],
    ['http', 'http://127.0.0.1/x', /^protocol http is not published to a broker/],
  ])('%s %s: %s', (protocol, action, error) => {
    const result = parseBrokerAction(protocol, action, brokers);
    expect(typeof result).toBe('string');
    expect(result).toMatch(error);
  });

  it('says when no broker of the kind is configured, and never shows a URL', () => {
    const result = parseBrokerAction('nats', 'js/x', parseBrokers('rabbit=amqp://guest:secretpass@127.0.0.1:5672'));
    expect(result).toBe('names broker "js", which is not configured (TCC_BROKERS has no nats broker)');
    expect(String(parseBrokerAction('amqp', 'x/y/z', brokers))).not.toMatch(/guest|127\.0\.0\.1/);
  });

  it('tells broker protocols from called ones', () => {
    expect(['http', 'grpc', 'amqp', 'nats'].filter(isBrokerProtocol)).toEqual(['amqp', 'nats']);
  });
});

describe('brokerMessage', () => {
  const body = { gid: 'g-1', branchId: 'b-1', phase: 'message' as const, payload: { amount: 5, note: 'ü' } };

  it('carries the participant body, the x-tcc headers and the id <gid>/<branchId>', () => {
    const message = brokerMessage(body, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    expect(message).toEqual({
      body,
      headers: { 'x-tcc-gid': 'g-1', 'x-tcc-branch-id': 'b-1', 'x-tcc-phase': 'message', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      messageId: 'g-1/b-1',
    });
  });

  it('is signed like a participant call when a key is set: a consumer verifies it with verifyBranchCall', () => {
    const key = 'k'.repeat(32);
    const now = Date.now();
    const { headers } = brokerMessage(body, { signingKey: key, now });
    expect(headers['x-tcc-timestamp']).toBe(String(now));
    // What a consumer does with a delivery: the fields from the body it parsed, the signature from the headers.
    const delivered = JSON.parse(JSON.stringify(body)) as typeof body;
    const fields = { phase: delivered.phase, gid: delivered.gid, branchId: delivered.branchId, payloadText: JSON.stringify(delivered.payload ?? null) };
    expect(verifyBranchCall([key], fields, headers['x-tcc-signature'], headers['x-tcc-timestamp'], 60_000, now)).toEqual({ ok: true });
    expect(verifyBranchCall(['x'.repeat(32)], fields, headers['x-tcc-signature'], headers['x-tcc-timestamp'], 60_000, now)).toEqual({ ok: false, reason: 'mismatch' });
    // Every attempt is signed anew; the id does not change.
    const again = brokerMessage(body, { signingKey: key, now: now + 1000 });
    expect(again.messageId).toBe('g-1/b-1');
    expect(again.headers['x-tcc-signature']).not.toBe(headers['x-tcc-signature']);
  });
});
