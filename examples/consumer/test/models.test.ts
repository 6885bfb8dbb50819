// The global `expect`, typed through @types/jest and batchproof/jest's declarations.
import * as ort from 'onnxruntime-node';
import { checkBatchInvariance } from 'batchproof';
import { modelPath } from './models';

const cnn = modelPath('embedding_cnn.onnx');
const leaky = modelPath('embedding_cnn_train_bn.onnx');

test('a BatchNorm CNN in eval mode is batch invariant', async () => {
  await expect(cnn).toBeBatchInvariant({ batchSizes: [1, 2, 8], tolerance: 'exact' });
});

test('the same CNN exported in training mode leaks between samples', async () => {
  await expect(leaky).not.toBeBatchInvariant({ batchSizes: [1, 4] });
});

test('the model is deterministic', async () => {
  await expect(cnn).toBeDeterministic({ repeats: 3, batchSize: 4 });
});

test("the user's own onnxruntime code works inside Jest too", async () => {
  const session = await ort.InferenceSession.create(cnn);
  const input = new ort.Tensor('float32', new Float32Array(2 * 3 * 32 * 32).fill(0.5), [2, 3, 32, 32]);
  const out = await session.run({ input });
  expect(out.embedding.dims).toEqual([2, 64]);
  const samples = { dtype: 'float32', dims: [6, 3, 32, 32], data: new Float32Array(6 * 3 * 32 * 32).map((_, i) => Math.sin(i)) };
  await expect(samples).toBeBatchInvariant(session, 'exact');
  const report = await checkBatchInvariance(session, { batchSizes: [1, 3], samples });
  expect(report.samples.source).toBe('user');
  await session.release();
});
