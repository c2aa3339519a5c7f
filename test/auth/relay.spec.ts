/**
 * The attack that opened issue 16, as real servers: with signing on in all three apps and API keys
 * on the coordinator, an on-path relay between the order service and the account service sees each
 * account-freeze try, and with no key of its own sends the commit of that gid to the coordinator
 * (before forwarding, and racing it). The coordinator refuses it, the over-limit order is CANCELLED
 * and the balance untouched, the within-limit one PAID once. Then the protocol violation the relay
 * used to cause, made directly: a confirm for a branch whose try never happened runs no business
 * method and flags the transaction for attention with its reason within seconds (admin, metric,
 * webhook).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import type { TransactionView } from '@tcc/client';
import { randomId } from '../client/support/databases';
import { readBody } from '../client/support/faulty-proxy';
import { Http } from '../client/support/http';
import { startStack, type Stack } from '../client/support/stack';
import { CoordinatorApi } from '../support/coordinator.api';
import { eventually } from '../support/wait';

const SIGNING = { TCC_SIGNING_KEYS: 'relay-spec-signing-key-0123456789' };
const ADMIN_TOKEN = 'relay-spec-admin-token-0123456789';

interface Relay {
  url: string;
  /** What the coordinator answered each commit the relay sent, by gid. */
  commits: Map<string, number>;
  mode: 'before' | 'race';
  close(): Promise<void>;
}

