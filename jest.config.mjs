import { readFileSync } from 'node:fs';

// One swc configuration serves the build and the tests, so what is tested is what runs.
const swc = JSON.parse(readFileSync(new URL('./.swcrc', import.meta.url), 'utf8'));
delete swc.$schema;

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { ...swc, swcrc: false }] },
  // ESM sources import siblings as './x.js'; jest resolves them to the .ts file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
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
