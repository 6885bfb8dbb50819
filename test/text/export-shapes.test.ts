// Text models in the shapes real exports take (optimum, tf2onnx, torch.onnx with or without
// dynamic_axes): position_ids as an input or from the mask, no token_type_ids, int32/bool/float
// masks, other dim names, fixed lengths, several outputs. Each is checked with no flags, and the
// user's mistakes (naming token ids as the mask) are refused in one line, never blamed on the model.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BadInputError, checkBatchInvariance, formatReport, type InvarianceReport } from '../../src';
import { cli } from '../helpers/cli';
import { buildModel, seededFloats } from '../helpers/models';
import { exportedTextModel, TEXT_VOCAB } from '../helpers/text-models';

const sweep = { batchSizes: [1, 4] };

async function badInput(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(BadInputError);
  expect((e as Error).message).not.toMatch(/\n/);
  return (e as Error).message;
}

const byRun = (r: InvarianceReport) => Object.fromEntries(r.padding.comparisons.map((c) => [c.run, c]));

/** Padding was really exercised: every isolating run compared something, and the pads changed nothing. */
function paddingClean(r: InvarianceReport): void {
  expect(r.padding.tested).toBe(true);
  const runs = byRun(r);
  for (const name of ['unpadded', 'pad-ids', 'served']) expect(runs[name]).toBeDefined();
  expect(runs.unpadded.bitExact).toBe(true);
  expect(runs['pad-ids'].bitExact).toBe(true);
  expect(r.causes).not.toContain('padding');
  expect(r.verdict).not.toBe('violated');
}

