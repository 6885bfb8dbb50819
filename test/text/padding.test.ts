// Sequence padding (pad tokens, not filler rows): a text alone, unpadded, against itself padded
// to the limit, with other ids in its pads, on the other side, and padded together with other
// texts as a server pads a batch (issue 10). Negative controls: pooling or attention that
// ignores the mask must fail with `padding`; an image model is untouched.
import * as path from 'path';
import { BadInputError, checkBatchInvariance, formatReport } from '../../src';
import { buildModel, padCountingModel, seededFloats } from '../helpers/models';
import { batchMeanCentringModel, dynamicQuantizedTextModel, exportedTextModel, maskedAttentionModel, maskedPoolingModel, unmaskedPoolingModel } from '../helpers/text-models';

const cnn = path.join(__dirname, '..', '..', 'examples', 'models', 'embedding_cnn.onnx');
const sweep = { batchSizes: [1, 4] };

/** Texts as a tokenizer gives them: ids, right padded to the longest, mask 1 then 0, types 0. */
function tokenized(lengths: number[], seq: number, vocab = 50) {
  const ids = new BigInt64Array(lengths.length * seq);
  const mask = new BigInt64Array(lengths.length * seq);
  lengths.forEach((len, r) => {
    for (let t = 0; t < len; t++) {
      ids[r * seq + t] = BigInt(1 + ((r * 17 + t * 5) % (vocab - 1)));
      mask[r * seq + t] = 1n;
    }
  });
  const dims = [lengths.length, seq];
  return { input_ids: { dtype: 'int64', dims, data: ids }, attention_mask: { dtype: 'int64', dims, data: mask }, token_type_ids: { dtype: 'int64', dims, data: new BigInt64Array(lengths.length * seq) } };
}

async function badInput(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(BadInputError);
  expect((e as Error).message).not.toMatch(/\n/);
  return (e as Error).message;
}

describe('sequence padding is tested with no flags', () => {
  test('masked pooling: tested, bitwise equal alone unpadded, padded, with other pad ids', async () => {
    const r = await checkBatchInvariance(maskedPoolingModel(), sweep);
    expect(r.padding).toMatchObject({ tested: true, mask: 'attention_mask', padId: 0, side: 'right', reason: null });
    expect(r.padding.lengths.every((n) => n < (r.padding.limit as number))).toBe(true);
    const byRun = Object.fromEntries(r.padding.comparisons.map((c) => [c.run, c]));
    expect(byRun.unpadded.bitExact).toBe(true);
    expect(byRun['pad-ids'].bitExact).toBe(true);
    expect(byRun.served.pass).toBe(true);
    expect(r.causes).not.toContain('padding');
    expect(r.verdict).not.toBe('violated');
    // The padding runs are listed with the others, so the work can be replayed.
    expect(r.runs.flatMap((x) => x.purposes)).toEqual(expect.arrayContaining(['unpadded', 'pad-ids', 'other-side', 'served-padded']));
    expect(formatReport(r)).toMatch(/sequence padding \(pad tokens\): 'sequence' padded to 16 tokens on the right/);
  });

  test('negative control: mean pooling that ignores the mask fails with padding', async () => {
    const r = await checkBatchInvariance(unmaskedPoolingModel(), sweep);
    expect(r.verdict).toBe('violated');
    expect(r.causes).toContain('padding');
    expect(r.summary).toMatch(/pad tokens reach the output: a text alone and padded differ by [\d.]+ \(the mask is not applied in attention or pooling, or a layer mixes the whole tensor: see the diagnosis\)/);
    const text = formatReport(r);
    expect(text).toMatch(/tokens: unpadded .* NO .* padding/);
  });

  test('attention: the mask honoured passes, ignored fails with padding', async () => {
    const good = await checkBatchInvariance(maskedAttentionModel(true), sweep);
    expect(good.padding.tested).toBe(true);
    expect(good.causes).not.toContain('padding');
    // The sequence-axis output is compared on real tokens only: pads' outputs mean nothing.
    expect(good.padding.comparisons.every((c) => c.skipped.length === 0)).toBe(true);
    const bad = await checkBatchInvariance(maskedAttentionModel(false), sweep);
    expect(bad.verdict).toBe('violated');
    expect(bad.causes).toContain('padding');
  });

  test("user samples: real lengths come from the mask and batchproof re-pads them (the .npz case that passed before)", async () => {
    const samples = tokenized([3, 5, 9, 12, 4, 7, 10, 6], 16);
    const bad = await checkBatchInvariance(unmaskedPoolingModel(), { ...sweep, samples });
    expect(bad.padding.lengths).toEqual([3, 5, 9]);
    expect(bad.causes).toContain('padding');
    expect(bad.verdict).toBe('violated');
    const good = await checkBatchInvariance(maskedPoolingModel(), { ...sweep, samples });
    expect(good.causes).not.toContain('padding');
  });

  test('options: off, explicit lengths and side; the image model is untouched', async () => {
    const off = await checkBatchInvariance(unmaskedPoolingModel(), { ...sweep, padding: false });
    expect(off.padding).toMatchObject({ tested: false, reason: 'padding: false' });
    expect(off.causes).not.toContain('padding');
    const set = await checkBatchInvariance(maskedPoolingModel(), { ...sweep, padding: { lengths: [2, 6], side: 'left', mask: 'attention_mask', padId: 3 } });
    expect(set.padding).toMatchObject({ tested: true, side: 'left', padId: 3 });
    expect(set.padding.lengths.slice(0, 2)).toEqual([2, 6]);
    const image = await checkBatchInvariance(cnn, sweep);
    expect(image.padding.tested).toBe(false);
    expect(image.verdict).toBe('invariant');
    expect(image.runs.flatMap((x) => x.purposes)).not.toContain('unpadded');
  });
});

