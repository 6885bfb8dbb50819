import * as path from 'path';
import { checkBatchInvariance, formatReport } from '../../src';
import {
  batchNormTrainingModel,
  buildModel,
  driftModel,
  int64Model,
  invariantModel,
  leakyModel,
  multiOutputModel,
  nondeterministicModel,
  positionModel,
  seededFloats,
} from '../helpers/models';

const examples = path.join(__dirname, '..', '..', 'examples', 'models');
const small = { batchSizes: [1, 2, 3, 8] };

describe('verdicts and causes', () => {
  test('a row-wise model is bitwise invariant', async () => {
    const r = await checkBatchInvariance(invariantModel(), small);
    expect(r.verdict).toBe('invariant');
    expect(r.causes).toEqual([]);
    expect(r.batches.every((b) => b.bitExact && b.pass)).toBe(true);
    expect(r.minimumTolerance).toEqual({ atol: 0, rtol: 0, ulp: 0, cosine: 0 });
    expect(r.worst).toBeNull();
  });

  test('a mean over the batch axis is leakage, violated', async () => {
    const r = await checkBatchInvariance(leakyModel(), small);
    expect(r.verdict).toBe('violated');
    expect(r.causes).toContain('leakage');
    expect(r.causes).not.toContain('position');
    const eight = r.batches.find((b) => b.size === 8)!;
    expect(eight.causes).toEqual(['leakage']);
    expect(eight.pass).toBe(false);
    // The outlier run (batch-mates 100 times larger) is no row of the table: a note says it set the worst element.
    expect(r.worst?.run).toBe('outlier');
    expect(r.worst!.absDiff).toBeGreaterThan(Math.max(...r.batches.map((b) => b.maxAbs)));
    expect(r.notes.join('\n')).toMatch(/the outlier run\) moved the first probe by [\d.e+-]+, more than any batch of the table: the worst element and the minimum tolerance include that run/);
  });

  test('BatchNorm in training mode is leakage', async () => {
    const r = await checkBatchInvariance(batchNormTrainingModel(), small);
    expect(r.verdict).toBe('violated');
    expect(r.causes).toEqual(['leakage']);
    expect(r.minimumTolerance.atol).toBeGreaterThan(1e-3);
  });

  test('the same batch differing run to run is nondeterminism', async () => {
    const r = await checkBatchInvariance(nondeterministicModel(), small);
    expect(r.verdict).toBe('violated');
    expect(r.causes).toContain('nondeterminism');
    expect(r.reruns.some((x) => !x.bitExact)).toBe(true);
    // Random noise moves the outlier run too: that is no sign of dynamic quantization.
    expect(r.notes.filter((n) => /dynamic quantization|magnitude/.test(n))).toEqual([]);
  });

  test('an output that depends on the row index is position', async () => {
    const r = await checkBatchInvariance(positionModel(), small);
    expect(r.causes).toContain('position');
    expect(r.causes).not.toContain('leakage');
    expect(r.verdict).toBe('violated');
  });

  test('float drift with the batch size alone is batch-size, within the default tolerance', async () => {
    const r = await checkBatchInvariance(driftModel(), small);
    expect(r.causes).toEqual(['batch-size']);
    expect(r.verdict).toBe('within-tolerance');
    expect(r.worst).not.toBeNull();
    expect(r.worst!.absDiff).toBeGreaterThan(0);
    expect(r.summary).toMatch(/at batch sizes 2\.\.8 vs batch 1/);
  });

  test("'exact' turns drift into a violation, and the reported minimum tolerance passes", async () => {
    const exact = await checkBatchInvariance(driftModel(), { ...small, tolerance: 'exact' });
    expect(exact.verdict).toBe('violated');
    const { atol, ulp } = exact.minimumTolerance;
    expect((await checkBatchInvariance(driftModel(), { ...small, tolerance: atol })).verdict).toBe('within-tolerance');
    expect((await checkBatchInvariance(driftModel(), { ...small, tolerance: { ulp } })).verdict).toBe('within-tolerance');
    // Just below the minimum fails: the number is the minimum, not a loose bound.
    expect((await checkBatchInvariance(driftModel(), { ...small, tolerance: { ulp: ulp - 1 } })).verdict).toBe('violated');
  });
});

