/**
 * A real HTTP receiver of completion callbacks for the specs (docs/contract.md §11): a server on
 * 127.0.0.1 (random port) that records every call and answers as told: the first `failTimes` calls
 * with `failStatus`, and, when given signing keys, 401 to a call whose signature does not verify
 * with the library's verifier (verifyBranchCall), before anything is counted as received; or,
 * while `hang`, no answer at all.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { payloadText, SIGNATURE_HEADERS, verifyBranchCall, type BranchCallBody, type TransactionView } from '@tcc/client';
import { eventually } from '../../support/wait';

export interface ReceivedCallback {
  path: string;
  headers: IncomingHttpHeaders;
  body: BranchCallBody & { payload: TransactionView };
  /** What the receiver answered. */
  answer: number;
}

export class CallbackReceiver {
  readonly calls: ReceivedCallback[] = [];
  /** Keys a signature must verify with; empty: no check. */
  keys: string[] = [];
  /** Answer `failStatus` to the next `failTimes` calls that pass the signature check. */
  failTimes = 0;
  failStatus = 500;
  /** Answer `failStatus` to the first call of each gid. */
  failFirstOfEach = false;
  /** Paths answered `failStatus` on every call. */
  readonly failPaths = new Set<string>();
  /** While true, calls are recorded (answer 0) and never answered, until the server closes. */
  hang = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<CallbackReceiver> {
    const server = createServer();
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const receiver = new CallbackReceiver(server, (server.address() as AddressInfo).port);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedCallback['body'];
        if (receiver.hang) {
          receiver.calls.push({ path: req.url ?? '', headers: req.headers, body, answer: 0 });
          return;
        }
        let answer = 200;
        if (receiver.keys.length > 0) {
          const check = verifyBranchCall(
            receiver.keys,
            { phase: body.phase, gid: body.gid, branchId: body.branchId, payloadText: payloadText(body.payload) },
            req.headers[SIGNATURE_HEADERS.signature] as string | undefined,
            req.headers[SIGNATURE_HEADERS.timestamp] as string | undefined,
            60_000,
          );
          if (!check.ok) answer = 401;
        }
        if (answer === 200 && receiver.failPaths.has(req.url ?? '')) answer = receiver.failStatus;
        if (answer === 200 && receiver.failFirstOfEach && receiver.callsFor(body.gid).length === 0) answer = receiver.failStatus;
        if (answer === 200 && receiver.failTimes > 0) {
          receiver.failTimes--;
          answer = receiver.failStatus;
        }
        receiver.calls.push({ path: req.url ?? '', headers: req.headers, body, answer });
        res.writeHead(answer, { 'content-type': 'application/json' });
        res.end(answer === 200 ? '{}' : JSON.stringify({ error: answer === 401 ? 'SIGNATURE_INVALID' : 'BROKEN' }));
      });
    });
    return receiver;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  callsFor(gid: string): ReceivedCallback[] {
    return this.calls.filter((c) => c.body.gid === gid);
  }

  /** Waits until `gid` has been answered 200 `count` times. */
  waitForDelivery(gid: string, count = 1, timeoutMs = 20_000): Promise<ReceivedCallback[]> {
    return eventually(
      () => {
        const ok = this.callsFor(gid).filter((c) => c.answer === 200);
        return ok.length >= count ? ok : undefined;
      },
      { timeoutMs, what: `${count} delivered callback(s) of ${gid}` },
    );
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
