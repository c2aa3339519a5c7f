/**
 * Lets a commit or rollback request with `wait: true` answer the moment its transaction finishes
 * in this process, instead of polling the database.
 */
import { Injectable } from '@nestjs/common';
import type { GlobalStatus } from '@tcc/client/protocol';

type Listener = (status: GlobalStatus) => void;

@Injectable()
export class CompletionWaiters {
  private readonly listeners = new Map<string, Set<Listener>>();

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

  notify(gid: string, status: GlobalStatus): void {
    const set = this.listeners.get(gid);
    if (!set) return;
    this.listeners.delete(gid);
    for (const listener of set) listener(status);
  }
}
