/** What the brokers specs share: a publisher over given brokers, message steps, and publishing as phase two does (retried until done). */
import { Logger } from '@nestjs/common';
import type { ParticipantCallResult } from '../../../libs/tcc-client/src/caller';
import type { BranchCallBody, JsonValue } from '../../../libs/tcc-client/src/protocol';
import { parseBrokers } from '../../../apps/coordinator/src/config/brokers.parser';
import { BrokerPublisher, brokerMessage, type BrokerProtocol, type BrokerPublishRequest } from '../../../apps/coordinator/src/phase-two/brokers';
import { eventually } from '../../support/wait';

// The publisher logs each connection opened and closed; in these specs, where brokers are stopped on
// purpose hundreds of times a run, only errors are worth reading.
Logger.overrideLogger(['error']);

export const SIGNING_KEY = 'brokers-spec-signing-key-0123456789';

/** A publisher over `brokers` (a TCC_BROKERS value), as the coordinator builds it from its config. */
export function publisherOver(brokers: string): BrokerPublisher {
  const publisher = new BrokerPublisher({ brokers: parseBrokers(brokers) });
  publisher.onModuleInit();
  return publisher;
}

export function messageStep(gid: string, branchId: string, payload: JsonValue | null = { n: branchId }): BranchCallBody {
  return { gid, branchId, phase: 'message', payload };
}

/** The request the phase-two driver makes for one step: signed, with the step's id. */
export function publishRequest(protocol: BrokerProtocol, action: string, body: BranchCallBody, timeoutMs = 5_000): BrokerPublishRequest {
  return { protocol, action, ...brokerMessage(body, { signingKey: SIGNING_KEY }), timeoutMs };
}

export interface Tally {
  done: number;
  failed: number;
  errors: Set<string>;
}

export const newTally = (): Tally => ({ done: 0, failed: 0, errors: new Set() });

/**
 * Publishes until the outcome is `done`, as phase two retries a failing delivery (its backoff here
 * is the polling interval); counts every failure in `tally`.
 */
export async function publishUntilDone(publisher: BrokerPublisher, request: () => BrokerPublishRequest, tally: Tally, timeoutMs = 90_000): Promise<void> {
  await eventually(
    async () => {
      const result: ParticipantCallResult = await publisher.publish(request());
      if (result.outcome === 'done') return true;
      tally.failed++;
      if (result.outcome === 'failed') tally.errors.add(result.error.replace(/\d+/g, 'N'));
      return false;
    },
    { timeoutMs, intervalMs: 50, what: `${request().messageId} to be published` },
  );
  tally.done++;
}

/** Runs `work` over `items` (in order) with `concurrency` workers. */
export async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index], index);
      }
    }),
  );
}

/** A promise and the function that settles it: a gate a test opens when something has happened. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** How long `run` takes, in ms, with its result. */
export async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = Date.now();
  const value = await run();
  return { ms: Date.now() - started, value };
}
