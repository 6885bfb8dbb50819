// Decoder exports with a KV cache, as optimum and transformers.js make them: input_ids and
// position_ids [batch_size, sequence_length], past_key_values.N.key/value [batch_size, heads,
// past_sequence_length, head_dim], use_cache_branch bool [1], and an attention_mask over the past
// and the new tokens, its dim named 'past_sequence_length + sequence_length'. Sized as a symbol of
// its own (16) the mask did not fit the 32 keys and onnxruntime failed on every check.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkBatchInvariance, checkDeterminism, formatReport } from '../../src';
import { cli } from '../helpers/cli';
import { buildModel, seededFloats } from '../helpers/models';
import { DataType } from '../../src/onnx/proto';

const T = 'past_sequence_length + sequence_length';
function decoderModel(o: { leaky?: boolean; unmasked?: boolean } = {}): Uint8Array {
  const f32 = (name: string, dims: number[], data: ArrayLike<number>) => ({ name, dtype: 'float32', dims, data });
  const i64 = (name: string, dims: number[], data: number[]) => ({ name, dtype: 'int64', dims, data: BigInt64Array.from(data.map(BigInt)) });
  return buildModel({
    opset: 17,
    inputs: [
      { name: 'input_ids', dtype: 'int64', shape: ['batch_size', 'sequence_length'] },
      { name: 'attention_mask', dtype: 'int64', shape: ['batch_size', T] },
      { name: 'position_ids', dtype: 'int64', shape: ['batch_size', 'sequence_length'] },
      { name: 'past_key_values.0.key', dtype: 'float32', shape: ['batch_size', 2, 'past_sequence_length', 4] },
      { name: 'past_key_values.0.value', dtype: 'float32', shape: ['batch_size', 2, 'past_sequence_length', 4] },
      { name: 'use_cache_branch', dtype: 'bool', shape: [1] },
    ],
    outputs: [
      { name: 'logits', dtype: 'float32', shape: ['batch_size', 'sequence_length', 8] },
      { name: 'present.0.key', dtype: 'float32', shape: ['batch_size', 2, T, 4] },
      { name: 'present.0.value', dtype: 'float32', shape: ['batch_size', 2, T, 4] },
    ],
    initializers: [
      f32('wte', [50, 8], seededFloats(400, 1)), f32('wpe', [64, 8], seededFloats(512, 2)),
      i64('split', [4], [0, 0, 2, 4]), i64('merge', [3], [0, 0, 8]), i64('ax12', [2], [1, 2]),
      f32('one', [], [1]), f32('neg', [], [-10000]), f32('zero', [], [0]),
    ],
    nodes: [
      { op: 'Gather', inputs: ['wte', 'input_ids'], outputs: ['tok'], attrs: { axis: 0 } },
      { op: 'Gather', inputs: ['wpe', 'position_ids'], outputs: ['pe'], attrs: { axis: 0 } },
      { op: 'Add', inputs: ['tok', 'pe'], outputs: ['h'] },
      { op: 'Reshape', inputs: ['h', 'split'], outputs: ['h4'] },
      { op: 'Transpose', inputs: ['h4'], outputs: ['knew'], attrs: { perm: [0, 2, 1, 3] } },
      { op: 'Concat', inputs: ['past_key_values.0.key', 'knew'], outputs: ['present.0.key'], attrs: { axis: 2 } },
      { op: 'Concat', inputs: ['past_key_values.0.value', 'knew'], outputs: ['present.0.value'], attrs: { axis: 2 } },
      { op: 'Transpose', inputs: ['present.0.key'], outputs: ['kt'], attrs: { perm: [0, 1, 3, 2] } },
      { op: 'MatMul', inputs: ['knew', 'kt'], outputs: ['scores'] },
      { op: 'Cast', inputs: ['attention_mask'], outputs: ['mf'], attrs: { to: DataType.FLOAT } },
      { op: 'Sub', inputs: ['one', 'mf'], outputs: ['inv'] },
      { op: 'Mul', inputs: ['inv', 'neg'], outputs: ['addm'] },
      { op: 'Unsqueeze', inputs: ['addm', 'ax12'], outputs: ['addm4'] },
      // unmasked: the mask is read and dropped (scores + 0 * mask), so pads get attention.
      ...(o.unmasked ? [{ op: 'Mul', inputs: ['addm4', 'zero'], outputs: ['addm0'] }, { op: 'Add', inputs: ['scores', 'addm0'], outputs: ['scores2'] }] : [{ op: 'Add', inputs: ['scores', 'addm4'], outputs: ['scores2'] }]),
      { op: 'Softmax', inputs: ['scores2'], outputs: ['probs'], attrs: { axis: -1 } },
      { op: 'MatMul', inputs: ['probs', 'present.0.value'], outputs: ['ctx'] },
      { op: 'Transpose', inputs: ['ctx'], outputs: ['ctxt'], attrs: { perm: [0, 2, 1, 3] } },
      { op: 'Reshape', inputs: ['ctxt', 'merge'], outputs: [o.leaky ? 'logits0' : 'logits'] },
      ...(o.leaky
        ? [
            { op: 'ReduceMean', inputs: ['logits0'], outputs: ['batchMean'], attrs: { axes: [0], keepdims: 1 } },
            { op: 'Sub', inputs: ['logits0', 'batchMean'], outputs: ['logits'] },
          ]
        : []),
    ],
  } as never);
}

