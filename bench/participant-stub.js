#!/usr/bin/env node
/**
 * Participant stub for the benchmark: answers 200 `{}` to every POST (try, confirm, cancel, saga
 * action and compensate, message delivery alike) on 127.0.0.1, over keep-alive, and counts what it
 * received by path so the benchmark can check that every committed transaction had its branches
 * confirmed (saga: its actions, message: its deliveries). `GET /stats` answers the counts.
 *
 * Runs in its own process so that its CPU is not charged to the coordinator or the load driver.
 * Usage: node bench/participant-stub.js [--port N] (0, the default, picks a free port). Prints one
 * JSON line `{"port":N}` on stdout when listening. Stops on SIGTERM / SIGINT.
 */
'use strict';
const http = require('node:http');

const portArg = process.argv.indexOf('--port');
const port = portArg >= 0 ? Number(process.argv[portArg + 1]) : Number(process.env.STUB_PORT || 0);
const counts = Object.create(null);
const reply = Buffer.from('{}');

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(counts));
    return;
  }
  // Drain the body before answering so the connection stays reusable.
  req.on('data', () => {});
  req.on('end', () => {
    if (req.method === 'POST') {
      const key = req.url || '/';
      counts[key] = (counts[key] || 0) + 1;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': reply.length });
      res.end(reply);
    } else {
      res.writeHead(405, { 'content-type': 'application/json' });
      res.end('{"error":"method not allowed"}');
    }
  });
});
// Longer than any client pool's idle timeout, so the server never closes a socket a client is
// about to reuse.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.maxRequestsPerSocket = 0;

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The benchmark holds our stdin; when it dies without stopping us, stdin closes and we go too.
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
