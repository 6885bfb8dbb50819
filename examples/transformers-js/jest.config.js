/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  // Registers batchproof's matchers and lets onnxruntime-node (which transformers.js runs the
  // model with) work inside Jest's realm.
  setupFilesAfterEnv: ['batchproof/jest'],
  testTimeout: 60000,
};
