/** What the publisher asks of one configured broker, whatever its kind. */
import type { ParticipantCallResult } from '@tcc/client/caller';
import type { BrokerMessage } from './broker-message';
import type { BrokerTarget } from './broker-action.parser';

export interface BrokerConnection<T extends BrokerTarget = BrokerTarget> {
  /** Publishes and waits for the broker's acknowledgement: `done`, or `failed` with why. Never throws. */
  publish(target: T, message: BrokerMessage, timeoutMs: number): Promise<ParticipantCallResult>;
  /** Closes the connection; a publish after it fails. */
  close(): Promise<void>;
}

const ERROR_TEXT_MAX = 300;

/** A `failed` outcome with a short error naming the broker (never its URL). */
export function failed(broker: string, error: string): ParticipantCallResult {
  const text = `broker ${broker}: ${error}`;
  return { outcome: 'failed', error: text.length > ERROR_TEXT_MAX ? `${text.slice(0, ERROR_TEXT_MAX)}…` : text };
}

/** An error's message. Duck-typed: an error from another realm (Node's core under Jest's sandbox) is no `instanceof Error` here. */
export function errorText(error: unknown): string {
  const message = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : undefined;
  return typeof message === 'string' && message ? message : String(error);
}
