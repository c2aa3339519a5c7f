/**
 * The participant caller reads at most MAX_ANSWER_BYTES of an answer (libs/tcc-client caller): real
 * HTTP and gRPC participants in this process answer with bodies far over the limit, or never end
 * theirs, and the caller's outcome, error text, bytes actually sent and time taken are checked.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { Server as GrpcServer, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { MAX_ANSWER_BYTES, type BranchCallBody } from '@tcc/client';
import { GrpcChannels, ParticipantCaller } from '@tcc/client/caller';
import { participantMethods } from '@tcc/client/grpc/grpc.messages';

const HUGE_BYTES = 400 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'x');

/** Streams `total` bytes that start with `head`, one reused chunk at a time, stopping when the peer goes away. */
function hugeBody(head: string, total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const chunk = sent === 0 ? Buffer.concat([Buffer.from(head), CHUNK]).subarray(0, CHUNK.length) : CHUNK;
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

interface Answer {
  status: number;
  /** 'huge': a body of HUGE_BYTES starting with `head`; 'endless': headers, then a byte every 200 ms, never finished. */
  body: 'huge' | 'endless';
  head?: string;
}

class AnsweringParticipant {
  /** Per answer: resolves when its response closed, with the body bytes handed to the socket by then. */
  readonly closed: Array<Promise<number>> = [];
  answer: Answer = { status: 500, body: 'huge' };
  private constructor(private readonly server: Server) {}

  static async start(): Promise<AnsweringParticipant> {
    const server = createServer();
    const participant = new AnsweringParticipant(server);
    server.on('request', (req, res) => {
      req.resume();
      req.on('end', () => participant.respond(res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return participant;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/branch`;
  }

  private respond(res: ServerResponse): void {
    const { status, body, head = '' } = this.answer;
    let written = 0;
    this.closed.push(new Promise((resolve) => res.on('close', () => resolve(written))));
    if (body === 'huge') {
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': String(HUGE_BYTES) });
      const source = hugeBody(head, HUGE_BYTES);
      // pipe() honours backpressure: a chunk is only read when the socket took the last one.
      source.on('data', (chunk: Buffer) => (written += chunk.length));
      source.pipe(res);
      res.on('close', () => source.destroy());
      return;
    }
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.write(head);
    const timer = setInterval(() => res.write('.'), 200);
    res.on('close', () => clearInterval(timer));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const body = (phase: BranchCallBody['phase']): BranchCallBody => ({ gid: 'limits-g1', branchId: 'b1', phase, payload: { n: 1 } });

describe('participant answers are read up to MAX_ANSWER_BYTES', () => {
  let participant: AnsweringParticipant;
  let channels: GrpcChannels;
  let caller: ParticipantCaller;

  beforeAll(async () => {
    participant = await AnsweringParticipant.start();
    channels = new GrpcChannels();
    caller = new ParticipantCaller(channels);
  });

  afterAll(async () => {
    await caller?.onApplicationShutdown();
    channels?.close();
    await participant?.close();
  });

  it('is 64 KiB', () => {
    expect(MAX_ANSWER_BYTES).toBe(65_536);
  });

  it.each(['confirm', 'cancel'] as const)('a %s answered 500 with a 400 MB body fails with the start of the body, reading little of it', async (phase) => {
    participant.answer = { status: 500, body: 'huge', head: 'database on fire: ' };
    const heapBefore = process.memoryUsage().heapUsed;
    const started = Date.now();
    const result = await caller.call({ protocol: 'http', target: participant.url, body: body(phase), timeoutMs: 20_000 });
    const elapsed = Date.now() - started;
    expect(result.outcome).toBe('failed');
    const error = result.outcome === 'failed' ? result.error : '';
    expect(error.startsWith('HTTP 500: database on fire: xxxx')).toBe(true);
    expect(error.endsWith(`… (answer larger than ${MAX_ANSWER_BYTES} bytes)`)).toBe(true);
    expect(error.length).toBeLessThan(400);
    expect(elapsed).toBeLessThan(10_000);
    // The connection was dropped: the participant could not push the rest of its 400 MB.
    const written = await waitForClose(participant);
    expect(written).toBeLessThan(HUGE_BYTES / 10);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    console.log(`${phase}: 500 with a 400 MB body -> failed in ${elapsed} ms, the participant got ${(written / 1024 / 1024).toFixed(1)} MB out`);
  });

  it('a try refused (409) with a body over the limit is refused by its status, the cut body not parsed', async () => {
    participant.answer = { status: 409, body: 'huge', head: '{"code":"INSUFFICIENT_FUNDS","pad":"' };
    const result = await caller.call({ protocol: 'http', target: participant.url, body: body('try'), timeoutMs: 20_000 });
    expect(result).toMatchObject({ outcome: 'refused', statusCode: 409, code: 'HTTP_409', body: undefined });
    expect(result.outcome === 'refused' && result.error.endsWith(`(answer larger than ${MAX_ANSWER_BYTES} bytes)`)).toBe(true);
    expect(await waitForClose(participant)).toBeLessThan(HUGE_BYTES / 10);
  });

  it('a try answered 200 with a body over the limit fails (the initiator cannot use a cut answer)', async () => {
    participant.answer = { status: 200, body: 'huge', head: '{"ok":"' };
    const result = await caller.call({ protocol: 'http', target: participant.url, body: body('try'), timeoutMs: 20_000 });
    expect(result.outcome).toBe('failed');
    expect(result.outcome === 'failed' && result.error).toMatch(/^HTTP 200: \{"ok":"x+… \(answer larger than 65536 bytes\)$/);
    expect(await waitForClose(participant)).toBeLessThan(HUGE_BYTES / 10);
  });

  it('a confirm answered 200 with a huge body is done, and the rest of the body is not read', async () => {
    participant.answer = { status: 200, body: 'huge' };
    const result = await caller.call({ protocol: 'http', target: participant.url, body: body('confirm'), timeoutMs: 20_000 });
    expect(result.outcome).toBe('done');
    expect(await waitForClose(participant)).toBeLessThan(HUGE_BYTES / 10);
  });

  it.each([
    ['confirm', 500],
    ['try', 200],
  ] as const)('a %s answer (%i) whose body never ends fails at the call deadline', async (phase, status) => {
    participant.answer = { status, body: 'endless', head: 'starting' };
    const started = Date.now();
    const result = await caller.call({ protocol: 'http', target: participant.url, body: body(phase), timeoutMs: 1_500 });
    const elapsed = Date.now() - started;
    expect(result).toEqual({ outcome: 'failed', error: 'no answer within 1500 ms' });
    expect(elapsed).toBeGreaterThanOrEqual(1_400);
    expect(elapsed).toBeLessThan(5_000);
    await waitForClose(participant);
  });

  describe('over gRPC', () => {
    let server: GrpcServer;
    let address: string;
    let replyBytes = 0;

    beforeAll(async () => {
      const method = participantMethods().Try;
      server = new GrpcServer();
      const definition = {
        Confirm: { ...method, path: '/test.Huge/Confirm' },
      } as unknown as ServiceDefinition;
      server.addService(definition, {
        Confirm: (_call: unknown, callback: (error: null, reply: { result: string }) => void) => callback(null, { result: 'r'.repeat(replyBytes) }),
      });
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
      );
      address = `127.0.0.1:${port}`;
    });

    afterAll(() => server?.forceShutdown());

    it('a reply over the limit is RESOURCE_EXHAUSTED: failed, not refused, for a try and a confirm', async () => {
      replyBytes = 8 * 1024 * 1024;
      for (const phase of ['try', 'confirm'] as const) {
        const result = await caller.call({ protocol: 'grpc', target: `${address}/test.Huge/Confirm`, body: body(phase), timeoutMs: 10_000 });
        expect(result).toEqual({ outcome: 'failed', error: `gRPC RESOURCE_EXHAUSTED: answer larger than ${MAX_ANSWER_BYTES} bytes` });
      }
    });

    it('a reply under the limit is read', async () => {
      replyBytes = 1_000;
      const result = await caller.call({ protocol: 'grpc', target: `${address}/test.Huge/Confirm`, body: body('try'), timeoutMs: 10_000 });
      expect(result).toEqual({ outcome: 'done', body: 'r'.repeat(1_000) });
    });
  });
});

/** The participant's latest answer, once its response closed: the body bytes it got out. */
function waitForClose(participant: AnsweringParticipant): Promise<number> {
  const closed = participant.closed.at(-1);
  if (!closed) throw new Error('the participant answered nothing');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the participant was still answering 15 s after the caller stopped reading')), 15_000);
  });
  return Promise.race([closed, timeout]).finally(() => clearTimeout(timer));
}
