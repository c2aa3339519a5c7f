/** Unit tests run in-process; e2e tests start real processes against MariaDB and the embedded store. */
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest'],
    // content-disposition 3 (through @fastify/static, behind the OpenAPI page) ships only ES
    // modules, which Jest's CommonJS runtime cannot load untransformed.
    '/node_modules/content-disposition/.+\\.js$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  moduleNameMapper: {
    '^@tcc/client$': '<rootDir>/libs/tcc-client/src',
    '^@tcc/client/(.*)$': '<rootDir>/libs/tcc-client/src/$1',
    '^@tcc/service-kit$': '<rootDir>/libs/service-kit/src',
  },
  testTimeout: 120000,
};
