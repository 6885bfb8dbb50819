/**
 * The forum's case, done right: a DenseNet-style embedding CNN with BatchNorm, exported in eval
 * mode. Its embeddings do not depend on the batch on onnxruntime CPU: bitwise, at every size.
 */
import * as path from 'path';

const model = path.join(__dirname, 'models', 'embedding_cnn.onnx');

test('a query embedded alone equals the same image embedded in a batch', async () => {
  await expect(model).toBeBatchInvariant({ tolerance: 'exact' });
});

test('the same batch gives the same embeddings on every run', async () => {
  await expect(model).toBeDeterministic();
});

test('single-threaded and default threading agree too (pin threads like your server)', async () => {
  await expect(model).toBeBatchInvariant({ tolerance: 'exact', threads: 1, batchSizes: [1, 8, 64] });
});
