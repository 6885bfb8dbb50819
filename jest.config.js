// onnxruntime's telemetry (1.29+, on by default outside CI) off in the suite's processes, as the
// CLI turns it off in its own: nothing recorded under the developer's ~/.cache/Microsoft.
// test/cli/telemetry.test.ts clears it for the runs that test the default.
process.env.ORT_DISABLE_TELEMETRY ??= '1';

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
