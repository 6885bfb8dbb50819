/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  // Registers batchproof's matchers and lets onnxruntime-node work inside Jest's realm.
  setupFilesAfterEnv: ['batchproof/jest'],
  // One HTML page with every batchproof matcher's report of the run, from every worker: test
  // names and pass/fail at the top, each failure linked to its charts.
  reporters: ['default', ['batchproof/reporter', { outputFile: 'batchproof-report.html' }]],
};
