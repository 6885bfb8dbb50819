/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  // Registers batchproof's matchers and lets onnxruntime-node work inside Jest's realm.
  setupFilesAfterEnv: ['batchproof/jest'],
};