/** Forwards everything to `target`; on a try, commits its gid at `coordinatorUrl` without a key, first or racing the try. */
async function startRelay(target: string, coordinatorUrl: () => string): Promise<Relay> {
  const agent = new Agent({ connections: 64, keepAliveTimeout: 4_000 });
  const relay: Relay = { url: '', commits: new Map(), mode: 'before', close: async () => undefined };
  const commit = async (gid: string): Promise<void> => {
    const res = await request(`${coordinatorUrl()}/v1/transactions/${encodeURIComponent(gid)}/commit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"wait":false}',
      dispatcher: agent,
    });
    await res.body.dump();
    relay.commits.set(gid, res.statusCode);
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      let stolen: Promise<void> = Promise.resolve();
      if (/\/try$/.test(req.url ?? '')) {
        const gid = String(req.headers['x-tcc-gid']);
        stolen = commit(gid);
        if (relay.mode === 'before') await stolen;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name)) headers[name] = value;
      }
      const answer = await request(target + (req.url ?? '/'), { method: 'POST', headers, body, dispatcher: agent });
      const text = await answer.body.text();
      await stolen;
      res.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type'] ?? 'application/json') }).end(text);
    })().catch((error: unknown) => res.writeHead(502).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  relay.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await agent.close();
  };
  return relay;
}

describe('an on-path relay without a key cannot decide a transaction (signing on in all three apps)', () => {
  let stack: Stack;
  let relay: Relay | undefined;
  let webhook: Server;
  const alerts: Record<string, unknown>[] = [];
  const http = new Http();
  let api: CoordinatorApi;

  beforeAll(async () => {
    webhook = createServer((req, res) => {
      void readBody(req).then((text) => {
        alerts.push(JSON.parse(text) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    let coordinatorUrl = '';
    stack = await startStack({
      store: 'mariadb',
      coordinatorEnv: {
        ...SIGNING,
        TCC_ADMIN_TOKEN: ADMIN_TOKEN,
        TCC_ALERT_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/alerts`,
      },
      accountEnv: SIGNING,
      orderEnv: SIGNING,
      accountUrlFor: async (account) => {
        relay = await startRelay(account.url, () => coordinatorUrl);
        return relay.url;
      },
    });
    coordinatorUrl = stack.coordinatorUrl;
    api = new CoordinatorApi(stack.coordinatorUrl);
  });

  afterAll(async () => {
    await stack?.close();
    await relay?.close();
    await api?.close();
    await http.close();
    webhook?.close();
  });

  async function account(balance: number): Promise<string> {
    const id = `victim-${randomId(6)}`;
    expect((await http.post(`${stack.account.url}/accounts`, { id, balance })).status).toBe(201);
    return id;
  }

  it.each([
    ['before forwarding', 'before'],
    ['racing', 'race'],
  ] as const)('a commit the relay sends %s the try: refused 401, the over-limit order CANCELLED, the balance untouched', async (_, mode) => {
    relay!.mode = mode;
    const id = await account(1_000);
    const placed = await http.post(`${stack.order.url}/orders`, { accountId: id, amount: 5_000 });
    expect(placed.status).toBe(409);
    expect(placed.body).toMatchObject({ status: 'CANCELLED', reason: 'INSUFFICIENT_FUNDS' });
    const gid = String(placed.body.gid);
    expect(relay!.commits.get(gid)).toBe(401);
    expect((await http.get(`${stack.order.url}/orders/${String(placed.body.id)}`)).body).toMatchObject({ status: 'CANCELLED' });
    expect((await api.waitForStatus(gid, ['ROLLED_BACK'])).branches.every((b) => b.status === 'CANCELLED')).toBe(true);
    expect((await http.get(`${stack.account.url}/accounts/${id}`)).body).toEqual({ id, balance: 1_000, frozen: 0, available: 1_000, points: 0 });
  });

  it('an order within the balance is still PAID exactly once while the relay keeps trying', async () => {
    relay!.mode = 'race';
    const id = await account(1_000);
    const placed = await http.post(`${stack.order.url}/orders`, { accountId: id, amount: 400 });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ status: 'PAID' });
    expect(relay!.commits.get(String(placed.body.gid))).toBe(401);
    // Its loyalty points arrive as a message after the payment: the balance is exact at once.
    expect((await http.get(`${stack.account.url}/accounts/${id}`)).body).toMatchObject({ id, balance: 600, frozen: 0, available: 600 });
  });

  it('a confirm for a branch whose try never happened runs nothing and is flagged for attention at once, with its reason', async () => {
    const id = await account(1_000);
    const begun = await api.begin({ timeoutMs: 30_000 });
    const gid = begun.body.gid;
    const target = `${stack.account.url}/tcc/account-freeze`;
    const registered = await api.register(gid, { branchId: 'freeze', protocol: 'http', confirm: `${target}/confirm`, cancel: `${target}/cancel`, payload: { accountId: id, amount: 300 } });
    expect(registered.status).toBe(201);
    // No try: the commit is a decision the participant never prepared for.
    expect((await api.commit(gid, { wait: false })).body.status).toBe('COMMITTING');

    const admin = await eventually(
      async () => {
        const res = await api.send<{ attentionAt: string | null; attentionReason: string | null; branches: TransactionView['branches'] }>({
          method: 'GET',
          path: `/admin/v1/transactions/${gid}`,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        return res.body.attentionAt ? res.body : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: `${gid} flagged for attention` },
    );
    expect(admin.attentionReason).toMatch(/^BRANCH_NOT_TRIED: branch freeze/);
    expect(admin.branches[0]).toMatchObject({ status: 'REGISTERED', lastError: expect.stringContaining('BRANCH_NOT_TRIED') });
    await eventually(async () => alerts.find((a) => a.gid === gid), { timeoutMs: 15_000, intervalMs: 100, what: 'the attention webhook' });
    expect(alerts.find((a) => a.gid === gid)).toMatchObject({ gid, status: 'COMMITTING', branchId: 'freeze', reason: expect.stringMatching(/^BRANCH_NOT_TRIED/) });
    // Nothing ran: no money moved, and the coordinator is not hammering the participant (slowest retry pace).
    expect((await http.get(`${stack.account.url}/accounts/${id}`)).body).toEqual({ id, balance: 1_000, frozen: 0, available: 1_000, points: 0 });
    const metrics = await request(`${stack.coordinatorUrl}/metrics`);
    expect(await metrics.body.text()).toMatch(/tcc_attention_alerts_total\{reason="BRANCH_NOT_TRIED"\} [1-9]/);
  });
});