const small = { batchSizes: [1, 2, 3] };

describe('a decoder export with a KV cache', () => {
  test("with no flags, the mask's 'past_sequence_length + sequence_length' is the sum of its terms and the check runs", async () => {
    const r = await checkBatchInvariance(decoderModel(), small);
    expect(r.verdict).toBe('invariant');
    expect(r.model.dims).toMatchObject({ sequence_length: 16, past_sequence_length: 16, [T]: 32 });
    expect(r.model.defaultedDims).not.toContain(T);
    expect(formatReport(r, { color: false })).toMatch(/past_sequence_length \+ sequence_length=32/);
  });

  test('--dim on the terms sizes the sum', async () => {
    const r = await checkBatchInvariance(decoderModel(), { ...small, dims: { past_sequence_length: 3, sequence_length: 5 } });
    expect(r.model.dims[T]).toBe(8);
    expect(r.verdict).toBe('invariant');
  });

  test('padding is untested with a reason that is true and names what to do', async () => {
    const r = await checkBatchInvariance(decoderModel(), small);
    expect(r.padding.tested).toBe(false);
    expect(r.padding.reason).toBe(
      "the mask 'attention_mask' spans 'past_sequence_length + sequence_length' (a KV cache's past tokens and the new ones), not the axis of the token input 'input_ids' [batch_size, sequence_length], and batchproof pads a mask and its tokens along one axis; synthesized masks are all 1s (no pads); run a first step, the cache empty, where the mask spans the new tokens only and padding is tested (--dim past_sequence_length=0; API: dims: { past_sequence_length: 0 }), check the export without a cache (optimum's decoder_model.onnx) for padding, or give samples with your own pads (--inputs)",
    );
    const error = await checkBatchInvariance(decoderModel(), { ...small, padding: { mask: 'attention_mask' } }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('BadInputError');
    expect((error as Error).message).toMatch(/^padding asked for, but the mask 'attention_mask' spans 'past_sequence_length \+ sequence_length' .*--dim past_sequence_length=0.*, or leave padding off$/);
    // What was fed, in the inputs line: the mask held no pads.
    expect(formatReport(r, { color: false })).toContain('attention_mask mask, all 1s (no pads)');
    // So a decoder that ignores its mask is not caught here: the reason's cure is what catches it (next test).
    expect((await checkBatchInvariance(decoderModel({ unmasked: true }), small)).causes).not.toContain('padding');
  });

  test('on a first step (past_sequence_length 0) the mask spans the new tokens only, and padding is tested', async () => {
    const first = { ...small, dims: { past_sequence_length: 0 } };
    const r = await checkBatchInvariance(decoderModel(), first);
    expect(r.padding).toMatchObject({ tested: true, axis: 'sequence_length', mask: 'attention_mask', limit: 16 });
    expect(r.padding.comparisons.map((c) => c.run)).toEqual(['unpadded', 'pad-ids', 'other-side', 'served']);
    for (const run of ['unpadded', 'pad-ids']) expect(r.padding.comparisons.find((c) => c.run === run)).toMatchObject({ bitExact: true, skipped: [] });
    // present.N.key/value ('past_sequence_length + sequence_length') are compared on the real tokens, not left out.
    expect(r.notes.filter((n) => /left out of the padding runs/.test(n))).toEqual([]);
    expect(r.causes).not.toContain('padding');
    expect(formatReport(r, { color: false })).toContain('attention_mask mask (1 on tokens, 0 on pads)');
    // Negative control: attention that drops the mask lets the pads in.
    const unmasked = await checkBatchInvariance(decoderModel({ unmasked: true }), first);
    expect(unmasked.verdict).toBe('violated');
    expect(unmasked.causes).toContain('padding');
    expect(unmasked.padding.comparisons.find((c) => c.run === 'pad-ids')?.pass).toBe(false);
    // --pad-axis names the tokens' axis; the mask's own dim holds no tokens to pad, one line (never a TypeError).
    expect((await checkBatchInvariance(decoderModel(), { ...first, padding: { axis: 'sequence_length' } })).padding.tested).toBe(true);
    await expect(checkBatchInvariance(decoderModel(), { ...first, padding: { axis: T } })).rejects.toThrow(
      /^--pad-axis past_sequence_length \+ sequence_length: no token input \(integer ids\) has the dim 'past_sequence_length \+ sequence_length', so there are no tokens to pad along it; the token inputs' sequence dims are: sequence_length; name one of them, or leave padding off \(--padding off\)$/,
    );
  });

  test('--pad-axis sequence_length with a cache (past_sequence_length 4): the same cure as the automatic path, one line', async () => {
    const cure = '--dim past_sequence_length=0; API: dims: { past_sequence_length: 0 }';
    const withCache = { ...small, dims: { past_sequence_length: 4 } };
    // The automatic path says it in its reason; the explicit axis must say it too, not "no dim".
    expect((await checkBatchInvariance(decoderModel(), withCache)).padding.reason).toContain(cure);
    const error = (await checkBatchInvariance(decoderModel(), { ...withCache, padding: { axis: 'sequence_length' } }).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('BadInputError');
    expect(error.message).toBe(
      `--pad-axis sequence_length: the mask 'attention_mask' spans '${T}' (a KV cache's past tokens and the new ones), not 'sequence_length' alone, and batchproof pads a mask and its tokens along one axis; run a first step, the cache empty, where the mask spans the new tokens only and padding is tested (${cure}), or leave padding off (--padding off)`,
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-kv-'));
    try {
      const file = path.join(dir, 'decoder_model_merged.onnx');
      fs.writeFileSync(file, decoderModel());
      const r = await cli('check', file, '--batch-sizes', '1,2,3', '--dim', 'past_sequence_length=4', '--pad-axis', 'sequence_length');
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(cure);
      // The cure works: the same flags on a first step test padding.
      const first = await cli('check', file, '--batch-sizes', '1,2,3', '--dim', 'past_sequence_length=0', '--pad-axis', 'sequence_length', '--json', '-');
      expect([first.code, first.stderr]).toEqual([0, '']);
      expect(JSON.parse(first.stdout).padding).toMatchObject({ tested: true, axis: 'sequence_length' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a first step (past_sequence_length 0, an empty cache) can be asked for', async () => {
    const r = await checkBatchInvariance(decoderModel(), { ...small, dims: { past_sequence_length: 0 } });
    expect(r.model.dims).toMatchObject({ past_sequence_length: 0, [T]: 16 });
    expect(r.verdict).toBe('invariant');
    const leaky = await checkBatchInvariance(decoderModel({ leaky: true }), { ...small, dims: { past_sequence_length: 0 } });
    expect(leaky.verdict).toBe('violated');
  });

  test('dims of 0 that empty every input are refused, never a pass on nothing', async () => {
    const dims = { past_sequence_length: 0, sequence_length: 0 };
    const empty = /^every batched input is empty \('input_ids' \[N, 0\], .*sequence_length=0.*\), so no sample holds a value and nothing could differ; give the dims sizes of 1 or more \(--dim\)$/;
    await expect(checkBatchInvariance(decoderModel(), { ...small, dims })).rejects.toThrow(empty);
    await expect(checkDeterminism(decoderModel(), { dims })).rejects.toThrow(empty);
  });

  test('CLI: --dim past_sequence_length=0 runs the first step', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-kv-'));
    try {
      const file = path.join(dir, 'decoder_model_merged.onnx');
      fs.writeFileSync(file, decoderModel());
      const r = await cli('check', file, '--batch-sizes', '1,2,3', '--dim', 'past_sequence_length=0', '--json', '-');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).model.dims).toMatchObject({ past_sequence_length: 0, [T]: 16 });
      expect(JSON.parse(r.stdout).padding).toMatchObject({ tested: true, axis: 'sequence_length', mask: 'attention_mask' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the one seeded use_cache_branch flag is named, with its value and how to choose the other branch', async () => {
    const r = await checkBatchInvariance(decoderModel(), small);
    const flag = r.model.inputs.find((i) => i.name === 'use_cache_branch')?.synthesis as { kind: string; shared?: boolean[] };
    expect(flag.kind).toBe('bool');
    expect(flag.shared).toHaveLength(1);
    expect(formatReport(r, { color: false })).toContain(
      `use_cache_branch bool shared by the batch: ${flag.shared?.[0]} (seeded at random, so only that branch of the model runs; choose with --const use_cache_branch=1 or use_cache_branch=0)`,
    );
    for (const value of [0, 1]) {
      const chosen = await checkBatchInvariance(decoderModel(), { ...small, consts: { use_cache_branch: value } });
      expect(chosen.model.inputs.find((i) => i.name === 'use_cache_branch')?.synthesis).toEqual({ kind: 'const' });
    }
  });

  test('negative control: a leak through it is still found', async () => {
    const r = await checkBatchInvariance(decoderModel({ leaky: true }), small);
    expect(r.verdict).toBe('violated');
    expect(r.causes).toContain('leakage');
  });
});
