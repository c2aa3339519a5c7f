#!/usr/bin/env node
/**
 * The files a built app reads beside its bundle (webpack bundles only code): the .proto files
 * (libs/tcc-client/src/protocol/proto) next to every built app, and the coordinator's admin page
 * (apps/coordinator/src/admin/page) in its admin/page. Done here rather than by nest-cli.json's
 * "assets", whose destination moved with the tsconfig's rootDir in Nest CLI 12.
 */
const fs = require('node:fs');
const path = require('node:path');
const { APPS, root } = require('./apps');

const protos = path.join(root, 'libs', 'tcc-client', 'src', 'protocol', 'proto');
const adminPage = path.join(root, 'apps', 'coordinator', 'src', 'admin', 'page');
for (const app of APPS) {
  const dist = path.join(root, 'dist', 'apps', app.name);
  if (!fs.existsSync(dist)) continue;
  fs.cpSync(protos, path.join(dist, 'proto'), { recursive: true });
  if (app.name === 'coordinator') {
    for (const file of ['admin-page.html', 'admin-page.css', 'admin-page.js']) {
      fs.cpSync(path.join(adminPage, file), path.join(dist, 'admin', 'page', file));
    }
  }
}
