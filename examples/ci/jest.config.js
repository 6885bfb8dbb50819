/**
 * The Jest config of a project whose reproducibility suite runs in CI (see reproducibility.yml).
 * JUnit XML comes from the jest-junit reporter (npm install --save-dev jest-junit); its output
 * place is set by JEST_JUNIT_* variables in the workflow, so local runs write nothing extra.
 * @type {import('jest').Config}
 */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  // Registers batchproof's matchers and lets onnxruntime-node work inside Jest's realm.
  setupFilesAfterEnv: ['batchproof/jest'],
  // A GPU session takes a while to start; a sweep of batch sizes too.
  testTimeout: 120000,
  reporters: process.env.CI ? ['default', 'jest-junit'] : ['default'],
};
