/**
 * A small PyTorch TransformerEncoder: its kernels may take another reduction order at some batch
 * sizes, so outputs drift by float rounding (about 1e-7) on some machines. That passes the default
 * tolerance (float32 atol 1e-5, rtol 1.3e-6, as torch.testing.assert_close) and never leaks.
 */
import * as path from 'path';
import { checkBatchInvariance } from 'batchproof';

const model = path.join(__dirname, 'models', 'transformer_encoder.onnx');

test('within float tolerance at every batch size', async () => {
  await expect(model).toBeBatchInvariant({ dims: { seq: 16 } });
});

test('any drift is float rounding with the batch size, never leakage, and tiny', async () => {
  const report = await checkBatchInvariance(model, { tolerance: 'exact' });
  // Which sizes drift depends on the machine (the report's fingerprint says which one ran).
  for (const cause of report.causes) expect(cause).toBe('batch-size');
  expect(report.minimumTolerance.atol).toBeLessThan(1e-5);
});

test('deterministic', async () => {
  await expect(model).toBeDeterministic();
});
