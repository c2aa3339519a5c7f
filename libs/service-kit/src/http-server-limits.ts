/**
 * Bounds on how long a client may take to send a request to one of our HTTP servers (headers, then
 * the whole request), so slow or stalled clients cannot hold sockets until file descriptors run out.
 */

/** Milliseconds a client has to send its request headers, and the whole request. */
export interface HttpServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

/**
 * The Node http(s).Server properties the limits set (Fastify's `app.getHttpServer()` is one).
 * `connectionsCheckingInterval` is a documented server option that @types/node types only as a
 * createServer option, hence optional here.
 */
export interface LimitableHttpServer {
  headersTimeout: number;
  requestTimeout: number;
  connectionsCheckingInterval?: number;
  readonly listening: boolean;
}

/** How often Node looks for connections past their timeout, at most: a late close is late by under this. */
const CHECK_INTERVAL_MAX_MS = 1_000;

/**
 * Applies the limits to the Node server under Fastify (http or https alike); call it after
 * NestFactory.create and before listen, because Node starts its checking timer when it listens.
 *
 * Node answers 408 and closes a connection whose headers (or whole request) have not arrived in
 * time, including one that sent nothing at all. Only receiving is bounded: once a request is read,
 * the socket stays open however long our answer takes (a coordinator commit may wait
 * TCC_COMMIT_WAIT_MS). That is why Fastify's `connectionTimeout` (an idle-socket timeout, which
 * would also cut a client waiting for a slow answer) stays 0, and why `requestTimeout` is set here
 * rather than as a Fastify option: one place sets the three values that must agree.
 *
 * Node checks every `connectionsCheckingInterval` (default 30 s, which would let a 2 s limit take
 * 32 s); it is set here to a quarter of the headers timeout, at most 1 s, so a connection closes
 * within its timeout plus a second (a fraction of that for short timeouts).
 * A headers timeout longer than the request timeout means the request timeout (it covers headers too).
 */
export function applyHttpServerLimits(server: LimitableHttpServer, limits: HttpServerLimits): void {
  const { headersTimeoutMs, requestTimeoutMs } = limits;
  for (const [name, value] of Object.entries({ headersTimeoutMs, requestTimeoutMs })) {
    if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer of milliseconds, not ${value}`);
  }
  if (server.listening) throw new Error('applyHttpServerLimits must run before the server listens (Node reads the checking interval then)');
  const headers = Math.min(headersTimeoutMs, requestTimeoutMs);
  server.requestTimeout = requestTimeoutMs;
  server.headersTimeout = headers;
  server.connectionsCheckingInterval = Math.min(CHECK_INTERVAL_MAX_MS, Math.max(50, Math.floor(headers / 4)));
}
