/**
 * The same embedder after dynamic quantization (what onnxruntime's quantize_dynamic and
 * transformers.js' default 8-bit models do): DynamicQuantizeLinear takes one scale over the
 * whole activation tensor, every text of the batch included, so each embedding depends on its
 * batch-mates (about 1e-3). batchproof says leakage, and its diagnosis names the culprit.
 */
import * as path from 'path';
import { checkBatchInvariance } from 'batchproof';

const model = path.join(__dirname, 'models', 'text_embedder_quantized.onnx');

test('texts leak into each other through the quantization scale', async () => {
  await expect(model).not.toBeBatchInvariant();
  const report = await checkBatchInvariance(model);
  expect(report.verdict).toBe('violated');
  expect(report.causes).toContain('leakage');
  // Not float noise: the scale moves every embedding by about 1e-3.
  expect(report.minimumTolerance.atol).toBeGreaterThan(1e-4);
});

test('the diagnosis says dynamic quantization, and where', async () => {
  const report = await checkBatchInvariance(model);
  expect(report.diagnosis).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'dynamic-quantization' })]));
  const diagnosis = report.diagnosis.find((d) => d.kind === 'dynamic-quantization');
  // It names the quantizing nodes and says what to do about them.
  expect(diagnosis?.nodes.some((n) => /QuantizeLinear|MatMulInteger|_quant/.test(n))).toBe(true);
  expect(diagnosis?.fix).toMatch(/static|float|one sample/i);
});
