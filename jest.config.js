/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/matchers', '<rootDir>/examples'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/examples/consumer/', '/examples/transformers-js/', '/examples/vitest-consumer/'],
  // The project's own entry, exactly as users wire it: registers the matchers and shares
  // Node's typed-array constructors with the test realm (see matchers/jest.ts).
  setupFilesAfterEnv: ['<rootDir>/matchers/jest.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
  // The examples import 'batchproof' as users do; here that is the source itself.
  moduleNameMapper: { '^batchproof$': '<rootDir>/src/index.ts' },
  testTimeout: 60000,
};
