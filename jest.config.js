/** Unit tests run in-process; e2e tests start real processes against MariaDB and the embedded store. */
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  moduleNameMapper: {
    '^@tcc/client$': '<rootDir>/libs/tcc-client/src',
    '^@tcc/client/(.*)$': '<rootDir>/libs/tcc-client/src/$1',
  },
  testTimeout: 120000,
};
