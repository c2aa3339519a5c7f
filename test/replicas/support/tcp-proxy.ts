/**
 * A plain TCP proxy in the test process, in front of one server (a private database), that the
 * test can cut and restore: one replica's own road to the database, so that replica alone loses
 * it while the others keep theirs. It can also be pointed at another server, as a load balancer
 * in front of a Galera cluster moves to another node when its writer dies.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * How the road is cut. `refused`: as when the database node's server died, open connections are
 * reset and new ones reset at once. `blackhole`: as when the node vanished from the network,
 * nothing answers: open connections go silent and new ones are accepted but never reach the server.
 */
export type CutMode = 'refused' | 'blackhole';

interface Pair {
  client: Socket;
  /** null while a blackhole holds the connection without reaching the server. */
  upstream: Socket | null;
  silenced: boolean;
}

export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private mode: CutMode | null = null;
  /** Connections accepted while cut (all refused or held). */
  heldOrRefused = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private target: number,
  ) {}

  /** Listens on a free port of 127.0.0.1 and forwards every connection to `targetPort` there. */
  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy!.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    proxy = new TcpProxy(server, (server.address() as AddressInfo).port, targetPort);
    return proxy;
  }

  /**
   * Sends new connections to `targetPort` from now on, as a load balancer moving to another node;
   * connections already open stay where they are (they end when their server does).
   */
  retarget(targetPort: number): void {
    this.target = targetPort;
  }

  get cut(): CutMode | null {
    return this.mode;
  }

  /** Cuts the road: see CutMode. */
  cutOff(mode: CutMode): void {
    this.mode = mode;
    for (const pair of this.pairs) {
      if (mode === 'refused') this.drop(pair, true);
      else this.silence(pair);
    }
  }

  /**
   * Opens the road again. Connections silenced by a blackhole are reset, as a node that comes
   * back answers packets of connections it no longer knows; new ones go through.
   */
  restore(): void {
    this.mode = null;
    for (const pair of this.pairs) {
      if (pair.silenced) this.drop(pair, true);
    }
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) this.drop(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const pair: Pair = { client, upstream: null, silenced: false };
    this.pairs.add(pair);
    client.on('error', () => undefined);
    client.on('close', () => this.drop(pair));
    if (this.mode) {
      this.heldOrRefused++;
      if (this.mode === 'refused') this.drop(pair, true);
      else this.silence(pair);
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: this.target });
    pair.upstream = upstream;
    upstream.on('error', () => undefined);
    upstream.on('close', () => this.drop(pair));
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Stops both directions without closing anything: bytes in flight are simply never delivered. */
  private silence(pair: Pair): void {
    pair.silenced = true;
    pair.client.unpipe();
    pair.upstream?.unpipe();
    pair.client.pause();
    pair.upstream?.pause();
  }

  /**
   * Ends both sides: with a reset (RST) for a cut, as a dead server's host answers; otherwise
   * (one side closed, or the proxy closes) a plain destroy. Resets there, of sockets whose peer
   * was gone, left the test process spinning in Node 20's exit cleanup after the spec finished.
   */
  private drop(pair: Pair, rst = false): void {
    if (!this.pairs.delete(pair)) return;
    for (const socket of [pair.client, pair.upstream]) {
      if (!socket) continue;
      if (rst && !socket.connecting && !socket.destroyed) socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}

