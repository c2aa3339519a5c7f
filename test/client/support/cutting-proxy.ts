/**
 * A real HTTP server in front of the coordinator that cuts chosen calls' connections: `before`
 * closes the connection without forwarding (the coordinator never saw the call), `after` forwards
 * the call, waits for the coordinator's whole answer, then closes the connection without passing
 * it on (the call was done, its answer is lost). What to cut is decided per call by `rule`, which a
 * test changes as it goes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { readBody } from './faulty-proxy';

export type Cut = 'pass' | 'before' | 'after';

export interface ProxiedCall {
  method: string;
  path: string;
  cut: Cut;
  /** The coordinator's status code, when the call was forwarded. */
  answered?: number;
}

export interface CuttingProxy {
  url: string;
  /** Decides each call's fate; passes everything until a test sets it. */
  rule: (method: string, path: string) => Cut;
  /** Runs before a call that is not cut `before` is forwarded (e.g. to kill something first). */
  beforeForward?: (call: ProxiedCall) => Promise<void> | void;
  /** Runs once the coordinator answered a call cut `after`, before the connection is closed. */
  onAnswerLost?: (call: ProxiedCall) => Promise<void> | void;
  calls: ProxiedCall[];
  close(): Promise<void>;
}

export async function startCuttingProxy(target: string): Promise<CuttingProxy> {
  const agent = new Agent({ connections: 64, keepAliveTimeout: 4_000 });
  const proxy: CuttingProxy = {
    url: '',
    rule: () => 'pass',
    calls: [],
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const call: ProxiedCall = { method: req.method ?? 'GET', path: req.url ?? '/', cut: proxy.rule(req.method ?? 'GET', req.url ?? '/') };
      proxy.calls.push(call);
      if (call.cut === 'before') return void req.socket.destroy();
      await proxy.beforeForward?.(call);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && name !== 'host' && name !== 'connection' && name !== 'content-length') headers[name] = value;
      }
      const answer = await request(target + call.path, {
        method: call.method as 'GET' | 'POST',
        headers,
        body: call.method === 'GET' ? undefined : body,
        dispatcher: agent,
      });
      const text = await answer.body.text();
      call.answered = answer.statusCode;
      if (call.cut === 'after') {
        await proxy.onAnswerLost?.(call);
        return void req.socket.destroy();
      }
      res.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type'] ?? 'application/json') }).end(text);
    })().catch(() => req.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await agent.close();
  };
  return proxy;
}
