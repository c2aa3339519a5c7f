#!/usr/bin/env node
/**
 * Builds the package with tsc (CommonJS + .d.ts) into dist/, then copies the .proto files beside
 * the protocol module, where protoFiles() finds them. Run by `npm run build` at the top and by
 * `npm pack` here (prepack).
 */
const { execFileSync } = require('node:child_process');
const { cpSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const here = join(__dirname, '..');
const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(here, 'tsconfig.build.json')], { stdio: 'inherit' });
cpSync(join(here, 'src/protocol/proto'), join(dist, 'protocol/proto'), { recursive: true });
console.log('@tcc/client built in', dist);
