// Dynamic quantization takes one scale over the whole tensor: batch-mates of the same range give
// bitwise the same scale, so only a large batch-mate shows the leak (issue 10).
import { checkBatchInvariance } from '../../src';
import { buildModel, invariantModel } from '../helpers/models';

/** x [N, 8] -> DynamicQuantizeLinear -> DequantizeLinear: the quantize_dynamic pattern, bare. */
function quantizeRoundTrip(): Uint8Array {
  return buildModel({
    opset: 13,
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    nodes: [
      { op: 'DynamicQuantizeLinear', inputs: ['x'], outputs: ['q', 'scale', 'zero'] },
      { op: 'DequantizeLinear', inputs: ['q', 'scale', 'zero'], outputs: ['y'] },
    ],
  });
}

/** Every row spans exactly [-1, 1], so any batch of them has the same quantization scale. */
function sameRange(count: number) {
  const data = new Float32Array(count * 8);
  for (let r = 0; r < count; r++) {
    for (let c = 0; c < 8; c++) data[r * 8 + c] = c === 0 ? -1 : c === 7 ? 1 : Math.sin(r * 8 + c) * 0.9;
  }
  return { dtype: 'float32', dims: [count, 8], data };
}

test('an outlier batch-mate shows the leak ordinary batch-mates hide', async () => {
  const r = await checkBatchInvariance(quantizeRoundTrip(), { samples: sameRange(12), batchSizes: [1, 2, 4] });
  // Ordinary batch-mates: every batch row bitwise equal to the reference.
  expect(r.batches.every((b) => !b.causes.includes('leakage'))).toBe(true);
  expect(r.causes).toContain('leakage');
  expect(r.notes.join(' ')).toMatch(/batch-mates 100 times larger moved the first probe by [\d.e-]+ \(ordinary batch-mates did not\)/);
  expect(r.diagnosis.map((d) => d.kind)).toContain('dynamic-quantization');
});

test('control: a per-sample model is untouched by an outlier batch-mate', async () => {
  const r = await checkBatchInvariance(invariantModel(), { batchSizes: [1, 2, 4] });
  expect(r.verdict).toBe('invariant');
  expect(r.runs.flatMap((x) => x.purposes)).toContain('outlier');
});
