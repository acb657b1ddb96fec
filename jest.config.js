/** @type {import('ts-jest').JestConfigWithTsJest} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  // NodeNext wants './x.js' specifiers in source; map them back to the .ts file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', useESM: true }]
  },
  clearMocks: true,
  // Integration tests start real servers; the lab has its own per-service timeouts.
  testTimeout: 120000,
  collectCoverageFrom: ['src/**/*.ts', '!src/actions/*/index.ts'],
  coverageReporters: ['text-summary', 'json-summary']
}
