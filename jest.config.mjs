import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// One swc configuration serves the build and the tests, so what is tested is what runs.
const swc = JSON.parse(readFileSync(new URL('./.swcrc', import.meta.url), 'utf8'));
delete swc.$schema;

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { ...swc, swcrc: false }] },
  moduleNameMapper: {
    // ESM sources import siblings as './x.js'; jest resolves them to the .ts file.
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // Two CommonJS packages of the Fastify stack require() ESM-only packages: @fastify/middie needs
    // path-to-regexp 9 and @fastify/static (Swagger UI's files) content-disposition 3. Node >= 20.19
    // loads them (require(esm)); jest's module runtime cannot before Node 24.9 (jestjs/jest#15275),
    // so tests give them the CommonJS majors Express uses: path-to-regexp 8 (the same `parse` and
    // `pathToRegexp`), content-disposition 2 (only used by `reply.download()`, which nothing calls).
    // Real Node, in `npm start` and the packed-consumer test, loads the real ones.
    '^path-to-regexp$': require.resolve('path-to-regexp'),
    '^content-disposition$': require.resolve('content-disposition'),
  },
  // '@redkit/<lib>' resolves to the lib's TypeScript source through this export condition.
  testEnvironmentOptions: { customExportConditions: ['redkit-source', 'node', 'node-addons'] },
  testMatch: ['<rootDir>/{libs,apps,test}/**/*.spec.ts'],
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
  // Nest's loggers stay silent unless REDKIT_TEST_LOGS=1, so that a green run is quiet; the reply
  // parser's buffer-shrinking timer does not hold a jest worker past its exit deadline.
  setupFiles: ['<rootDir>/test/harness/quiet-logs.ts', '<rootDir>/test/harness/reply-parser-timer.ts'],
  testTimeout: 30_000,
  maxWorkers: 2,
};
