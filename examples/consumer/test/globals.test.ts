// The explicit import style: `expect` from @jest/globals carries the matchers' types too.
import { expect, test } from '@jest/globals';
import { modelPath } from './models';

test('matchers are typed on @jest/globals expect', async () => {
  const model = modelPath('transformer_encoder.onnx');
  await expect(model).toBeBatchInvariant(1e-5);
  await expect(model).toBeDeterministic();
});

test('option types are checked', async () => {
  const model = modelPath('embedding_cnn.onnx');
  // @ts-expect-error batch sizes are numbers: this line fails type-checking if the types are lost
  const wrong = () => expect(model).toBeBatchInvariant({ batchSizes: ['eight'] });
  await expect(wrong()).rejects.toThrow("batch size \"eight\" is not");
});

test('describeProviders is importable from batchproof/matchers', () => {
  // Types and runtime both resolve the subpath entry.
  const { describeProviders } = require('batchproof/matchers') as typeof import('batchproof/matchers');
  expect(typeof describeProviders).toBe('function');
});
