/**
 * A real participant for the tests: an HTTP server on 127.0.0.1 (random port) that records every
 * call the coordinator makes and answers each route as told (ok, fail N times, hang, delay).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TCC_HEADERS, type BranchCallBody } from '@tcc/client';
import { eventually } from './wait';

/** How one route answers. Counting is per route, from the first call it receives. */
export type Behaviour =
  /** 200 (or `status`), optionally after `delayMs`, with `body` as its text when given. */
  | { kind: 'ok'; status?: number; delayMs?: number; body?: string }
  /** Answers `status` (with `body` as its text, when given) to the first `times` calls, then 200. */
  | { kind: 'fail'; status: number; times: number; body?: string }
  /** Never answers the first `times` calls (default: every call) until the server closes; then 200. */
  | { kind: 'hang'; times?: number };

export interface RecordedCall {
  seq: number;
  /** Local clock when the request body had been read. */
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The parsed body, or undefined when it was not JSON. */
  body: BranchCallBody | undefined;
  gid: string | undefined;
  branchId: string | undefined;
  phase: string | undefined;
  /** What the server did: an HTTP status, or 'hang'. */
  answer: number | 'hang';
}

export interface BranchRoutes {
  confirm: string;
  cancel: string;
}

export class ParticipantServer {
  readonly calls: RecordedCall[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly counts = new Map<string, number>();
  private readonly hanging = new Set<ServerResponse>();
  private seq = 0;
  private closed = false;

  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(): Promise<ParticipantServer> {
    const server = createServer();
    // Keep-alive sockets from the coordinator's pool must not keep the server open at close.
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const participant = new ParticipantServer(server, (server.address() as AddressInfo).port);
    server.on('request', (req, res) => participant.handle(req, res));
    return participant;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  url(path: string): string {
    return `${this.origin}${path.startsWith('/') ? path : `/${path}`}`;
  }

  /** Confirm and cancel URLs of a named route pair: `/<name>/confirm`, `/<name>/cancel`. */
  branch(name: string): BranchRoutes {
    return { confirm: this.url(`/${name}/confirm`), cancel: this.url(`/${name}/cancel`) };
  }

  /** Sets how `path` answers from now on and restarts its call count. */
  behave(path: string, behaviour: Behaviour): void {
    const key = new URL(path, this.origin).pathname;
    this.behaviours.set(key, behaviour);
    this.counts.set(key, 0);
  }

  /** Answers every request hanging so far with 200 (they are otherwise only ended at close). */
  releaseHanging(): void {
    for (const res of this.hanging) this.reply(res, 200);
    this.hanging.clear();
  }

  callsFor(gid: string, branchId?: string, phase?: string): RecordedCall[] {
    return this.calls.filter(
      (c) => c.gid === gid && (branchId === undefined || c.branchId === branchId) && (phase === undefined || c.phase === phase),
    );
  }

  callsTo(path: string): RecordedCall[] {
    const key = new URL(path, this.origin).pathname;
    return this.calls.filter((c) => c.path === key);
  }

  waitForCalls(filter: (c: RecordedCall) => boolean, count = 1, timeoutMs = 15_000): Promise<RecordedCall[]> {
    return eventually(
      () => {
        const found = this.calls.filter(filter);
        return found.length >= count ? found : undefined;
      },
      { timeoutMs, intervalMs: 20, what: `${count} matching participant call(s)` },
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: BranchCallBody | undefined;
      try {
        body = JSON.parse(rawBody) as BranchCallBody;
      } catch {
        body = undefined;
      }
      const path = new URL(req.url ?? '/', this.origin).pathname;
      const count = (this.counts.get(path) ?? 0) + 1;
      this.counts.set(path, count);
      const behaviour = this.behaviours.get(path) ?? { kind: 'ok' };
      const header = (name: string): string | undefined => {
        const value = req.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      const call: RecordedCall = {
        seq: ++this.seq,
        at: Date.now(),
        method: req.method ?? '',
        path,
        headers: req.headers,
        rawBody,
        body,
        gid: header(TCC_HEADERS.gid) ?? body?.gid,
        branchId: header(TCC_HEADERS.branchId) ?? body?.branchId,
        phase: header(TCC_HEADERS.phase) ?? body?.phase,
        answer: 200,
      };
      this.calls.push(call);
      switch (behaviour.kind) {
        case 'ok':
          call.answer = behaviour.status ?? 200;
          if (behaviour.delayMs) {
            const timer = setTimeout(() => this.reply(res, call.answer as number, behaviour.body), behaviour.delayMs);
            res.on('close', () => clearTimeout(timer));
          } else {
            this.reply(res, call.answer, behaviour.body);
          }
          return;
        case 'fail':
          call.answer = count <= behaviour.times ? behaviour.status : 200;
          this.reply(res, call.answer, count <= behaviour.times ? behaviour.body : undefined);
          return;
        case 'hang':
          if (behaviour.times === undefined || count <= behaviour.times) {
            call.answer = 'hang';
            this.hanging.add(res);
            res.on('close', () => this.hanging.delete(res));
            return;
          }
          this.reply(res, 200);
          return;
      }
    });
  }

  private reply(res: ServerResponse, status: number, body?: string): void {
    if (res.writableEnded || res.destroyed) return;
    const ok = status >= 200 && status < 300;
    const payload = body ?? JSON.stringify(ok ? { ok: true } : { error: `participant answers ${status} on purpose` });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  }
}