// The plan places at most as many probes as its largest batch has rows; the padding runs follow
// it: at batch sizes 1 and 2, two probes, and no batch of 3 the sweep never asked for.
test('a sweep of batch 1 and 2: the padding runs use the plan\'s 2 probes, and no batch is larger than 2', async () => {
  const r = await checkBatchInvariance(maskedPoolingModel(), { batchSizes: [1, 2] });
  expect(r.plan.probes).toBe(2);
  expect(r.padding.tested).toBe(true);
  expect(r.padding.lengths).toHaveLength(2);
  expect(Math.max(...r.runs.map((x) => x.batchSize))).toBe(2);
  expect(r.runs.flatMap((x) => x.purposes)).toContain('served-padded');
});

describe('the texts padded together are the only run that fails', () => {
  test('the summary names that run and its magnitude, not a bare "beyond the tolerance"', async () => {
    // The probes together, padded to the longest of them rather than to the limit every other
    // batch has: their float drift exceeds the most ulps any batch of the sweep drifts by (two
    // probes of 1 and 7 tokens: 14 rows of tokens, where every batch of the sweep has 16 or 32).
    const together = { batchSizes: [1, 2], padding: { lengths: [1, 7] } };
    const exact = await checkBatchInvariance(exportedTextModel(), { ...together, tolerance: 'exact' });
    const tolerance = { ulp: Math.max(...exact.batches.map((b) => b.maxUlp)) };
    const r = await checkBatchInvariance(exportedTextModel(), { ...together, tolerance });
    const byRun = Object.fromEntries(r.padding.comparisons.map((c) => [c.run, c]));
    expect(r.verdict).toBe('violated');
    expect(r.batches.every((b) => b.pass)).toBe(true);
    expect([byRun.unpadded.pass, byRun['pad-ids'].pass, byRun.served.pass]).toEqual([true, true, false]);
    expect(byRun.served.maxAbs).toBeGreaterThan(0);
    expect(r.summary).toMatch(/^outputs differ beyond the tolerance when the texts are padded together as a server pads a batch \(against each alone, unpadded\), by at most [\d.]+e-\d+/);
    // Control: where the pads themselves fail, the padding words say it, not this run again.
    const bad = await checkBatchInvariance(unmaskedPoolingModel(), sweep);
    expect(bad.padding.comparisons.find((c) => c.run === 'served')?.pass).toBe(false);
    expect(bad.summary).not.toMatch(/padded together/);
  });

  // With one probe no texts are padded together, yet the padding line said they were.
  test('one probe: the padding line does not claim texts padded together', async () => {
    const r = await checkBatchInvariance(maskedPoolingModel(), { batchSizes: [1, 2], probes: 1 });
    expect(r.runs.flatMap((x) => x.purposes)).not.toContain('served-padded');
    expect(formatReport(r)).toMatch(/probes? of \d+ tokens? also runs? alone unpadded, with other pad ids and padded on the other side\n/);
  });

  // Within the tolerance, that run alone differing left the summary a bare "outputs differ, within
  // the tolerance" (text_embedder.onnx --reference 4 --batch-sizes 1,4,8: every batch bitwise equal).
  test('within the tolerance, the summary names that run too, not a bare "within the tolerance"', async () => {
    const model = path.join(__dirname, '..', '..', 'examples', 'models', 'text_embedder.onnx');
    const r = await checkBatchInvariance(model, { batchSizes: [1, 4, 8], reference: 4 });
    expect(r.verdict).toBe('within-tolerance');
    expect(r.batches.every((b) => b.bitExact)).toBe(true);
    expect(r.padding.comparisons.find((c) => c.run === 'served')).toMatchObject({ bitExact: false, pass: true });
    expect(r.summary).toMatch(/^outputs differ, within the tolerance when the texts are padded together as a server pads a batch \(against each alone, unpadded\), by at most [\d.]+e-\d+$/);
  });
});

