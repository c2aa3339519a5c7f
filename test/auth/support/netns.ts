/**
 * A test host of our own: a network namespace joined to this machine by a veth pair, so a process
 * run inside it reaches the coordinator from an address that is not loopback. Made with iproute2
 * (root); removed by `close()`, which deletes the namespace and with it the pair.
 */
import { execFileSync, spawn } from 'node:child_process';

export interface TestHost {
  /** This machine's address on the pair, what the host dials to reach a server listening on 0.0.0.0. */
  machineAddress: string;
  /** The host's own address, the caller's address a server sees. */
  hostAddress: string;
  /** Runs `command args` inside the namespace; answers its stdout (rejects on a non-zero exit). */
  run(command: string, args: string[], timeoutMs?: number): Promise<string>;
  close(): void;
}

const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });

export function createTestHost(): TestHost {
  const id = `${process.pid % 10_000}${Math.floor(Math.random() * 100)}`;
  const ns = `tcct${id}`;
  const outer = `tcco${id}`;
  const inner = `tcci${id}`;
  // A /30 in the benchmarking range (RFC 2544), unlikely to meet any real network of the machine.
  const octet = Math.floor(Math.random() * 60) * 4;
  const machineAddress = `198.18.${Math.floor(Math.random() * 250)}.${octet + 1}`;
  const hostAddress = machineAddress.replace(/\.\d+$/, `.${octet + 2}`);
  ip('netns', 'add', ns);
  try {
    ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
    ip('link', 'set', inner, 'netns', ns);
    ip('addr', 'add', `${machineAddress}/30`, 'dev', outer);
    ip('link', 'set', outer, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${hostAddress}/30`, 'dev', inner);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', inner, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
  } catch (error) {
    try {
      ip('link', 'del', outer);
    } catch {
      // not created
    }
    ip('netns', 'del', ns);
    throw error;
  }
  return {
    machineAddress,
    hostAddress,
    run(command, args, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), timeoutMs);
        child.once('close', (code) => {
          clearTimeout(timer);
          if (code === 0) resolve(out);
          else reject(new Error(`${command} in ${ns} exited ${code}: ${err}`));
        });
      });
    },
    close() {
      try {
        ip('link', 'del', outer);
      } catch {
        // gone with the namespace
      }
      ip('netns', 'del', ns);
    },
  };
}
