// The 'other side' run pads a probe on the other side. A move within the tolerance (float drift
// from the pads' other place) was reported as "this is a right-padding model (its positions do not
// follow the mask); serve it right-padded", a claim about positions the check had not shown.
import { checkBatchInvariance, locateDivergence } from '../../src';
import { DataType } from '../../src/onnx/proto';
import { buildModel, padCountingModel, seededFloats } from '../helpers/models';

/**
 * Masked mean pooling plus `bias` times the mask at token `at` (0: the first, -1: the last). At 0,
 * padded on the left a short text moves by exactly `bias` (a right-padding model); at -1, padded on
 * the right it does (a left-padding model, as decoders whose positions assume left pads).
 */
function sideModel(bias: number, at = 0): Uint8Array {
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
      { name: 'zero', dtype: 'int64', dims: [1], data: BigInt64Array.from([BigInt(at)]) },
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

  // A left-padding model checked with the default right padding: the summary said "pad on the left"
  // while the note said "this is a right-padding model; serve it right-padded", and the diagnosis
  // said pad tokens reach the output (other pad ids changed nothing: it is where they sit).
  test('a left-padding model padded on the right is told to serve left-padded, with no unmasked-padding diagnosis', async () => {
    const r = await checkBatchInvariance(sideModel(0.5, -1), small);
    expect(r.padding.comparisons.find((c) => c.run === 'pad-ids')).toMatchObject({ bitExact: true });
    expect(r.padding.comparisons.find((c) => c.run === 'other-side')).toMatchObject({ pass: false, matchesUnpadded: true });
    expect(r.summary).toMatch(/padding on the right moves the output by 0\.50, padding on the left does not: .*pad on the left/);
    expect(r.notes.join('\n')).not.toMatch(/right-padding model|serve it right-padded/);
    expect(r.notes).toContainEqual(expect.stringMatching(/^padded on the left instead, a text matches itself alone and unpadded \(padded on the right it moves by 0\.50\): this is a left-padding model \(its positions do not follow the mask\); serve it left-padded$/));
    expect(r.diagnosis.map((d) => d.kind)).not.toContain('unmasked-padding');
  });

  test('the same with --pad-side left on a right-padding model', async () => {
    const r = await checkBatchInvariance(sideModel(0.5), { ...small, padding: { side: 'left' } });
    expect(r.summary).toMatch(/pad on the right/);
    expect(r.notes.join('\n')).not.toMatch(/left-padding model|serve it left-padded/);
    expect(r.notes).toContainEqual(expect.stringMatching(/this is a right-padding model .*serve it right-padded$/));
    expect(r.diagnosis.map((d) => d.kind)).not.toContain('unmasked-padding');
  });

  // locate searched the probe with the pad id against other ids in its pads, which agree here,
  // and said only "no node differs between the compared runs" of a check that fails.
  test('locate on a padding failure of the side says what fails and that the pad search cannot show it', async () => {
    const r = await locateDivergence(sideModel(0.5, -1), small);
    expect(r.check.verdict).toBe('violated');
    expect(r.firstDivergence).toBeNull();
    expect(r.notes).toContainEqual(expect.stringMatching(/^the check fails where a text alone and unpadded is compared with itself padded on the right \(by at most 0\.50?\), not with other pad ids \(they change nothing\): padded on the left it matches itself unpadded, so its positions do not follow the mask; serve it left-padded.*no node is named$/));
  });

  test('locate where the number of pads moves it (a mean over every position of masked values): said, not a search that found nothing', async () => {
    // sum(emb * mask) / sequence length: the pads' ids are masked out, their count is not.
    const countsPads = padCountingModel();
    const r = await locateDivergence(countsPads, small);
    expect(r.check.causes).toContain('padding');
    expect(r.firstDivergence).toBeNull();
    expect(r.notes).toContainEqual(expect.stringMatching(/^the check fails where a text alone and unpadded is compared with itself padded on the right \(by at most [\d.e-]+\), not with other pad ids \(they change nothing\): where the pads sit or how many there are moves it, not what they hold; .*no node is named$/));
  });
});