test('two batches of one size that differ beyond the tolerance where each row is within it: the summary says so, and the minimum tolerance passes them', async () => {
  // y = the batch mean of x on every row (int input: no outlier run). Alone a probe gets itself
  // back; among batch-mates of +100 it moves by about 50, among -100 by about 50 the other way, so
  // the two batches of one size differ by about 100 while each row is about 50 from its reference.
  const model = buildModel({
    opset: 17,
    inputs: [{ name: 'x', dtype: 'int32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    nodes: [
      { op: 'Cast', inputs: ['x'], outputs: ['xf'], attrs: { to: 1 } },
      { op: 'ReduceMean', inputs: ['xf'], outputs: ['mean'], attrs: { axes: [0], keepdims: 1 } },
      { op: 'Sub', inputs: ['xf', 'xf'], outputs: ['zero'] },
      { op: 'Add', inputs: ['zero', 'mean'], outputs: ['y'] },
    ],
  });
  const data = new Int32Array(64);
  for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) data[r * 8 + c] = r < 3 ? r + c : (r % 2 ? 100 : -100) + c;
  const options = { batchSizes: [1, 2, 3], samples: { dtype: 'int32', dims: [8, 8], data } };
  const r = await checkBatchInvariance(model, { ...options, tolerance: 50 });
  expect(r.verdict).toBe('violated');
  expect(r.batches.every((b) => b.pass)).toBe(true);
  expect(r.summary).toMatch(/^outputs differ beyond the tolerance between batches of the same size with other batch-mates or positions \(batch size 2\), by at most [\d.]+: samples leak into each other \(output changes with the batch-mates\); within the tolerance at batch sizes 2, 3 vs batch 1, by at most 50$/);
  // The reported minimum passes every comparison the verdict rests on, not only the table's rows.
  const { atol } = r.minimumTolerance;
  expect(atol).toBeGreaterThan(50);
  expect((await checkBatchInvariance(model, { ...options, tolerance: atol })).verdict).toBe('within-tolerance');
});

describe('the bundled examples', () => {
  test('the eval-mode CNN is invariant, the training-mode export leaks, the encoder drifts', async () => {
    const cnn = await checkBatchInvariance(path.join(examples, 'embedding_cnn.onnx'), small);
    const leaky = await checkBatchInvariance(path.join(examples, 'embedding_cnn_train_bn.onnx'), small);
    const encoder = await checkBatchInvariance(path.join(examples, 'transformer_encoder.onnx'), { ...small, tolerance: 'exact' });
    expect(cnn.verdict).toBe('invariant');
    expect(leaky.verdict).toBe('violated');
    expect(leaky.causes).toEqual(['leakage']);
    // Drift depends on the machine (a fingerprint goes with it), but it never leaks.
    expect(encoder.causes).not.toContain('leakage');
    expect(encoder.model.defaultedDims).toEqual(['seq']);
    expect(encoder.model.dims.seq).toBe(16);
  });
});

