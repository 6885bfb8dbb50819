// No import of batchproof here: vitest.config.ts's setupFiles ['batchproof/vitest'] registered the
// matchers, and tsconfig's types ['batchproof/vitest'] typed them on Vitest's expect.
import { describe, expect, test } from 'vitest';
import { embed, model } from './models';

describe('the eval-mode embedding CNN', () => {
  const cnn = model('embedding_cnn.onnx');

  test('is batch invariant, bitwise', async () => {
    await expect(cnn).toBeBatchInvariant({ tolerance: 'exact', batchSizes: [1, 2, 8] });
  });

  test('is deterministic', async () => {
    await expect(cnn).toBeDeterministic({ repeats: 3 });
  });

  test('matches its committed embedding baseline', async () => {
    expect(await embed(cnn)).toMatchEmbeddingSnapshot();
  });
});

describe('the same CNN exported with BatchNorm in training mode', () => {
  const leaky = model('embedding_cnn_train_bn.onnx');

  test('is not batch invariant', async () => {
    await expect(leaky).not.toBeBatchInvariant({ batchSizes: [1, 8] });
  });

  test('fails toBeBatchInvariant, naming leakage', async () => {
    await expect(expect(leaky).toBeBatchInvariant({ batchSizes: [1, 8] })).rejects.toThrow(/leakage/);
  });
});
