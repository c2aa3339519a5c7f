/**
 * Jest's module runtime is CommonJS and cannot load a package that ships only ES modules (NestJS
 * 12, content-disposition 3). Node itself loads them through require(esm); under Jest, this
 * transform turns their files into CommonJS with swc. `import.meta.url`, which swc leaves as
 * written (invalid in CommonJS), becomes the file's own URL first: Nest uses it only for
 * createRequire(import.meta.url), to load optional packages from beside itself.
 */
const { pathToFileURL } = require('node:url');
const swcJest = require('@swc/jest');

const swc = swcJest.createTransformer({
  jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' },
  module: { type: 'commonjs' },
});

function withoutImportMeta(source, filename) {
  return source.includes('import.meta') ? source.replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(filename).href)) : source;
}

module.exports = {
  process(source, filename, options) {
    return swc.process(withoutImportMeta(source, filename), filename, options);
  },
  processAsync(source, filename, options) {
    return swc.processAsync(withoutImportMeta(source, filename), filename, options);
  },
  getCacheKey(source, filename, options) {
    return `${swc.getCacheKey(source, filename, options)}:esm-packages-1`;
  },
};
