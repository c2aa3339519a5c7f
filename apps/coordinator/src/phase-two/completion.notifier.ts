/**
 * Tells the rest of the coordinator that a transaction finished. Phase two reports here; requests
 * waiting on a transaction (`wait: true`) answer the moment it finishes in this process; and a
 * relay, when one is attached (the Redis coordination of recovery/), carries the news to other
 * replicas and brings theirs back. Lower folders publish here without knowing who listens.
 */
import { Injectable } from '@nestjs/common';
import type { GlobalStatus } from '@tcc/client/protocol';

type Listener = (status: GlobalStatus) => void;

/** Carries finishes between replicas. */
export interface CompletionRelay {
  publish(gid: string, status: GlobalStatus): void;
  /** Whether finishes of other replicas reach this one now. */
  isConnected(): boolean;
}

@Injectable()
export class CompletionNotifier {
  private readonly listeners = new Map<string, Set<Listener>>();
  private relay: CompletionRelay | null = null;

  attach(relay: CompletionRelay): void {
    this.relay = relay;
  }

  /** Whether another replica's finish is announced here (so waiters may poll the database less often). */
  get hearsOtherReplicas(): boolean {
    return this.relay?.isConnected() ?? false;
  }

  private readonly finishHooks: Array<(gid: string, status: GlobalStatus) => void> = [];

  /** Called for every transaction finished in this process (e.g. to send its completion callback at once). */
  onFinished(hook: (gid: string, status: GlobalStatus) => void): void {
    this.finishHooks.push(hook);
  }

  /** A transaction finished in this process: wake its waiters here and tell the other replicas. */
  finished(gid: string, status: GlobalStatus): void {
    this.wake(gid, status);
    this.relay?.publish(gid, status);
    for (const hook of this.finishHooks) hook(gid, status);
  }

  /** Another replica finished a transaction: wake its waiters here. */
  arrived(gid: string, status: GlobalStatus): void {
    this.wake(gid, status);
  }

  /** Resolves with the final status, or with null after `timeoutMs`. */
  wait(gid: string, timeoutMs: number): Promise<GlobalStatus | null> {
    return new Promise((resolve) => {
      const set = this.listeners.get(gid) ?? new Set<Listener>();
      this.listeners.set(gid, set);
      const listener: Listener = (status) => {
        clearTimeout(timer);
        resolve(status);
      };
      const timer = setTimeout(() => {
        set.delete(listener);
        if (set.size === 0) this.listeners.delete(gid);
        resolve(null);
      }, timeoutMs);
      set.add(listener);
    });
  }

  private wake(gid: string, status: GlobalStatus): void {
    const set = this.listeners.get(gid);
    if (!set) return;
    this.listeners.delete(gid);
    for (const listener of set) listener(status);
  }
}
