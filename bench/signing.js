#!/usr/bin/env node
/**
 * `node bench/signing.js`: the cost of signing and of checking one participant call (HMAC-SHA256
 * over a typical confirm), in microseconds per call, from the built client library
 * (libs/tcc-client/dist: `npm run build` first). Three rounds of 100,000 calls each.
 */
'use strict';
const path = require('node:path');
const { signBranchCall, verifyBranchCall, payloadText } = require(path.join(__dirname, '../libs/tcc-client/dist/index.js'));

const fields = {
  phase: 'confirm',
  gid: '01a231f3-7d28-7308-b2ea-473038ddfaeb',
  branchId: 'account-freeze',
  payloadText: payloadText({ accountId: 'buyer-17', amount: 2500 }),
};
const keys = ['bench-key-0123456789abcdef', 'old-bench-key-0123456789ab'];
const N = 100_000;
for (let round = 1; round <= 3; round++) {
  let started = process.hrtime.bigint();
  let headers;
  for (let i = 0; i < N; i++) headers = signBranchCall(keys[0], fields);
  const sign = Number(process.hrtime.bigint() - started) / N / 1000;
  started = process.hrtime.bigint();
  for (let i = 0; i < N; i++) verifyBranchCall(keys, fields, headers['x-tcc-signature'], headers['x-tcc-timestamp'], 300_000);
  const verify = Number(process.hrtime.bigint() - started) / N / 1000;
  console.log(`round ${round}: sign ${sign.toFixed(2)} µs per call, check ${verify.toFixed(2)} µs per call`);
}
