#!/usr/bin/env node
/**
 * Builds the package with tsc (CommonJS + .d.ts) into dist/, then copies the .proto files beside
 * the protocol module, where protoFiles() finds them, writes the barrier table's SQL of each dialect
 * as dist/sql/tcc-barrier.<dialect>.sql (`@tcc/client/sql/tcc-barrier.postgres.sql`) from
 * barrierMigrationSql, the function the TypeORM migration runs too, writes the ES module entry of
 * every entry point, and checks that every entry package.json names (`.`, `./protocol`, `./caller`,
 * `./sql`, ...) was built. Run by `npm run build` at the top and by `npm pack` here (prepack).
 *
 * The ES module entries (`import` condition: index.mjs and index.d.mts beside each index.js) only
 * re-export the CommonJS build. There is one copy of the library's code, whichever way an app loads
 * it, so its classes and DI tokens are the same objects for `import` and `require` (no dual-package
 * hazard), and the library's own require('@nestjs/common') gets the app's Nest: NestJS 11 is
 * CommonJS, and NestJS 12, which ships only ES modules, is loaded through Node's require(esm)
 * (Node 20.19 and later), the same module instance the app imported.
 */
const { execFileSync } = require('node:child_process');
const { cpSync, existsSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const here = join(__dirname, '..');
const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(here, 'tsconfig.build.json')], { stdio: 'inherit' });
cpSync(join(here, 'src/protocol/proto'), join(dist, 'protocol/proto'), { recursive: true });

const { barrierMigrationSql } = require(join(dist, 'barrier/barrier-table.sql.js'));
const { SQL_DIALECTS } = require(join(dist, 'sql/sql.dialect.js'));
for (const dialect of Object.keys(SQL_DIALECTS)) {
  const header = `-- The tcc barrier table on ${dialect} (@tcc/client ${require(join(here, 'package.json')).version}): barrierMigrationSql('${dialect}').\n`;
  writeFileSync(join(dist, 'sql', `tcc-barrier.${dialect}.sql`), header + barrierMigrationSql(dialect).map((statement) => `${statement};\n`).join('\n'));
}

const manifest = require(join(here, 'package.json'));
for (const [entry, conditions] of Object.entries(manifest.exports)) {
  if (typeof conditions !== 'object' || !conditions.import) continue;
  const commonjs = conditions.require.default;
  const relative = `./${commonjs.split('/').pop()}`;
  if (!existsSync(join(here, commonjs))) throw new Error(`@tcc/client: ${entry} names ${commonjs}, which tsc did not emit`);
  const header = `// The ES module entry of @tcc/client${entry === '.' ? '' : entry.slice(1)}: the CommonJS build, re-exported (see scripts/build.js).\n`;
  writeFileSync(join(here, conditions.import.default), `${header}export * from '${relative}';\n`);
  writeFileSync(join(here, conditions.import.types), `${header}export * from '${relative}';\n`);
}

// An entry added to package.json whose module tsc did not emit would only fail in a user's install.
const targets = [manifest.main, manifest.types];
const collect = (value) => {
  if (typeof value === 'string') targets.push(value);
  else if (value && typeof value === 'object') Object.values(value).forEach(collect);
};
collect(manifest.exports);
collect(manifest.typesVersions);
const missing = targets.filter((target) => !target.includes('*') && !existsSync(join(here, target)));
if (missing.length > 0) throw new Error(`@tcc/client: package.json names entries the build did not emit: ${missing.join(', ')}`);
console.log('@tcc/client built in', dist);
