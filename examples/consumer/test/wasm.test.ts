// Provider 'wasm' (onnxruntime-web, an optional peer dependency installed here) inside Jest:
// onnxruntime-web's tensors and typed arrays never reach onnxruntime-node's, and the other way.
import * as ort from 'onnxruntime-node';
import { fixture } from 'batchproof';
import { modelPath } from './models';

const cnn = modelPath('embedding_cnn.onnx');

test("a wasm handle takes this test's tensors and gives back onnxruntime-node tensors of this realm; it is batch invariant", async () => {
  const fx = fixture({ provider: 'wasm' });
  const model = await fx.load(cnn);
  const input = new ort.Tensor('float32', new Float32Array(2 * 3 * 32 * 32).fill(0.5), [2, 3, 32, 32]);
  const out = await model.session.run({ input });
  expect(out.embedding).toBeInstanceOf(ort.Tensor);
  expect(out.embedding.data).toBeInstanceOf(Float32Array);
  await expect(model).toBeBatchInvariant({ batchSizes: [1, 2, 4] });
  await fx.close();
});

test('the server against the browser: a batch on cpu, each sample alone on wasm', async () => {
  await expect(cnn).toMatchAcrossProviders([{ provider: 'cpu', batchSize: 4 }, { provider: 'wasm', batchSize: 1 }]);
});