describe('the report', () => {
  test('lists every session.run, and the default sweep', async () => {
    const r = await checkBatchInvariance(invariantModel());
    expect(r.plan.sizes).toEqual([1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64]);
    const calls = r.runs.reduce((n, x) => n + x.calls, 0);
    // 3 probes alone, twice; batch 1 alone; for each of the 15 other sizes a batch and one
    // with the probes moved among other batch-mates (bitwise the same here, so no permuted
    // run is needed, except at 2 and 3, where probes fill the batch); the largest once more.
    // And the smallest batch once more with outlier batch-mates (outlier.ts).
    expect(calls).toBe(6 + 1 + 15 * 2 + 2 + 1 + 1);
    expect(r.runs.find((x) => x.batchSize === 64)!.purposes).toEqual(['batch', 'mates', 'rerun']);
    expect(r.schema).toBe(1);
    expect(r.tool.name).toBe('batchproof');
    expect(r.fingerprint.provider).toBe('cpu');
    expect(r.fingerprint.onnxruntime).toMatch(/^1\.30/);
    expect(r.model.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['N', 8], batchAxis: 0, synthesis: { kind: 'floats', range: [-1, 1] } }]);
    expect(r.model.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: ['N', 4], batchAxis: 0 }]);
    expect(r.timing.totalMs).toBeGreaterThanOrEqual(r.timing.inferenceMs);
  });

  test('a permuted run splits a change into leakage and position, only where one was seen', async () => {
    const leaky = await checkBatchInvariance(leakyModel(), { batchSizes: [1, 8] });
    expect(leaky.runs.find((x) => x.batchSize === 8)!.purposes).toEqual(['batch', 'mates', 'permuted', 'rerun', 'outlier']);
    const moved = await checkBatchInvariance(positionModel(), { batchSizes: [1, 8] });
    expect(moved.causes).toEqual(['position']);
    expect(moved.runs.find((x) => x.batchSize === 8)!.purposes).toContain('permuted');
  });

  test('probes sit first, middle and last', async () => {
    const r = await checkBatchInvariance(invariantModel(), { batchSizes: [9] });
    expect(r.batches[0].positions).toEqual([0, 4, 8]);
  });

  test('a budget never skips the sizes the user serves', async () => {
    const r = await checkBatchInvariance(path.join(examples, 'embedding_cnn.onnx'), { budget: { seconds: 0.001 }, servedSizes: [1, 96] });
    expect(r.plan.skipped).toContain(64);
    expect(r.plan.sizes).toContain(96);
    expect(r.served.sizes).toEqual([1, 96]);
    expect(r.answer).toBe('batch 1 and batch 96 are bitwise equal');
  });

  test('maxBatch caps the default sweep', async () => {
    const r = await checkBatchInvariance(invariantModel(), { maxBatch: 8 });
    expect(r.plan.sizes).toEqual([1, 2, 3, 4, 5, 7, 8]);
  });

  test('a budget skips the largest sizes and says so', async () => {
    const r = await checkBatchInvariance(path.join(examples, 'embedding_cnn.onnx'), { budget: { seconds: 0.001 } });
    expect(r.plan.skipped.length).toBeGreaterThan(0);
    expect(r.plan.skipped).toContain(64);
    expect(r.notes.join(' ')).toMatch(/skipped batch sizes/);
  });

  // `--batch-sizes 1,2,...,512` printed every size on the plan line and in the budget's note.
  test('a long sweep is written as ranges in the plan line and the budget note; short lists as given', async () => {
    const sizes = [...Array.from({ length: 30 }, (_, i) => i + 1), 40, 41, 64];
    const r = await checkBatchInvariance(invariantModel(), { batchSizes: sizes });
    expect(formatReport(r, { color: false })).toMatch(/^plan: reference batch 1, 3 probes, sizes 1\.\.30,40,41,64; /m);
    const cut = await checkBatchInvariance(invariantModel(), { batchSizes: sizes, budget: { seconds: 1e-9 } });
    const skipped = cut.plan.skipped;
    expect(skipped.length).toBeGreaterThan(20);
    expect(cut.notes.join('\n')).toMatch(new RegExp(`skipped batch sizes ${skipped[0]}\\.\\.30, 40, 41, 64$`, 'm'));
    expect(formatReport(cut, { color: false })).toMatch(new RegExp(`; skipped ${skipped[0]}\\.\\.30,40,41,64 \\(budget\\)`));
    expect(formatReport(await checkBatchInvariance(invariantModel(), small), { color: false })).toMatch(/sizes 1,2,3,8; /);
    // Every row of a batch of 32 a probe: the positions column as a range, not 32 numbers.
    const every = formatReport(await checkBatchInvariance(invariantModel(), { batchSizes: [1, 32], probes: 32 }), { color: false });
    expect(every).toMatch(/^│ +32 │ 0\.\.31 +│/m);
  });

  test('integer outputs compare exactly beside float ones', async () => {
    const r = await checkBatchInvariance(multiOutputModel(), small);
    expect(r.verdict).toBe('invariant');
    expect(r.tolerance).toEqual({ y: 'atol=1e-5, rtol=1.3e-6', label: 'exact (bitwise)' });
  });

  test('integer outputs that differ pass with no tolerance: the minimum tolerance says none', async () => {
    // labels = int64(10 * (x - batch mean)): a leaky model whose only output is integer.
    const labels = buildModel({
      opset: 17,
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'labels', dtype: 'int64', shape: ['N', 8] }],
      initializers: [{ name: 'k', dtype: 'float32', dims: [], data: new Float32Array([10]) }],
      nodes: [
        { op: 'ReduceMean', inputs: ['x'], outputs: ['mean'], attrs: { axes: [0], keepdims: 1 } },
        { op: 'Sub', inputs: ['x', 'mean'], outputs: ['d'] },
        { op: 'Mul', inputs: ['d', 'k'], outputs: ['e'] },
        { op: 'Cast', inputs: ['e'], outputs: ['labels'], attrs: { to: 7 } },
      ],
    });
    const r = await checkBatchInvariance(labels, small);
    expect(r.verdict).toBe('violated');
    expect(r.minimumTolerance).toEqual({ atol: Infinity, rtol: Infinity, ulp: Infinity, cosine: Infinity });
    expect(formatReport(r, { color: false })).toMatch(/minimum tolerance that passes: none: integer and bool outputs \('labels' int64\) compare exactly/);
    // And no tolerance does pass it: integers compare exactly, whatever is given.
    expect((await checkBatchInvariance(labels, { ...small, tolerance: { atol: 1e6 } })).verdict).toBe('violated');
  });

  test('int64 ids are synthesized within the vocabulary, symbolic dims from dims', async () => {
    const r = await checkBatchInvariance(int64Model(), { ...small, dims: { seq: 5 }, vocab: 100 });
    expect(r.verdict).toBe('invariant');
    expect(r.model.dims).toEqual({ seq: 5 });
    expect(r.model.defaultedDims).toEqual([]);
  });
});

