/**
 * Child processes a spec starts (the built coordinator, servers of its own, npm and tsc):
 * remembered, and SIGKILLed by pid if still running when the test process exits, whatever happened
 * to the spec.
 */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of live) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

export function trackChild(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}
