/**
 * A require hook for child processes a spec runs straight from TypeScript source
 * (`node -r test/support/swc-register.js some.app.ts`): each `.ts` file is compiled on load by
 * @swc/core with the repository's .swcrc settings (legacy decorators with metadata, CommonJS), and
 * `@tcc/client`, `@tcc/client/*` and `@tcc/service-kit` resolve to the libraries' sources, as
 * jest.config.js maps them for the specs. Packages in node_modules load as they are (NestJS 12's
 * ES modules through Node's require(esm), Node 20.19 and later).
 */
'use strict';
const Module = require('node:module');
const { readFileSync } = require('node:fs');
const { join, sep } = require('node:path');
const { transformSync } = require('@swc/core');

const ROOT = join(__dirname, '..', '..');
const { jsc, module: moduleOptions } = JSON.parse(readFileSync(join(ROOT, '.swcrc'), 'utf8'));
// Aliases are resolved below, so swc's own path rewriting (which wants an absolute baseUrl) is not used.
const { paths: _paths, baseUrl: _baseUrl, ...compile } = jsc;

const ALIASES = [
  ['@tcc/client', join(ROOT, 'libs/tcc-client/src')],
  ['@tcc/service-kit', join(ROOT, 'libs/service-kit/src')],
];

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  for (const [alias, directory] of ALIASES) {
    if (request === alias || request.startsWith(`${alias}/`)) {
      return resolveFilename.call(this, directory + request.slice(alias.length), parent, ...rest);
    }
  }
  return resolveFilename.call(this, request, parent, ...rest);
};

Module._extensions['.ts'] = function (module, filename) {
  if (filename.includes(`${sep}node_modules${sep}`)) throw new Error(`swc-register: not compiling ${filename} from node_modules`);
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    swcrc: false,
    configFile: false,
    jsc: compile,
    module: moduleOptions,
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};

// Stack traces point into the .ts sources.
process.setSourceMapsEnabled(true);
