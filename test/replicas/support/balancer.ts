/**
 * A TCP load balancer in the test process in front of several coordinator replicas, as a service
 * reaches replicas in production: each new connection goes to the next replica in turn, and one
 * whose connect is refused (its replica is down) is sent to the next that accepts (haproxy's
 * redispatch). Connections already open stay on their replica and end when it dies, so calls in
 * flight on a killed replica are lost exactly as they would be behind a real balancer.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class Balancer {
  private readonly sockets = new Set<Socket>();
  private next = 0;
  /** Connections sent to each upstream port. */
  readonly sent = new Map<number, number>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly upstreams: number[],
  ) {}

  /** Listens on a free port of 127.0.0.1 in front of `upstreamPorts` (there too). */
  static async start(upstreamPorts: number[]): Promise<Balancer> {
    let balancer: Balancer | undefined;
    const server = createServer((client) => balancer!.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    balancer = new Balancer(server, (server.address() as AddressInfo).port, [...upstreamPorts]);
    return balancer;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private accept(client: Socket): void {
    this.track(client);
    client.pause();
    const first = this.next++ % this.upstreams.length;
    const attempt = (tried: number): void => {
      if (client.destroyed) return;
      if (tried === this.upstreams.length) {
        client.destroy();
        return;
      }
      const port = this.upstreams[(first + tried) % this.upstreams.length];
      const upstream = createConnection({ host: '127.0.0.1', port });
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        this.track(upstream);
        this.sent.set(port, (this.sent.get(port) ?? 0) + 1);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        client.once('close', () => upstream.destroy());
        upstream.once('close', () => client.destroy());
      });
      upstream.once('error', () => {
        // Refused before anything was forwarded: that replica is down, try the next.
        if (!connected) attempt(tried + 1);
      });
    };
    attempt(0);
  }
}
