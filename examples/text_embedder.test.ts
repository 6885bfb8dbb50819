/**
 * A small BERT-like sentence embedder exported as Hugging Face models are (`input_ids`,
 * `attention_mask`, `token_type_ids`; masked attention, masked mean pooling, L2 norm). The
 * serving question: is a query embedded alone the same as the same text padded in a batch?
 * batchproof reads the token and mask inputs from the graph, pads each text as a server would
 * (alone, to a longer length, beside longer batch-mates, with other pad ids) and compares only
 * real tokens. This model honours the mask: at most float rounding, no flags needed.
 */
import * as path from 'path';
import { checkBatchInvariance } from 'batchproof';

const model = path.join(__dirname, 'models', 'text_embedder.onnx');

test('a text embedded alone equals the same text padded in a batch, with no flags', async () => {
  await expect(model).toBeBatchInvariant();
});

test('padding is tested by default, through the attention mask', async () => {
  const report = await checkBatchInvariance(model);
  expect(report.verdict).not.toBe('violated');
  expect(report.padding.tested).toBe(true);
  expect(report.padding.mask).toBe('attention_mask');
  expect(report.padding.axis).toBe('sequence');
  // Whatever drifts (padding or batch size) is float rounding, far below the default tolerance.
  expect(report.minimumTolerance.atol).toBeLessThan(1e-5);
});

test('BERT is a right-padding model: padded on the left, its real tokens get other positions', async () => {
  const report = await checkBatchInvariance(model, { padding: { side: 'left' } });
  expect(report.verdict).toBe('violated');
  expect(report.causes).toContain('padding');
});
