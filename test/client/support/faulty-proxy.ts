/**
 * A real HTTP server in front of a participant that fails a share of confirm and cancel calls on
 * their first attempt: half without forwarding (the participant never saw it) and half after
 * forwarding (the participant did the work but its answer is lost), so retries must be idempotent.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

export interface FaultyProxy {
  url: string;
  stats: { forwarded: number; droppedBefore: number; droppedAfter: number };
  close(): Promise<void>;
}

/** The whole body of a request, as text. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Fails every `1 / failureRate`-th first attempt (exactly that share), alternating the two kinds of fault. */
export async function startFaultyProxy(target: string, failureRate: number): Promise<FaultyProxy> {
  const every = Math.round(1 / failureRate);
  let firstAttempts = 0;
  let faults = 0;
  const agent = new Agent({ connections: 256, keepAliveTimeout: 4_000 });
  const seen = new Set<string>();
  const stats = { forwarded: 0, droppedBefore: 0, droppedAfter: 0 };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const phase = /\/(confirm|cancel)$/.exec(req.url ?? '')?.[1];
      let fault: 'before' | 'after' | undefined;
      if (phase) {
        const { gid, branchId } = JSON.parse(body) as { gid: string; branchId: string };
        const key = `${gid}/${branchId}/${phase}`;
        if (!seen.has(key)) {
          seen.add(key);
          if (++firstAttempts % every === 0) fault = faults++ % 2 === 0 ? 'before' : 'after';
        }
      }
      if (fault === 'before') {
        stats.droppedBefore++;
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"statusCode":503,"message":"injected failure"}');
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && name !== 'host' && name !== 'connection' && name !== 'content-length') headers[name] = value;
      }
      const answer = await request(target + (req.url ?? '/'), {
        method: (req.method ?? 'GET') as 'GET' | 'POST',
        headers,
        body: req.method === 'GET' ? undefined : body,
        dispatcher: agent,
      });
      const text = await answer.body.text();
      stats.forwarded++;
      if (fault === 'after') {
        stats.droppedAfter++;
        res.writeHead(502, { 'content-type': 'application/json' }).end('{"statusCode":502,"message":"injected lost answer"}');
        return;
      }
      res.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type'] ?? 'application/json') }).end(text);
    })().catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await agent.close();
    },
  };
}