describe('bad padding input is one line', () => {
  test.each([
    ['a mask naming nothing', { padding: { mask: 'nope' } }, /--mask nope: the model has no input 'nope'/],
    ['an axis naming nothing', { padding: { axis: 'time' } }, /--pad-axis time: the mask 'attention_mask' has no dim 'time'/],
    // It said "the mask 'attention_mask' has no dim 'batch'" of the mask's own batch dim.
    ['the batch axis', { padding: { axis: 'batch' } }, /^--pad-axis batch: 'batch' is the batch axis of the mask 'attention_mask', not a sequence axis; its sequence dims are: sequence /],
    ['a pad id outside the table', { padding: { padId: 50 } }, /--pad-id 50: 'input_ids' takes ids below 50/],
    ['lengths beyond the limit', { padding: { lengths: [4, 40] } }, /padding.lengths: 40 tokens is longer than the sequence limit 16/],
    ['a side that is neither', { padding: { side: 'up' } }, /padding.side must be 'left' or 'right'/],
    ['an unknown key', { padding: { pad: 1 } }, /padding: unknown option 'pad'/],
    ['not an object', { padding: 'yes' }, /padding must be 'auto', false or/],
  ])('%s', async (_name, options, message) => {
    expect(await badInput(checkBatchInvariance(maskedPoolingModel(), { ...sweep, ...(options as object) }))).toMatch(message);
  });

  // With no table in the graph the bound is batchproof's own (100, or --vocab), not "its table's rows".
  test('a pad id beyond the ids synthesized where no table bounds them names --vocab, not a table', async () => {
    const noTable = buildModel({
      opset: 17,
      inputs: [
        { name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
        { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] },
      ],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['batch'] }],
      initializers: [{ name: 'ax1', dtype: 'int64', dims: [1], data: BigInt64Array.from([1n]) }],
      nodes: [
        { op: 'Mul', inputs: ['input_ids', 'attention_mask'], outputs: ['p'] },
        { op: 'Cast', inputs: ['p'], outputs: ['pf'], attrs: { to: 1 } },
        { op: 'ReduceSum', inputs: ['pf', 'ax1'], outputs: ['y'], attrs: { keepdims: 0 } },
      ],
    } as never);
    const message = await badInput(checkBatchInvariance(noTable, { ...sweep, padding: { padId: 150 } }));
    expect(message).not.toMatch(/table's rows/);
    expect(message).toMatch(/^--pad-id 150: 'input_ids' is synthesized with ids below 100 \(no table found in the graph\); give a pad id in \[0, 100\), or raise the bound with --vocab N \(API: vocab\)$/);
    // With a table: its rows, as before.
    expect(await badInput(checkBatchInvariance(maskedPoolingModel(), { ...sweep, padding: { padId: 50 } }))).toMatch(/--pad-id 50: 'input_ids' takes ids below 50 \(its table's rows\)/);
  });

  test('padding asked for on a model without a mask or sequence axis', async () => {
    expect(await badInput(checkBatchInvariance(cnn, { ...sweep, padding: { axis: 'sequence' } }))).toMatch(/no mask input .* name it with padding.mask \(CLI --mask NAME\)/);
    // Any other detail of how to pad asks for padding too: ignored, it read as a check of the padding.
    expect(await badInput(checkBatchInvariance(cnn, { ...sweep, padding: { padId: 3 } }))).toMatch(/^padding.padId \(CLI --pad-id\) 3 asks for sequence padding, but the model has no mask input/);
    expect(await badInput(checkBatchInvariance(cnn, { ...sweep, padding: { side: 'left' } }))).toMatch(/^padding.side \(CLI --pad-side\) "left" asks/);
    expect(await badInput(checkBatchInvariance(cnn, { ...sweep, padding: { lengths: [2, 3] } }))).toMatch(/^padding.lengths \[2,3\] asks for sequence padding/);
  });

  test("user samples whose mask is not 1s then 0s", async () => {
    const samples = tokenized([3, 5, 9, 12, 4], 16);
    (samples.attention_mask.data as BigInt64Array)[16 + 8] = 1n; // row 1: a token after its pads
    expect(await badInput(checkBatchInvariance(maskedPoolingModel(), { ...sweep, samples }))).toMatch(/attention_mask' row 1: the mask is not 1s then 0s \(right padding\)/);
  });
});

describe('toBeBatchInvariant honours padding', () => {
  test('the message shows the padding rows and the diagnosis; the masked model passes', async () => {
    const { stripVTControlCharacters: plain } = await import('util');
    await expect(maskedPoolingModel()).toBeBatchInvariant(sweep);
    const error = await expect(unmaskedPoolingModel()).toBeBatchInvariant(sweep).then(() => null, (e: Error) => e);
    const message = plain((error as Error).message);
    expect(message).toMatch(/violated \(padding/);
    expect(message).toMatch(/tokens: unpadded .* NO .* padding/);
    expect(message).toMatch(/tokens: padded together .* NO .* padding/);
    expect(message).toMatch(/diagnosis: unmasked-padding/);
    // Where only the pads fail, locate searches the pad tokens: its line names where they get in.
    expect(message).not.toMatch(/no node differs/);
    expect(message).toMatch(/first diverging node: '\/pooling\/ReduceMean' \(ReduceMean\), output 'y', max abs .*, cause padding/);
    // Off, the same model's batches alone pass: the failure is the padding's.
    await expect(unmaskedPoolingModel()).toBeBatchInvariant({ ...sweep, padding: false });
  });
});

describe('the diagnosis names the culprit', () => {
  test.each([
    ['batch-mean centring', batchMeanCentringModel, 'leakage', 'batch-reduction'],
    ['dynamic quantization', dynamicQuantizedTextModel, 'leakage', 'dynamic-quantization'],
    ['pooling that ignores the mask', unmaskedPoolingModel, 'padding', 'unmasked-padding'],
  ] as const)('%s', async (_name, build, cause, kind) => {
    const r = await checkBatchInvariance(build(), sweep);
    expect(r.verdict).toBe('violated');
    expect(r.causes).toContain(cause);
    const d = r.diagnosis.find((x) => x.kind === kind);
    expect(d).toBeDefined();
    expect(d?.nodes.length).toBeGreaterThan(0);
    expect(d?.fix.length).toBeGreaterThan(10);
    expect(formatReport(r)).toContain(`diagnosis: ${kind}`);
  });

  // A mean over the padded length of masked values: other pad ids change nothing, their count does.
  // The diagnosis said "the outputs at real tokens change with the pad tokens ... applies the mask;
  // fix: apply the mask", which the model already does.
  test('pads counted, not read: the diagnosis says the count moves it and how to pool', async () => {
    const countsPads = padCountingModel();
    const r = await checkBatchInvariance(countsPads, sweep);
    expect(r.padding.comparisons.find((c) => c.run === 'pad-ids')?.bitExact).toBe(true);
    const d = r.diagnosis.find((x) => x.kind === 'unmasked-padding');
    expect(d?.detail).toMatch(/^pad tokens reach the output by their number, not their ids: a text's output changes with how many pads it gets \(other ids in its pads change nothing\)/);
    expect(d?.detail).not.toMatch(/the outputs at real tokens change with the pad tokens/);
    expect(d?.fix).toMatch(/^divide by the number of real tokens \(sum\(hidden \* mask\) \/ sum\(mask\)\), not by the padded length/);
    // Control: pooling that ignores the mask still reads the pads' ids.
    const bad = await checkBatchInvariance(unmaskedPoolingModel(), sweep);
    expect(bad.diagnosis.find((x) => x.kind === 'unmasked-padding')?.detail).toMatch(/^pad tokens reach the output: the outputs at real tokens change with the pad tokens/);
  });

  test('control: a clean text model and the image model have no diagnosis', async () => {
    expect((await checkBatchInvariance(maskedPoolingModel(), sweep)).diagnosis).toEqual([]);
    expect((await checkBatchInvariance(cnn, sweep)).diagnosis).toEqual([]);
  });
});

describe('an output whose sequence axis is not declared', () => {
  // Token embeddings straight out, their dims named apart from the inputs': batchproof cannot tell which axis holds the
  // tokens, so it cannot keep only the real ones. Pad positions must not be compared (their
  // embedding is the pad id's), and no padding run may read as equal when it compared nothing.
  const undeclared = buildModel({
    opset: 17,
    inputs: [
      { name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
      { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] },
    ],
    outputs: [{ name: 'tokens', dtype: 'float32', shape: ['b', 'tokens_axis', 4] }],
    initializers: [{ name: 'table', dtype: 'float32', dims: [50, 4], data: seededFloats(200, 3) }],
    nodes: [{ op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['tokens'], attrs: { axis: 0 } }],
  });

  test('left out of every padding run with a note, never a false padding cause nor a false equal', async () => {
    const r = await checkBatchInvariance(undeclared, sweep);
    expect(r.padding.tested).toBe(true);
    expect(r.causes).not.toContain('padding');
    // Nothing was compared alone unpadded: that run is not listed as equal.
    expect(r.padding.comparisons.find((c) => c.run === 'unpadded')).toBeUndefined();
    expect(r.notes.join(' ')).toMatch(/'tokens' left out of the padding runs, their sequence axis unknown .* so nothing was compared in the unpadded/);
  });
});

test('the other side is reported as information, not a failing row; texts padded together are not "alone"', async () => {
  const { stripVTControlCharacters: plain } = await import('util');
  const model = path.join(__dirname, '..', '..', 'examples', 'models', 'text_embedder.onnx');
  const r = await checkBatchInvariance(model, sweep);
  const otherSide = r.padding.comparisons.find((c) => c.run === 'other-side')!;
  expect(otherSide.pass).toBe(false); // a right-padding model: left pads move it
  expect(r.verdict).not.toBe('violated');
  const text = plain(formatReport(r));
  expect(text).toMatch(/tokens: other side │ alone +│ +[\d.]+ .*│ info +│/);
  expect(text).not.toMatch(/tokens: other side .*│ NO +│/);
  expect(text).toMatch(/tokens: padded together │ together +│/);
});
