import { BadInputError, checkBatchInvariance, formatReport } from '../../src';
import { buildModel, seededFloats } from '../helpers/models';

// PyTorch's nn.TransformerEncoder takes src_key_padding_mask: True on pads, False on tokens, the
// other way round from an attention_mask. Padded as one (1s on tokens) every token would be a pad:
// a model that masks right was reported 'violated (padding)', "pad tokens reach the output".
function keyPaddingMaskModel({ leaky = false } = {}): Uint8Array {
  return buildModel({
    opset: 17,
    inputs: [
      { name: 'ids', dtype: 'int64', shape: ['N', 'seq'] },
      { name: 'src_key_padding_mask', dtype: 'bool', shape: ['N', 'seq'] },
    ],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 4] }],
    initializers: [
      { name: 'table', dtype: 'float32', dims: [50, 4], data: seededFloats(200, 3) },
      { name: 'one', dtype: 'float32', dims: [], data: new Float32Array([1]) },
      { name: 'ax2', dtype: 'int64', dims: [1], data: BigInt64Array.from([2n]) },
      { name: 'ax1', dtype: 'int64', dims: [1], data: BigInt64Array.from([1n]) },
    ],
    // y = the mean of the embeddings of the tokens that are not pads (keep = 1 - pad); leaky: minus the batch mean.
    nodes: [
      { op: 'Gather', inputs: ['table', 'ids'], outputs: ['e'], attrs: { axis: 0 } },
      { op: 'Cast', inputs: ['src_key_padding_mask'], outputs: ['pad'], attrs: { to: 1 } },
      { op: 'Sub', inputs: ['one', 'pad'], outputs: ['keep'] },
      { op: 'Unsqueeze', inputs: ['keep', 'ax2'], outputs: ['keep3'] },
      { op: 'Mul', inputs: ['e', 'keep3'], outputs: ['kept'] },
      { op: 'ReduceSum', inputs: ['kept', 'ax1'], outputs: ['sum'], attrs: { keepdims: 0 } },
      { op: 'ReduceSum', inputs: ['keep', 'ax1'], outputs: ['count'], attrs: { keepdims: 1 } },
      { op: 'Div', inputs: ['sum', 'count'], outputs: [leaky ? 'pooled' : 'y'] },
      ...(leaky
        ? [
            { op: 'ReduceMean', inputs: ['pooled'], outputs: ['batchMean'], attrs: { axes: [0], keepdims: 1 } },
            { op: 'Sub', inputs: ['pooled', 'batchMean'], outputs: ['y'] },
          ]
        : []),
    ],
  } as never);
}

const small = { batchSizes: [1, 2, 3, 8] };

describe("PyTorch's key padding mask (True on pads)", () => {
  test('a model that masks right is not blamed: samples have no pads, padding is untested and says why', async () => {
    const r = await checkBatchInvariance(keyPaddingMaskModel(), small);
    expect(r.verdict).not.toBe('violated');
    expect(r.causes).not.toContain('padding');
    expect(r.padding.tested).toBe(false);
    expect(r.padding.reason).toMatch(/^'src_key_padding_mask' reads as PyTorch's key padding mask \(True on pads, False on tokens\).*give samples padded your way \(--inputs\) to test padding$/);
    expect(formatReport(r, { color: false })).toMatch(/src_key_padding_mask padding mask \(True on pads\), all False: no pads/);
    expect(r.nonFinite).toEqual([]);
  });

  test('negative control: a leak is still found through it', async () => {
    const r = await checkBatchInvariance(keyPaddingMaskModel({ leaky: true }), small);
    expect(r.verdict).toBe('violated');
    expect(r.causes).toContain('leakage');
  });

  test('named as the mask to pad with, it is refused in one line', async () => {
    const error = await checkBatchInvariance(keyPaddingMaskModel(), { ...small, padding: { mask: 'src_key_padding_mask' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as Error).message).toMatch(/^--mask src_key_padding_mask: 'src_key_padding_mask' reads as PyTorch's key padding mask \(True on pads, False on tokens\)[^\n]*; give samples padded your way \(--inputs\) with --padding off$/);
  });
});