describe('--mask naming what is evidently not a mask is refused in one line', () => {
  const model = exportedTextModel({ types: true, positions: { from: 'input' } });

  test.each([
    ['token ids', 'input_ids', /--mask input_ids: 'input_ids' indexes the embedding table 'embeddings\.word_embeddings\.weight' \(50 rows, \/embeddings\/word_embeddings\/Gather\), so it holds token ids, not a mask .*leave --mask out \(the mask 'attention_mask' is found by its name\) or name it with --mask attention_mask/],
    ['token types', 'token_type_ids', /--mask token_type_ids: 'token_type_ids' indexes the embedding table .* \(2 rows.*so it holds token ids, not a mask/],
    ['positions', 'position_ids', /--mask position_ids: 'position_ids' holds positions .*not a mask/],
  ])('%s (API)', async (_what, mask, message) => {
    expect(await badInput(checkBatchInvariance(model, { ...sweep, padding: { mask } }))).toMatch(message);
  });

  test('the real mask named explicitly is still accepted', async () => {
    paddingClean(await checkBatchInvariance(model, { ...sweep, padding: { mask: 'attention_mask' } }));
  });

  test('CLI: check --mask input_ids exits 2 with one line naming the fix', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-mask-'));
    try {
      const file = path.join(dir, 'text.onnx');
      fs.writeFileSync(file, model);
      const r = await cli('check', file, '--batch-sizes', '1,4', '--mask', 'input_ids');
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/--mask input_ids: 'input_ids' indexes the embedding table .* so it holds token ids, not a mask .*--mask attention_mask/);
      expect(r.stderr).not.toMatch(/violated|NaN|at .*\.js/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("user samples whose named mask holds token ids are refused, not re-padded into a 'padding' verdict", async () => {
    const n = 6;
    const seq = 8;
    const ids = new BigInt64Array(n * seq);
    const mask = new BigInt64Array(n * seq);
    for (let r = 0; r < n; r++) for (let t = 0; t < 3 + r % 4; t++) {
      ids[r * seq + t] = BigInt(2 + ((r * 7 + t * 3) % 40));
      mask[r * seq + t] = 1n;
    }
    const dims = [n, seq];
    const samples = { input_ids: { dtype: 'int64', dims, data: ids }, attention_mask: { dtype: 'int64', dims, data: mask } };
    const plain = exportedTextModel();
    expect(await badInput(checkBatchInvariance(plain, { ...sweep, samples, padding: { mask: 'input_ids' } }))).toMatch(/--mask input_ids: 'input_ids' indexes the embedding table/);
    // A mask-named input (no table to tell) whose samples hold ids: named as not a mask.
    const swapped = { input_ids: samples.attention_mask, attention_mask: samples.input_ids };
    expect(await badInput(checkBatchInvariance(plain, { ...sweep, samples: swapped }))).toMatch(/samples 'attention_mask' row 0: holds \d+, so it is not a mask \(1 on tokens, 0 on pads\).*--mask/);
  });

  test('with no flags, an input named like a mask that indexes the token table is not taken for the mask', async () => {
    // e.g. `masked_input_ids` (the ids with [MASK] tokens in), listed before the attention mask.
    const model2 = exportedTextModel({
      extraInputs: [],
      ids: { name: 'masked_input_ids' },
    });
    const r = await checkBatchInvariance(model2, sweep);
    expect(r.padding.mask).toBe('attention_mask');
    paddingClean(r);
    expect(r.model.inputs.find((i) => i.name === 'masked_input_ids')?.synthesis).toMatchObject({ kind: 'ids', high: TEXT_VOCAB });
  });

  test('when the only input named like a mask holds ids, the report says so and names --mask', async () => {
    const r = await checkBatchInvariance(exportedTextModel({ ids: { name: 'masked_input_ids' }, mask: { name: 'attn' } }), sweep);
    expect(r.padding.tested).toBe(false);
    expect(r.padding.reason).toMatch(/the inputs named \*mask\* are not masks: 'masked_input_ids' indexes the embedding table .*; if the model takes a mask, name it with --mask NAME \(API: padding: \{ mask: 'NAME' \}\)$/);
    expect(formatReport(r)).toMatch(/sequence padding \(pad tokens\): not tested: the inputs named \*mask\* are not masks/);
    paddingClean(await checkBatchInvariance(exportedTextModel({ ids: { name: 'masked_input_ids' }, mask: { name: 'attn' } }), { ...sweep, padding: { mask: 'attn' } }));
  });
});

describe("a mask whose name does not say mask ('attn', 'am')", () => {
  const untested =
    "sequence padding (pad tokens): not tested: no input is named as a mask (*mask*), so padding of the token input 'input_ids' [batch, sequence] is untested; if the model takes a mask, name it with --mask NAME (API: padding: { mask: 'NAME' })";

  test.each(['attn', 'am'])("'%s': the report and the matcher's message say padding is untested and that --mask names the mask; no guess", async (name) => {
    const r = await checkBatchInvariance(exportedTextModel({ mask: { name } }), sweep);
    expect(r.padding.tested).toBe(false);
    expect(r.padding.comparisons).toEqual([]);
    const text = formatReport(r, { color: false });
    expect(text).toContain(untested);
    expect(text).not.toMatch(/padded to \d+ tokens/);
    // The matcher's message carries the same line.
    const { toBeBatchInvariant } = await import('../../matchers');
    const result = await toBeBatchInvariant.call({ isNot: true, promise: '' }, exportedTextModel({ mask: { name } }), sweep);
    expect(result.message()).toContain(untested);
  });

  test("--mask attn tests padding, and the inputs line says 'attn' was fed as a mask, not ids", async () => {
    const r = await checkBatchInvariance(exportedTextModel({ mask: { name: 'attn' } }), { ...sweep, padding: { mask: 'attn' } });
    paddingClean(r);
    expect(r.model.inputs.find((i) => i.name === 'attn')?.synthesis).toEqual({ kind: 'mask' });
    expect(formatReport(r, { color: false })).toContain('attn mask (1 on tokens, 0 on pads)');
    // Negative control: pooling that ignores the mask fails with padding once the mask is named, and is only reported untested before.
    const unmasked = exportedTextModel({ mask: { name: 'attn' }, masked: false });
    expect((await checkBatchInvariance(unmasked, { ...sweep, padding: { mask: 'attn' } })).causes).toContain('padding');
    const silent = await checkBatchInvariance(unmasked, sweep);
    expect(silent.causes).not.toContain('padding');
    expect(formatReport(silent, { color: false })).toContain(untested);
  });

  test('a model with no token input says nothing of padding', async () => {
    const { invariantModel } = await import('../helpers/models');
    const r = await checkBatchInvariance(invariantModel(), sweep);
    expect(r.padding.reason).toMatch(/^no mask input/);
    expect(formatReport(r, { color: false })).not.toMatch(/sequence padding/);
  });
});

describe('float masks (1.0 on tokens, 0.0 on pads)', () => {
  test.each(['float32', 'float16'] as const)('%s: tested with no flags, clean when pooling honours it', async (dtype) => {
    const r = await checkBatchInvariance(exportedTextModel({ mask: { dtype } }), sweep);
    expect(r.padding.mask).toBe('attention_mask');
    paddingClean(r);
    expect(r.model.inputs.find((i) => i.name === 'attention_mask')?.synthesis).toEqual({ kind: 'mask' });
  });

  test('negative control: pooling that ignores a float mask fails with padding', async () => {
    const r = await checkBatchInvariance(exportedTextModel({ mask: { dtype: 'float32' }, masked: false }), sweep);
    expect(r.causes).toContain('padding');
    expect(r.verdict).toBe('violated');
  });

  test('padding off: the float mask is still synthesized as ones, not random weights', async () => {
    const r = await checkBatchInvariance(exportedTextModel({ mask: { dtype: 'float32' } }), { ...sweep, padding: false });
    expect(r.model.inputs.find((i) => i.name === 'attention_mask')?.synthesis).toEqual({ kind: 'mask' });
    expect(r.verdict).not.toBe('violated');
  });

  test('float16 user samples: real lengths read from the half-precision mask', async () => {
    const n = 6;
    const seq = 8;
    const ids = new BigInt64Array(n * seq);
    const mask = new Uint16Array(n * seq);
    const lengths = [2, 5, 3, 7, 4, 6];
    lengths.forEach((len, r) => {
      for (let t = 0; t < len; t++) {
        ids[r * seq + t] = BigInt(1 + ((r * 7 + t * 3) % 40));
        mask[r * seq + t] = 0x3c00; // 1.0 in half precision
      }
    });
    const dims = [n, seq];
    const r = await checkBatchInvariance(exportedTextModel({ mask: { dtype: 'float16' } }), { ...sweep, samples: { input_ids: { dtype: 'int64', dims, data: ids }, attention_mask: { dtype: 'float16', dims, data: mask } } });
    expect(r.padding.lengths).toEqual([2, 5, 3]);
    paddingClean(r);
  });

  // scores + mask before a Softmax over the sequence: the mask is additive (0 on tokens, -1e4 on pads).
  const additive = buildModel({
    opset: 17,
    inputs: [
      { name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
      { name: 'attention_mask', dtype: 'float32', shape: ['batch', 'sequence'] },
    ],
    outputs: [{ name: 'pooled', dtype: 'float32', shape: ['batch', 4] }],
    initializers: [
      { name: 'table', dtype: 'float32', dims: [TEXT_VOCAB, 4], data: seededFloats(TEXT_VOCAB * 4, 5) },
      { name: 'axis2', dtype: 'int64', dims: [1], data: [2] },
      { name: 'axis1', dtype: 'int64', dims: [1], data: [1] },
    ],
    nodes: [
      { op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['emb'], attrs: { axis: 0 } },
      { op: 'ReduceSum', inputs: ['emb', 'axis2'], outputs: ['score'], attrs: { keepdims: 0 } },
      { op: 'Add', inputs: ['score', 'attention_mask'], outputs: ['biased'] },
      { op: 'Softmax', inputs: ['biased'], outputs: ['weights'], attrs: { axis: 1 } },
      { op: 'Unsqueeze', inputs: ['weights', 'axis2'], outputs: ['weights3'] },
      { op: 'Mul', inputs: ['emb', 'weights3'], outputs: ['weighted'] },
      { op: 'ReduceSum', inputs: ['weighted', 'axis1'], outputs: ['pooled'], attrs: { keepdims: 0 } },
    ],
  });

  test('an additive float mask is not padded with 1s and 0s (that would unmask the pads and blame the model)', async () => {
    const r = await checkBatchInvariance(additive, sweep);
    expect(r.padding.tested).toBe(false);
    expect(r.padding.reason).toMatch(/'attention_mask' \(float32\) is added to the model's values as it is \(an additive mask/);
    expect(r.causes).not.toContain('padding');
    expect(await badInput(checkBatchInvariance(additive, { ...sweep, padding: { mask: 'attention_mask' } }))).toMatch(/--mask attention_mask: .*additive mask.*--padding off/);
  });
});

describe('a sequence fixed in the export (no dynamic_axes for it)', () => {
  const fixed = exportedTextModel({ seq: 512, ids: { vocab: 30 }, positions: { from: 'input', rows: 512 }, hidden: true });

  test('ids inside the small vocabulary, positions inside their table; padding untested, and the reason says the length is fixed', async () => {
    const r = await checkBatchInvariance(fixed, sweep);
    const synth = Object.fromEntries(r.model.inputs.map((i) => [i.name, i.synthesis]));
    expect(synth.input_ids).toMatchObject({ kind: 'ids', low: 0, high: 30 });
    expect(synth.position_ids).toMatchObject({ kind: 'positions', axis: 1 });
    expect(r.padding.tested).toBe(false);
    expect(r.padding.reason).toMatch(/the sequence axis is fixed at 512 tokens in the export \('attention_mask' \[batch, 512\]\).*re-export with a dynamic sequence axis/);
    expect(r.padding.reason).not.toMatch(/shares no sequence axis/);
    expect(r.verdict).not.toBe('violated');
  });

  test('padding asked for on it: one line naming the fixed length, not a --pad-axis that cannot work', async () => {
    const message = await badInput(checkBatchInvariance(fixed, { ...sweep, padding: { mask: 'attention_mask' } }));
    expect(message).toMatch(/the sequence axis is fixed at 512 tokens/);
    expect(message).not.toMatch(/--pad-axis/);
  });

  test('positions beyond a fixed axis table: no --dim on a fixed dim in the cure', async () => {
    const short = exportedTextModel({ seq: 512, positions: { from: 'input', rows: 510 } });
    const message = await badInput(checkBatchInvariance(short, sweep));
    expect(message).toMatch(/input 'position_ids' holds positions 0\.\.511, but the table it indexes.* allows 0\.\.509; the model fixes that axis at 512/);
    expect(message).not.toMatch(/--dim 512/);
  });
});

describe('real export shapes, with no flags', () => {
  test.each([
    ['int32 mask and ids (tf2onnx)', { mask: { dtype: 'int32' }, ids: { dtype: 'int32' } }],
    ['bool mask', { mask: { dtype: 'bool' } }],
    ["mask named 'input_mask'", { mask: { name: 'input_mask' } }],
    ['no token_type_ids, position_ids an input', { positions: { from: 'input' } }],
    ['token_type_ids and position_ids', { types: true, positions: { from: 'input' } }],
    ["'sequence_length' and 'batch_size'", { seq: 'sequence_length', batch: 'batch_size' }],
    ["'seq' and 'N'", { seq: 'seq', batch: 'N' }],
    ["'unk__123' (a dim onnxruntime named)", { seq: 'unk__123' }],
    ['token embeddings, pooled and an int64 label together', { hidden: true, label: true }],
    ['positions from the mask (a left-padding model)', { positions: { from: 'from-mask' } }],
    ["position input named 'pos_ids' with a table wider than the vocabulary", { ids: { vocab: 30 }, positions: { from: 'input', name: 'pos_ids', rows: 512 } }],
  ] as const)('%s', async (_name, shape) => {
    const r = await checkBatchInvariance(exportedTextModel(shape as Parameters<typeof exportedTextModel>[0]), sweep);
    paddingClean(r);
    // Sequence outputs are compared on the real tokens: nothing left out of a padding run.
    expect(r.padding.comparisons.every((c) => c.skipped.length === 0)).toBe(true);
  });

  test("the token input is the vocabulary's, not a wider position table's: --pad-id is checked against it", async () => {
    const model = exportedTextModel({ ids: { vocab: 30 }, positions: { from: 'input', name: 'pos_ids', rows: 512 } });
    expect(await badInput(checkBatchInvariance(model, { ...sweep, padding: { padId: 40 } }))).toMatch(/--pad-id 40: 'input_ids' takes ids below 30/);
  });

  test('negative controls: the same shapes with pooling that ignores the mask fail with padding', async () => {
    for (const shape of [{ mask: { dtype: 'bool' as const } }, { seq: 'unk__123', batch: 'N' }, { hidden: true, label: true }]) {
      const r = await checkBatchInvariance(exportedTextModel({ ...shape, masked: false }), sweep);
      expect(r.causes).toContain('padding');
    }
  });

  test('a left-padding model (positions from the mask) is clean padded on the left too', async () => {
    const r = await checkBatchInvariance(exportedTextModel({ positions: { from: 'from-mask' } }), { ...sweep, padding: { side: 'left' } });
    paddingClean(r);
    expect(byRun(r)['other-side'].bitExact).toBe(true);
  });

  test('a position_ids model padded on the left: its tokens get positions 0..len-1, so it is clean', async () => {
    const r = await checkBatchInvariance(exportedTextModel({ positions: { from: 'input' } }), { ...sweep, padding: { side: 'left' } });
    paddingClean(r);
  });
});

describe('ids whose table the graph does not show', () => {
  // The ids reach the table through an op batchproof does not follow (a Mul by 1): no bound is
  // found, so ids are synthesized below the vocab default 100, beyond the 50-row table.
  const hidden = buildModel({
    opset: 17,
    inputs: [
      { name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
      { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] },
    ],
    outputs: [{ name: 'tokens', dtype: 'float32', shape: ['batch', 'sequence', 4] }],
    initializers: [
      { name: 'table', dtype: 'float32', dims: [TEXT_VOCAB, 4], data: seededFloats(TEXT_VOCAB * 4, 3) },
      { name: 'one', dtype: 'int64', dims: [], data: [1] },
    ],
    nodes: [
      { op: 'Mul', inputs: ['input_ids', 'one'], outputs: ['ids_times_one'] },
      { op: 'Gather', inputs: ['table', 'ids_times_one'], outputs: ['tokens'], attrs: { axis: 0 } },
    ],
  });

  test("onnxruntime's Gather error names the vocab as the cure, and the CLI takes --vocab", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-vocab-'));
    try {
      const file = path.join(dir, 'text.onnx');
      fs.writeFileSync(file, hidden);
      const bad = await cli('check', file, '--batch-sizes', '1,4');
      expect(bad.code).toBe(2);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr).toMatch(/indices element out of data bounds.*batchproof found no table for the ids in the graph and synthesized 'input_ids' below 100, more than a table of 50 rows takes; set the vocabulary \(API: vocab: 50, CLI --vocab 50\)/);
      // Every command that synthesizes ids says the same (locate, determinism, compare).
      const hint = /indices element out of data bounds.*batchproof found no table for the ids in the graph and synthesized 'input_ids' below 100, more than a table of 50 rows takes; set the vocabulary \(API: vocab: 50, CLI --vocab 50\)/;
      for (const args of [['locate', file, '--batch-sizes', '1,4'], ['determinism', file], ['compare', file, '--against-threads', '2']]) {
        const other = await cli(...args);
        expect([args[0], other.code]).toEqual([args[0], 2]);
        expect(other.stderr.trim().split('\n')).toHaveLength(1);
        expect(other.stderr).toMatch(hint);
      }
      for (const args of [['determinism', file, '--vocab', '50'], ['compare', file, '--against-threads', '2', '--vocab', '50']]) {
        expect([args[0], (await cli(...args)).code]).toEqual([args[0], 0]);
      }
      const good = await cli('check', file, '--batch-sizes', '1,4', '--vocab', '50', '--json', '-');
      expect(good.code).toBe(0);
      const report = JSON.parse(good.stdout);
      expect(report.model.inputs[0].synthesis).toMatchObject({ kind: 'ids', high: 50, table: null });
      expect(report.padding.tested).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
