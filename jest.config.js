/**
 * Unit tests run in-process; e2e tests start real processes against MariaDB and the embedded store.
 * Two projects: `mariadb` runs every spec with TCC_TEST_DB=mariadb; `postgres` runs the
 * coordinator's storage suites again with TCC_TEST_DB=postgres (test/support/on-*.ts), the one
 * switch that puts their test databases on the machine's PostgreSQL.
 */
/** Packages installed as ES modules only, which Jest's CommonJS runtime loads through a transform. */
const ESM_ONLY_PACKAGES = ['@nestjs', 'content-disposition'];

const base = {
  rootDir: '.',
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['@swc/jest'],
    // Packages that ship only ES modules (test/support/esm-packages.transform.js).
    [`/node_modules/(${ESM_ONLY_PACKAGES.join('|')})/.+\\.js$`]: '<rootDir>/test/support/esm-packages.transform.js',
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY_PACKAGES.join('|')})/)`],
  moduleNameMapper: {
    '^@tcc/client$': '<rootDir>/libs/tcc-client/src',
    '^@tcc/client/(.*)$': '<rootDir>/libs/tcc-client/src/$1',
    '^@tcc/service-kit$': '<rootDir>/libs/service-kit/src',
  },
};

/**
 * test/galera (a private three-node MariaDB Galera cluster of its own, test/galera/support) runs in
 * the `mariadb` project only: it is MariaDB by nature, so it is not among these.
 *
 * The suites whose coordinator keeps its state in the test server database: every spec that
 * creates one through test/support/test.database.ts or a private server. (test/client and the
 * example services' specs choose their participants' databases themselves, PostgreSQL among them.)
 */
const STORAGE_SUITES = [
  '<rootDir>/test/coordinator/**/*.spec.ts',
  '<rootDir>/test/replicas/**/*.spec.ts',
  '<rootDir>/test/operate/**/*.spec.ts',
  '<rootDir>/test/hostile/**/*.spec.ts',
  '<rootDir>/test/grpc/coordinator-api.spec.ts',
  '<rootDir>/test/grpc/mixed-branches.spec.ts',
  '<rootDir>/test/grpc/steps-api.spec.ts',
  '<rootDir>/test/callbacks/**/*.spec.ts',
  '<rootDir>/test/reconcile/**/*.spec.ts',
];

module.exports = {
  testTimeout: 120000,
  projects: [
    { ...base, displayName: 'mariadb', testMatch: ['<rootDir>/test/**/*.spec.ts'], setupFiles: ['<rootDir>/test/support/on-mariadb.ts'] },
    { ...base, displayName: 'postgres', testMatch: STORAGE_SUITES, setupFiles: ['<rootDir>/test/support/on-postgres.ts'] },
  ],
};
