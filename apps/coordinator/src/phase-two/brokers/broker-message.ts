/**
 * What a message step's delivery publishes (docs/contract.md §10): the participant body, the
 * headers a participant call carries (§5), signed the same way so a consumer verifies it with the
 * library's verifyBranchCall, and the message id consumers drop duplicates by.
 */
import { payloadText, signBranchCall } from '@tcc/client/caller';
import { messageIdOf, TCC_HEADERS, type BranchCallBody } from '@tcc/client/protocol';

export interface BrokerMessage {
  body: BranchCallBody;
  /** x-tcc-gid, x-tcc-branch-id, x-tcc-phase; traceparent when given; x-tcc-timestamp and x-tcc-signature when signed. */
  headers: Record<string, string>;
  /** `<gid>/<branchId>`: the same on every attempt (AMQP messageId, JetStream Nats-Msg-Id). */
  messageId: string;
}

export interface BrokerMessageOptions {
  /** The coordinator's first signing key (TCC_SIGNING_KEYS); none: unsigned. */
  signingKey?: string;
  traceparent?: string | null;
  /** When it is signed (tests); now by default. */
  now?: number;
}

/**
 * The message of one delivery. Each attempt is signed anew: a signature is only as fresh as the
 * consumer's window, while the id stays the same.
 */
export function brokerMessage(body: BranchCallBody, options: BrokerMessageOptions = {}): BrokerMessage {
  const headers: Record<string, string> = {
    [TCC_HEADERS.gid]: body.gid,
    [TCC_HEADERS.branchId]: body.branchId,
    [TCC_HEADERS.phase]: body.phase,
  };
  if (options.traceparent) headers[TCC_HEADERS.traceparent] = options.traceparent;
  if (options.signingKey) {
    Object.assign(
      headers,
      signBranchCall(options.signingKey, { phase: body.phase, gid: body.gid, branchId: body.branchId, payloadText: payloadText(body.payload) }, options.now),
    );
  }
  return { body, headers, messageId: messageIdOf(body.gid, body.branchId) };
}
