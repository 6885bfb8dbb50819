/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  // *.lifecycle.js, not *.test.js: the repository's own Jest run must not pick these files up.
  testMatch: ['**/*.lifecycle.js'],
  transform: {},
  // The only wiring batchproof needs: matchers, and obsolete embedding baselines in Jest's summary.
  setupFilesAfterEnv: ['batchproof/jest'],
};
