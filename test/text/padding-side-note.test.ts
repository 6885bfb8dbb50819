// The 'other side' run pads a probe on the other side. A move within the tolerance (float drift
// from the pads' other place) was reported as "this is a right-padding model (its positions do not
// follow the mask); serve it right-padded", a claim about positions the check had not shown.
import { checkBatchInvariance } from '../../src';
import { DataType } from '../../src/onnx/proto';
import { buildModel, seededFloats } from '../helpers/models';

/** Masked mean pooling plus `bias` times the first token's mask: padded on the left, a short text moves by exactly `bias`. */
function sideModel(bias: number): Uint8Array {
  return buildModel({
    opset: 17,
    inputs: [
      { name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
      { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] },
    ],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 8] }],
    initializers: [
      { name: 'table', dtype: 'float32', dims: [50, 8], data: seededFloats(400, 5) },
      { name: 'ax1', dtype: 'int64', dims: [1], data: BigInt64Array.from([1n]) },
      { name: 'ax2', dtype: 'int64', dims: [1], data: BigInt64Array.from([2n]) },
      { name: 'zero', dtype: 'int64', dims: [1], data: BigInt64Array.from([0n]) },
      { name: 'bias', dtype: 'float32', dims: [], data: new Float32Array([bias]) },
    ],
    nodes: [
      { op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['e'], attrs: { axis: 0 } },
      { op: 'Cast', inputs: ['attention_mask'], outputs: ['mf'], attrs: { to: DataType.FLOAT } },
      { op: 'Unsqueeze', inputs: ['mf', 'ax2'], outputs: ['m3'] },
      { op: 'Mul', inputs: ['e', 'm3'], outputs: ['em'] },
      { op: 'ReduceSum', inputs: ['em', 'ax1'], outputs: ['s'], attrs: { keepdims: 0 } },
      { op: 'ReduceSum', inputs: ['m3', 'ax1'], outputs: ['c'], attrs: { keepdims: 0 } },
      { op: 'Div', inputs: ['s', 'c'], outputs: ['pooled'] },
      { op: 'Gather', inputs: ['mf', 'zero'], outputs: ['first'], attrs: { axis: 1 } },
      { op: 'Mul', inputs: ['first', 'bias'], outputs: ['shift'] },
      { op: 'Add', inputs: ['pooled', 'shift'], outputs: ['y'] },
    ],
  } as never);
}

const small = { batchSizes: [1, 2, 3] };

describe('padded on the other side', () => {
  test('a move within the tolerance makes no claim about positions', async () => {
    const r = await checkBatchInvariance(sideModel(1e-6), small);
    const side = r.padding.comparisons.find((c) => c.run === 'other-side');
    expect(side).toMatchObject({ bitExact: false, pass: true });
    expect(r.notes.join('\n')).not.toMatch(/right-padding model|serve it right-padded/);
    expect(r.notes).toContainEqual(expect.stringMatching(/^padded on the left instead, outputs move by 1(\.0)?e-6, within the tolerance: float drift from where the pads sit \(or a small effect of it\), so the padding side does not matter here$/));
  });

  test('beyond the tolerance it still says to serve it right-padded', async () => {
    const r = await checkBatchInvariance(sideModel(0.01), small);
    expect(r.notes).toContainEqual(expect.stringMatching(/this is a right-padding model .*serve it right-padded$/));
  });
});
