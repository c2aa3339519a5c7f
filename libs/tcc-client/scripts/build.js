#!/usr/bin/env node
/**
 * Builds the package with tsc (CommonJS + .d.ts) into dist/, then copies the .proto files beside
 * the protocol module, where protoFiles() finds them, writes the barrier table's SQL of each dialect
 * as dist/sql/tcc-barrier.<dialect>.sql (`@tcc/client/sql/tcc-barrier.postgres.sql`) from
 * barrierMigrationSql, the function the TypeORM migration runs too, and checks that every entry package.json
 * names (`.`, `./protocol`, `./caller`, `./sql`, ...) was built. Run by `npm run build` at the top
 * and by `npm pack` here (prepack).
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

// An entry added to package.json whose module tsc did not emit would only fail in a user's install.
const manifest = require(join(here, 'package.json'));
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
