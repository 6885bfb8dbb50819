/**
 * The bug behind most "different embedding at batch 1" reports: BatchNorm exported in training
 * mode normalises with the batch's own statistics, so each sample's embedding depends on the
 * other images in its batch. batchproof names it: leakage.
 */
import * as path from 'path';
import { checkBatchInvariance } from 'batchproof';

const model = path.join(__dirname, 'models', 'embedding_cnn_train_bn.onnx');

test('samples leak into each other', async () => {
  await expect(model).not.toBeBatchInvariant();
  const report = await checkBatchInvariance(model, { batchSizes: [1, 8] });
  expect(report.causes).toEqual(['leakage']);
  // Not noise: embeddings move by about 1e-2 when only the batch-mates change.
  expect(report.minimumTolerance.atol).toBeGreaterThan(1e-2);
});

test('yet it is deterministic: determinism is not batch invariance', async () => {
  await expect(model).toBeDeterministic();
});