describe('an output that ignores the sample is named, not passed in silence', () => {
  // y = (x·W) · 0: zeros whose signs follow x·W, so the probes' rows differ in bits, not in value.
  const zerosOfEitherSign = (zero: number) =>
    buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 4] }],
      initializers: [
        { name: 'W', dtype: 'float32', dims: [8, 4], data: seededFloats(32, 7) },
        { name: 'zero', dtype: 'float32', dims: [], data: [zero] },
      ],
      nodes: [
        { op: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
        { op: 'Mul', inputs: ['xw', 'zero'], outputs: ['y'] },
      ],
    });

  test('zeros of either sign: the note says the output does not depend on the sample', async () => {
    const r = await checkBatchInvariance(zerosOfEitherSign(0), small);
    expect(r.verdict).toBe('invariant');
    expect(r.notes.join('\n')).toMatch(/the 3 probes, though their samples differ, get the same outputs: the output does not depend on the sample here/);
    // The plan fits its probes into the largest batch: the note counts those that ran.
    const two = await checkBatchInvariance(zerosOfEitherSign(0), { batchSizes: [1, 2] });
    expect(two.plan.probes).toBe(2);
    expect(two.notes.join('\n')).toMatch(/the 2 probes, though/);
  });

  // User samples whose first rows repeat: the probes are copies, and the note must not say they differ.
  test('probes that are copies of one user sample: the note says so', async () => {
    const rows = seededFloats(8 * 3, 5);
    // Rows A, A, A, B, C, B (A, B, C distinct).
    const order = [0, 0, 0, 1, 2, 1];
    const data = Float32Array.from({ length: 6 * 8 }, (_, i) => rows[order[Math.floor(i / 8)] * 8 + (i % 8)]);
    const r = await checkBatchInvariance(invariantModel(), { ...small, samples: { dtype: 'float32', dims: [6, 8], data } });
    expect(r.notes.join('\n')).not.toMatch(/though their samples differ/);
    expect(r.notes.join('\n')).toMatch(/the 3 probes are one sample given 3 times \(samples 0, 1, 2 are equal\)/);
  });

  test('negative control: the same graph with a real weight gets no such note', async () => {
    const r = await checkBatchInvariance(zerosOfEitherSign(1), small);
    expect(r.notes.join('\n')).not.toMatch(/get the same outputs/);
  });
});

describe('the summary names a batch-size effect by its size', () => {
  // y = x + N (the batch size as a float): each row alone, yet moved by 1 per added row.
  const plusBatchSize = () =>
    buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
      initializers: [
        { name: 'start', dtype: 'int64', dims: [1], data: [0n] as never },
        { name: 'end', dtype: 'int64', dims: [1], data: [1n] as never },
      ],
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['shape'] },
        { op: 'Slice', inputs: ['shape', 'start', 'end'], outputs: ['n'] },
        { op: 'Cast', inputs: ['n'], outputs: ['nf'], attrs: { to: 1 } },
        { op: 'Add', inputs: ['x', 'nf'], outputs: ['y'] },
      ],
    });

  test('beyond the tolerance it is not called float drift', async () => {
    const r = await checkBatchInvariance(plusBatchSize(), small);
    expect(r.verdict).toBe('violated');
    expect(r.causes).toEqual(['batch-size']);
    expect(r.summary).toBe('outputs differ beyond the tolerance at batch sizes 2..8 vs batch 1, by at most 7.0: the output changes with the batch size');
  });

  test('within it, it is', async () => {
    const r = await checkBatchInvariance(plusBatchSize(), { ...small, tolerance: 10 });
    expect(r.summary).toMatch(/by at most 7.0: float drift with the batch size$/);
  });
});
