#!/usr/bin/env node
/** Ships the .proto files (libs/tcc-client/src/protocol/proto) next to every built app. */
const fs = require('node:fs');
const path = require('node:path');
const { APPS, root } = require('./apps');

const source = path.join(root, 'libs', 'tcc-client', 'src', 'protocol', 'proto');
for (const app of APPS) {
  const dist = path.join(root, 'dist', 'apps', app.name);
  if (!fs.existsSync(dist)) continue;
  fs.cpSync(source, path.join(dist, 'proto'), { recursive: true });
}
