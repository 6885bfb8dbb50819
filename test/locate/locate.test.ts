import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BadInputError, checkBatchInvariance, locateDivergence } from '../../src';
import { main } from '../../src/cli/main';
import {
  batchNormTrainingModel,
  bnModel,
  buildModel,
  seededFloats,
  driftModel,
  invariantModel,
  layerNormLeakyModel,
  leakyModel,
  nondeterministicModel,
  positionModel,
  amplifiedNoiseModel,
  batchScaledNoiseModel,
  inputlessRandomModel,
  trainingDropoutModel,
} from '../helpers/models';
import { exportedTextModel, maskedAttentionModel, maskedPoolingModel, unmaskedPoolingModel } from '../helpers/text-models';

const examples = path.join(__dirname, '..', '..', 'examples', 'models');
const small = { batchSizes: [1, 2, 3] };

describe('locateDivergence', () => {
  test('names the BatchNorm of a training-mode model built for the test (leakage)', async () => {
    const r = await locateDivergence(batchNormTrainingModel(), small);
    expect(r.firstDivergence).toEqual({ node: 'BatchNormalization_0', op: 'BatchNormalization', output: 'y', maxAbs: expect.any(Number), cause: 'leakage' });
    expect(r.compared).toMatchObject({ cause: 'leakage', runs: ['permuted', 'mates'] });
    expect(r.guard).toEqual({ equal: true, optimization: 'all', detail: null });
    expect(r).toMatchObject({ schema: 1, kind: 'locate', check: { verdict: 'violated', causes: ['leakage'] } });
  });

  test('names the first BatchNorm of the exported training-mode CNN', async () => {
    const r = await locateDivergence(path.join(examples, 'embedding_cnn_train_bn.onnx'), small);
    expect(r.firstDivergence).toMatchObject({
      node: '/block1/block1.0/bn/BatchNormalization',
      op: 'BatchNormalization',
      output: '/block1/block1.0/bn/BatchNormalization_output_0',
      cause: 'leakage',
    });
    expect(r.firstDivergence?.maxAbs).toBeGreaterThan(1e-3);
    // The stem Conv before it was compared and equal.
    expect(r.values.compared).toBeGreaterThan(10);
  });

  test('the built two-BatchNorm model in training mode: the first of them', async () => {
    const r = await locateDivergence(bnModel({ trainingMode: true }).bytes, small);
    expect(r.firstDivergence?.node).toBe('/bn1/BatchNormalization');
  });

  // Every intermediate value comes back at once from the instrumented model: at batch 512 the
  // bundled training-mode CNN's took 4.9 GB where its check took 1.1 GB, with no guard.
  test('intermediate values that cannot fit at the searched size are one line, before that run', async () => {
    const wide = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
      initializers: [
        { name: 'W1', dtype: 'float32', dims: [8, 256], data: seededFloats(8 * 256, 3) },
        { name: 'W2', dtype: 'float32', dims: [256, 8], data: seededFloats(256 * 8, 4) },
      ],
      nodes: [
        { op: 'MatMul', inputs: ['x', 'W1'], outputs: ['h'] },
        { op: 'Relu', inputs: ['h'], outputs: ['r'] },
        { op: 'MatMul', inputs: ['r', 'W2'], outputs: ['z'] },
        { op: 'ReduceMean', inputs: ['z'], outputs: ['mean'], attrs: { axes: [0], keepdims: 1 } },
        { op: 'Sub', inputs: ['z', 'mean'], outputs: ['y'] },
      ],
    });
    // The check's own batch of 64 needs about 10 KB; h and r alone are 2 KB a row, twice.
    const options = { batchSizes: [1, 64], maxBytes: 100_000 };
    expect((await checkBatchInvariance(wide, options)).verdict).toBe('violated');
    const refused = await locateDivergence(wide, options).then(() => null, (e: Error) => e);
    expect(refused).toBeInstanceOf(BadInputError);
    expect((refused as Error).message).toMatch(/^<bytes>: locate exposes \d+ intermediate values as outputs, all held at once: at batch 64 they need about \d+\.\d KB \(limit 100\.0 KB\); search at a smaller size that fails .*--max-memory\)$/);
    // Searched at a size that fits, the same model names the node.
    expect((await locateDivergence(wide, { batchSizes: [1, 2], maxBytes: 100_000 })).firstDivergence?.node).toBe('ReduceMean_3');
  });

  test('a mean over the batch: the ReduceMean', async () => {
    const r = await locateDivergence(leakyModel(), small);
    expect(r.firstDivergence).toMatchObject({ node: 'ReduceMean_0', op: 'ReduceMean', cause: 'leakage' });
  });

  test('position dependence starts at the Range over the batch', async () => {
    const r = await locateDivergence(positionModel(), small);
    expect(r.firstDivergence).toMatchObject({ op: 'Range', cause: 'position' });
  });

  test('batch-size drift: found under an exact tolerance, within the default one', async () => {
    const exact = await locateDivergence(driftModel(), { ...small, tolerance: 'exact' });
    expect(exact.firstDivergence).toMatchObject({ op: 'MatMul', cause: 'batch-size' });
    const loose = await locateDivergence(driftModel(), small);
    expect(loose.firstDivergence).toBeNull();
    expect(loose.firstBitwise).toMatchObject({ op: 'MatMul' });
    expect(loose.summary).toMatch(/^no node differs beyond the tolerance between the probe alone and in a batch \(batch \d+\); the first bitwise difference is at/);
  });

  test('nondeterminism: the same batch twice', async () => {
    const r = await locateDivergence(nondeterministicModel(), { ...small, tolerance: 'exact' });
    expect(r.firstDivergence).toMatchObject({ op: 'RandomUniformLike', cause: 'nondeterminism' });
  });

  test('nothing diverges in an invariant model', async () => {
    const r = await locateDivergence(invariantModel(), small);
    expect(r.firstDivergence).toBeNull();
    expect(r.compared).toBeNull();
  });

  test('reuses a given invariance report instead of sweeping again', async () => {
    const model = batchNormTrainingModel();
    const report = await checkBatchInvariance(model, small);
    const r = await locateDivergence(model, { ...small, report });
    expect(r.firstDivergence?.node).toBe('BatchNormalization_0');
  });

  test('the guard: when exposing values changes fused kernels, search unoptimized and say so', async () => {
    // onnxruntime fuses the written-out LayerNorm in the plain model but not once its parts are
    // graph outputs; the fused kernel rounds differently (see layerNormLeakyModel).
    const r = await locateDivergence(layerNormLeakyModel(), small);
    expect(r.guard.equal).toBe(false);
    expect(r.guard.optimization).toBe('disabled');
    expect(r.guard.detail).toMatch(/the final output 'y' differs from the plain model's on the same inputs .* so the search ran with graph optimization disabled/);
    expect(r.notes).toContain(r.guard.detail);
    // The search still names the mean over the batch.
    expect(r.firstDivergence).toMatchObject({ node: 'batch_mean', op: 'ReduceMean', cause: 'leakage' });
    expect(r.fingerprint.optimization).toBe('all');
  });

  test('an unknown option is rejected with the nearest real one, not ignored', async () => {
    // Ignored, 'tolerence' would leave the default tolerance and find nothing here (see the drift test).
    await expect(locateDivergence(driftModel(), { ...small, tolerence: 'exact' } as never)).rejects.toThrow(BadInputError);
    await expect(locateDivergence(driftModel(), { ...small, tolerence: 'exact' } as never)).rejects.toThrow(
      /^locateDivergence: unknown option 'tolerence' \(did you mean 'tolerance'\?\)/,
    );
    await expect(locateDivergence(invariantModel(), { batchsizes: [1, 2] } as never)).rejects.toThrow(/unknown option 'batchsizes' \(did you mean 'batchSizes'\?\)/);
    // The options toBeBatchInvariant passes on (its own, the samples and the report) are all known.
    const report = await checkBatchInvariance(invariantModel(), small);
    const r = await locateDivergence(invariantModel(), { ...small, samples: undefined, budget: { seconds: 30 }, onProgress: () => {}, threads: 1, report });
    expect(r.firstDivergence).toBeNull();
  });

  test('an InferenceSession cannot be searched: one clear line', async () => {
    const ort = await import('onnxruntime-node');
    const s = await ort.InferenceSession.create(invariantModel());
    await expect(locateDivergence(s)).rejects.toThrow(/locate needs the model's graph, which an InferenceSession does not expose/);
    await s.release();
  });
});

describe('batchproof locate', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-locate-'));
  async function cli(args: string[]): Promise<{ code: number; out: string }> {
    let out = '';
    const code = await main(args, (s) => (out += s + '\n'));
    return { code, out };
  }

  test('exit 1 and firstDivergence in JSON when a node is found', async () => {
    const model = path.join(dir, 'train.onnx');
    fs.writeFileSync(model, batchNormTrainingModel());
    const r = await cli(['locate', model, '--batch-sizes', '1,2,3', '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out);
    expect(report.firstDivergence).toMatchObject({ node: 'BatchNormalization_0', op: 'BatchNormalization', output: 'y', cause: 'leakage' });
    expect(report.fingerprint.provider).toBe('cpu');
    const text = await cli(['locate', model, '--batch-sizes', '1,2,3', '--no-color']);
    expect(text.out).toMatch(/diverges at BatchNormalization_0/);
  });

  test('exit 0 and null when nothing diverges', async () => {
    const model = path.join(dir, 'ok.onnx');
    fs.writeFileSync(model, invariantModel());
    const r = await cli(['locate', model, '--batch-sizes', '1,2', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).firstDivergence).toBeNull();
  });
});

describe('toBeBatchInvariant names the diverging node when it fails', () => {
  test('the failure message has a line with the first diverging node', async () => {
    await expect(expect(batchNormTrainingModel()).toBeBatchInvariant(small)).rejects.toThrow(
      /first diverging node: 'BatchNormalization_0' \(BatchNormalization\), output 'y', max abs .*, cause leakage/,
    );
  });

  test('a handle opened from bytes keeps them: locate and stats work on it, on cpu and wasm', async () => {
    const { openModel, checkRunningStats } = await import('../../src');
    for (const provider of ['cpu', 'wasm'] as const) {
      const handle = await openModel(batchNormTrainingModel(), { provider });
      try {
        await expect(expect(handle).toBeBatchInvariant(small)).rejects.toThrow(/first diverging node: 'BatchNormalization_0'/);
      } finally {
        await handle.close();
      }
    }
    const bn = await openModel(bnModel({ staleBn2: true }).bytes);
    try {
      const { bnCalibrationData } = await import('../helpers/models');
      expect((await checkRunningStats(bn, bnCalibrationData(64))).problems.map((p) => p.kind)).toContain('stale-stats');
    } finally {
      await bn.close();
    }
  });

  test('a failed search never hides the verdict', async () => {
    const ort = await import('onnxruntime-node');
    const s = await ort.InferenceSession.create(leakyModel());
    await expect(expect(s).toBeBatchInvariant(small)).rejects.toThrow(/violated[\s\S]*could not locate the diverging node: locate needs the model's graph/);
    await s.release();
  });
});

describe('text models: pad tokens that reach the output, and drift at a probe other than the first', () => {
  test('padding alone fails the check: locate names where the pads get in, not "no diverging node"', async () => {
    const unmasked = await locateDivergence(unmaskedPoolingModel(), small);
    expect(unmasked.check.causes).toContain('padding');
    expect(unmasked.firstDivergence).toEqual({ node: '/pooling/ReduceMean', op: 'ReduceMean', output: 'y', maxAbs: expect.any(Number), cause: 'padding' });
    expect(unmasked.firstDivergence?.maxAbs).toBeGreaterThan(1e-3);
    expect(unmasked.compared).toEqual({ cause: 'padding', batchSize: 1, probe: 0, runs: ['padded', 'pad-ids'], positions: [0, 0] });
    expect(unmasked.summary).toMatch(/^first divergence at node '\/pooling\/ReduceMean' \(ReduceMean\).*: padding, comparing the probe alone, with other pad tokens/);
    expect(unmasked.profile.map((p) => p.node)).toContain('/pooling/ReduceMean');
    const attention = await locateDivergence(maskedAttentionModel(false), small);
    expect(attention.firstDivergence).toMatchObject({ node: '/attention/Softmax', cause: 'padding' });
    // The controls: a masked model's padding holds, so the batch runs are searched as before.
    for (const ok of [maskedPoolingModel(), maskedAttentionModel(true)]) {
      const r = await locateDivergence(ok, small);
      expect(r.check.causes).not.toContain('padding');
      expect(r.firstDivergence).toBeNull();
      expect(r.compared?.cause ?? null).not.toBe('padding');
    }
  });

  test("drift whose worst element is in a padding run: the probe that drifts at that size is searched, not one bitwise equal there", async () => {
    const model = path.join(examples, 'text_embedder.onnx');
    // Seed 5: the worst element is in the texts padded together (batch 3), and probe 0 is
    // bitwise equal in the batch of 3, so the probe that drifts there (probe 1) is searched.
    const sweep3 = { batchSizes: [1, 3], seed: 5 };
    const report = await checkBatchInvariance(model, sweep3);
    const at3 = report.batches.find((b) => b.size === 3);
    expect(at3?.causes).toEqual(['batch-size']);
    expect(report.worst?.run).toBe('served-padded');
    const r = await locateDivergence(model, { ...sweep3, report });
    expect(r.compared).toMatchObject({ cause: 'batch-size', batchSize: 3, probe: 1 });
    // Some node differs bitwise between the probe alone and in the batch: the drift the check saw.
    expect(r.firstBitwise).not.toBeNull();
    expect(r.summary).not.toMatch(/no node differs between the compared runs/);
  });
});

describe('per-output tolerances (--output-tolerance): locate agrees with check', () => {
  /** driftModel's y (batch-size drift of a few 1e-6), and z = 1000 y, which drifts by a few 1e-3. */
  function twoOutputDrift(): Uint8Array {
    const f32 = (name: string, dims: number[], data: ArrayLike<number>) => ({ name, dtype: 'float32', dims, data });
    const i64 = (name: string, dims: number[], data: number[]) => ({ name, dtype: 'int64', dims, data });
    const k = 256;
    return buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', k] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 16] }, { name: 'z', dtype: 'float32', shape: ['N', 16] }],
      initializers: [f32('W', [k * 16], seededFloats(k * 16, 11)), i64('one_i', [1], [1]), i64('two_i', [1], [2]), i64('minus_one', [1], [-1]), f32('thousand', [], [1000])],
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['x_shape'] },
        { op: 'Slice', inputs: ['x_shape', 'one_i', 'two_i'], outputs: ['k_dim'] },
        { op: 'Concat', inputs: ['k_dim', 'minus_one'], outputs: ['w_shape'], attrs: { axis: 0 } },
        { op: 'Reshape', inputs: ['W', 'w_shape'], outputs: ['W_runtime'] },
        { op: 'MatMul', inputs: ['x', 'W_runtime'], outputs: ['y'], name: 'matmul' },
        { op: 'Mul', inputs: ['y', 'thousand'], outputs: ['z'], name: 'scale_up' },
      ],
    });
  }

  test('check passes with a loose tolerance on the drifting output: locate names no node and exits 0', async () => {
    const options = { ...small, tolerance: 'exact' as const, outputTolerances: { y: { atol: 1e-3 } } };
    const check = await checkBatchInvariance(driftModel(), options);
    expect(check.verdict).toBe('within-tolerance');
    const r = await locateDivergence(driftModel(), options);
    expect(r.firstDivergence).toBeNull();
    expect(r.firstBitwise).toMatchObject({ op: 'MatMul', output: 'y' });
    expect(r.tolerance).toBe('exact (bitwise); y: atol=1e-3, rtol=0');
    // The CLI with the same flags: both exit 0.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-locate-tol-'));
    try {
      const file = path.join(dir, 'drift.onnx');
      fs.writeFileSync(file, driftModel());
      const flags = [file, '--batch-sizes', '1,2,3', '--tolerance', 'exact', '--output-tolerance', 'y:atol=1e-3'];
      expect(await main(['check', ...flags, '--json', path.join(dir, 'c.json')], () => {}, () => {})).toBe(0);
      expect(await main(['locate', ...flags, '--json', path.join(dir, 'l.json')], () => {}, () => {})).toBe(0);
      // Negative control: without the per-output tolerance both fail.
      expect(await main(['check', ...flags.slice(0, 5), '--json', path.join(dir, 'c2.json')], () => {}, () => {})).toBe(1);
      expect(await main(['locate', ...flags.slice(0, 5), '--json', path.join(dir, 'l2.json')], () => {}, () => {})).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('only the outputs that fail under their own tolerance are searched, under that tolerance', async () => {
    // y within its loose tolerance; z (1000 y) beyond its atol=1e-4; the global tolerance is exact.
    const options = { ...small, tolerance: 'exact' as const, outputTolerances: { y: { atol: 1e-3 }, z: { atol: 1e-4 } } };
    const check = await checkBatchInvariance(twoOutputDrift(), options);
    expect(check.verdict).toBe('violated');
    expect(check.batches.flatMap((b) => b.outputs.filter((o) => !o.pass).map((o) => o.output))).not.toContain('y');
    const r = await locateDivergence(twoOutputDrift(), options);
    // The MatMul drifts by a few 1e-6: beyond exact, within z's 1e-4; the first value beyond z's own tolerance is the Mul.
    expect(r.firstBitwise).toMatchObject({ node: 'matmul' });
    expect(r.firstDivergence).toMatchObject({ node: 'scale_up', op: 'Mul', output: 'z', cause: 'batch-size' });
  });

  test('an --output-tolerance naming no output is refused in one line, as check refuses it', async () => {
    await expect(locateDivergence(driftModel(), { ...small, outputTolerances: { nope: 'exact' } })).rejects.toThrow(/^outputTolerances \(CLI --output-tolerance\) names output 'nope', which the model does not have; its outputs are: y$/);
  });
});

describe("locate's padding search runs the guard it reports", () => {
  /** Token embeddings through a LayerNorm written out op by op (fused in the plain model only), then a mean over the sequence that ignores the mask. */
  function unmaskedLayerNormText(): Uint8Array {
    const d = 64;
    const f32 = (name: string, dims: number[], data: ArrayLike<number>) => ({ name, dtype: 'float32', dims, data });
    return buildModel({
      opset: 17,
      inputs: [
        { name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
        { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] },
      ],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', d] }],
      initializers: [f32('table', [50, d], seededFloats(50 * d, 3)), f32('two', [], [2]), f32('eps', [], [1e-5]), f32('gamma', [d], seededFloats(d, 5)), f32('beta', [d], seededFloats(d, 6))],
      nodes: [
        { op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['x'], attrs: { axis: 0 }, name: 'embeddings' },
        { op: 'ReduceMean', inputs: ['x'], outputs: ['mu'], attrs: { axes: [-1] } },
        { op: 'Sub', inputs: ['x', 'mu'], outputs: ['centred'] },
        { op: 'Pow', inputs: ['centred', 'two'], outputs: ['sq'] },
        { op: 'ReduceMean', inputs: ['sq'], outputs: ['var'], attrs: { axes: [-1] } },
        { op: 'Add', inputs: ['var', 'eps'], outputs: ['var_eps'] },
        { op: 'Sqrt', inputs: ['var_eps'], outputs: ['std'] },
        { op: 'Div', inputs: ['centred', 'std'], outputs: ['normed'] },
        { op: 'Mul', inputs: ['normed', 'gamma'], outputs: ['scaled'] },
        { op: 'Add', inputs: ['scaled', 'beta'], outputs: ['ln'] },
        { op: 'ReduceMean', inputs: ['ln'], outputs: ['y'], attrs: { axes: [1], keepdims: 0 }, name: 'unmasked_pool' },
      ],
    });
  }

  test('exposing values stops a fusion: the guard says so and the search runs unoptimized', async () => {
    const r = await locateDivergence(unmaskedLayerNormText(), small);
    expect(r.compared?.cause).toBe('padding');
    expect(r.guard.equal).toBe(false);
    expect(r.guard.optimization).toBe('disabled');
    expect(r.guard.detail).toMatch(/the final output 'y' differs from the plain model's on the same inputs .* so the search ran with graph optimization disabled/);
    expect(r.notes).toContain(r.guard.detail);
    expect(r.firstDivergence).toMatchObject({ node: 'unmasked_pool', cause: 'padding' });
  });

  test('control: where nothing is fused, the guard passes', async () => {
    const r = await locateDivergence(unmaskedPoolingModel(), small);
    expect(r.compared?.cause).toBe('padding');
    expect(r.guard).toEqual({ equal: true, optimization: 'all', detail: null });
  });
});

describe('leakage where two batches of one size agree within the tolerance but the rows fail against the probe alone', () => {
  const f32 = (name: string, dims: number[], data: ArrayLike<number>) => ({ name, dtype: 'float32', dims, data });
  /** y = x - mean over the batch of clip(x, -1, 1): batch-mates 100 times larger are clipped, so the outlier run passes too. */
  function clippedCentring(): Uint8Array {
    return buildModel({
      opset: 17,
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
      initializers: [f32('lo', [], [-1]), f32('hi', [], [1])],
      nodes: [
        { op: 'Clip', inputs: ['x', 'lo', 'hi'], outputs: ['xc'], name: 'clip' },
        { op: 'ReduceMean', inputs: ['xc'], outputs: ['mean'], attrs: { axes: [0], keepdims: 1 }, name: 'batch_mean' },
        { op: 'Sub', inputs: ['x', 'mean'], outputs: ['y'], name: 'centre' },
      ],
    });
  }
  // At 64 the means of two sets of batch-mates differ by about 0.2; the probe's row moves by about 0.95 from its own.
  const options = { batchSizes: [1, 64], tolerance: { atol: 0.3 } };

  test('the mean over the batch: the outlier run, which fails, is searched, not the pair that passes', async () => {
    const check = await checkBatchInvariance(leakyModel(), options);
    expect(check).toMatchObject({ verdict: 'violated', causes: ['leakage'], outlier: { pass: false } });
    const r = await locateDivergence(leakyModel(), { ...options, report: check });
    expect(r.firstDivergence).toMatchObject({ node: 'ReduceMean_0', op: 'ReduceMean', cause: 'leakage' });
    expect(r.compared).toMatchObject({ cause: 'leakage', batchSize: 64, runs: ['batch', 'outlier'] });
    expect(r.notes.join('\n')).toMatch(/two batches of 64 that differ only in the batch-mates stay within the tolerance, so the outlier run, which fails, is searched/);
  });

  test('the outlier run passes too: the probe alone against the failing batch, and the CLI exits 1 as check does', async () => {
    const check = await checkBatchInvariance(clippedCentring(), options);
    expect(check).toMatchObject({ verdict: 'violated', causes: ['leakage'], outlier: { pass: true } });
    const r = await locateDivergence(clippedCentring(), { ...options, report: check });
    // The mean is not per-sample, so across sizes the first value compared is the Sub.
    expect(r.firstDivergence).toMatchObject({ node: 'centre', op: 'Sub', output: 'y', cause: 'leakage' });
    expect(r.firstDivergence?.maxAbs).toBeGreaterThan(0.3);
    expect(r.compared).toMatchObject({ cause: 'leakage', batchSize: 64, runs: ['reference', expect.stringMatching(/^(batch|mates|permuted)$/)] });
    expect(r.summary).toMatch(/^first divergence at node 'centre' \(Sub\).*: leakage, comparing the probe alone and in a batch \(batch 64\)$/);
    expect(r.notes.join('\n')).toMatch(/stay within the tolerance, but the probe in a batch of 64 differs beyond it from the probe alone \(the check's failing comparison\)/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-locate-leak-'));
    try {
      const file = path.join(dir, 'clipped.onnx');
      fs.writeFileSync(file, clippedCentring());
      const flags = [file, '--batch-sizes', '1,64', '--tolerance', 'atol=0.3'];
      expect(await main(['check', ...flags, '--json', path.join(dir, 'c.json')], () => {}, () => {})).toBe(1);
      expect(await main(['locate', ...flags, '--json', path.join(dir, 'l.json')], () => {}, () => {})).toBe(1);
      // Control: a tolerance the rows stay within passes both.
      const loose = [file, '--batch-sizes', '1,64', '--tolerance', 'atol=1'];
      expect(await main(['check', ...loose, '--json', path.join(dir, 'c2.json')], () => {}, () => {})).toBe(0);
      expect(await main(['locate', ...loose, '--json', path.join(dir, 'l2.json')], () => {}, () => {})).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('position within the tolerance beside a large batch-size effect: the probe alone against the batch', async () => {
    const i64 = (name: string, dims: number[], data: number[]) => ({ name, dtype: 'int64', dims, data });
    // y = x * (1 + 1e-7 * row) + 0.1 * N: moving a probe changes it by about 1e-7, the batch size by 0.1 a row.
    const model = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
      initializers: [i64('zero_i', [], [0]), f32('zero', [], [0]), f32('one', [], [1]), f32('step', [], [1e-7]), f32('tenth', [], [0.1]), i64('axes1', [1], [1])],
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['shape'] },
        { op: 'Gather', inputs: ['shape', 'zero_i'], outputs: ['n_i'], attrs: { axis: 0 } },
        { op: 'Cast', inputs: ['n_i'], outputs: ['n'], attrs: { to: 1 } },
        { op: 'Range', inputs: ['zero', 'n', 'one'], outputs: ['rows'] },
        { op: 'Unsqueeze', inputs: ['rows', 'axes1'], outputs: ['rows2'] },
        { op: 'Mul', inputs: ['rows2', 'step'], outputs: ['scaled'] },
        { op: 'Add', inputs: ['scaled', 'one'], outputs: ['factor'] },
        { op: 'Mul', inputs: ['x', 'factor'], outputs: ['xf'] },
        { op: 'Mul', inputs: ['n', 'tenth'], outputs: ['offset'] },
        { op: 'Add', inputs: ['xf', 'offset'], outputs: ['y'], name: 'add_offset' },
      ],
    });
    const check = await checkBatchInvariance(model, small);
    expect(check).toMatchObject({ verdict: 'violated', causes: ['position'] });
    const r = await locateDivergence(model, { ...small, report: check });
    // The row index differs between the probe alone (row 0) and in the batch: the Range, as in positionModel.
    expect(r.firstDivergence).toMatchObject({ op: 'Range', cause: 'position' });
    expect(r.compared).toMatchObject({ cause: 'position', runs: ['reference', expect.any(String)] });
    expect(r.notes.join('\n')).toMatch(/differ only in the probe's position stay within the tolerance, but the probe in a batch of \d+ differs beyond it from the probe alone/);
  });

  test('a leak within the tolerance at one size, the batch size failing at another: that size is searched', async () => {
    const i64 = (name: string, dims: number[], data: number[]) => ({ name, dtype: 'int64', dims, data });
    // y = x + 1e-7 * mean over the batch + 0.1 * min(N, 2), against a reference batch of 2:
    // at 4 the leak stays far within the tolerance; at 1 the offset moves every row by 0.1.
    const model = buildModel({
      opset: 17,
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
      initializers: [i64('zero_i', [], [0]), f32('tiny', [], [1e-7]), f32('two', [], [2]), f32('tenth', [], [0.1])],
      nodes: [
        { op: 'ReduceMean', inputs: ['x'], outputs: ['mean'], attrs: { axes: [0], keepdims: 1 }, name: 'batch_mean' },
        { op: 'Mul', inputs: ['mean', 'tiny'], outputs: ['leak'] },
        { op: 'Add', inputs: ['x', 'leak'], outputs: ['xl'] },
        { op: 'Shape', inputs: ['x'], outputs: ['shape'] },
        { op: 'Gather', inputs: ['shape', 'zero_i'], outputs: ['n_i'], attrs: { axis: 0 } },
        { op: 'Cast', inputs: ['n_i'], outputs: ['n'], attrs: { to: 1 } },
        { op: 'Min', inputs: ['n', 'two'], outputs: ['n2'] },
        { op: 'Mul', inputs: ['n2', 'tenth'], outputs: ['offset'] },
        { op: 'Add', inputs: ['xl', 'offset'], outputs: ['y'], name: 'add_offset' },
      ],
    });
    const options = { batchSizes: [1, 4], reference: 2 };
    const check = await checkBatchInvariance(model, options);
    expect(check.verdict).toBe('violated');
    expect(check.batches.map((b) => [b.size, b.pass, b.causes])).toEqual([[1, false, ['batch-size']], [4, true, ['leakage']]]);
    const r = await locateDivergence(model, { ...options, report: check });
    expect(r.firstDivergence).toMatchObject({ node: 'add_offset', cause: 'batch-size' });
    expect(r.compared).toMatchObject({ cause: 'batch-size', batchSize: 1, runs: ['reference', 'batch'] });
    expect(r.notes.join('\n')).toMatch(/the batch of 1 fails against the probe alone with the batch size as its cause, so those two runs are searched/);
  });

  test('a leak within the tolerance beside pad tokens that fail: the pads are searched, not the leak', async () => {
    // Unmasked mean pooling, plus 1e-6 of the batch mean: leakage far within the default tolerance.
    const model = buildModel({
      opset: 17,
      inputs: [{ name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] }, { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 8] }],
      initializers: [f32('table', [50, 8], seededFloats(400, 21)), f32('tiny', [], [1e-6])],
      nodes: [
        { op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['emb'], attrs: { axis: 0 }, name: 'embeddings' },
        { op: 'ReduceMean', inputs: ['emb'], outputs: ['pooled'], attrs: { axes: [1], keepdims: 0 }, name: 'unmasked_pool' },
        { op: 'ReduceMean', inputs: ['pooled'], outputs: ['bm'], attrs: { axes: [0], keepdims: 1 }, name: 'batch_mean' },
        { op: 'Mul', inputs: ['bm', 'tiny'], outputs: ['leak'], name: 'leak' },
        { op: 'Add', inputs: ['pooled', 'leak'], outputs: ['y'], name: 'out' },
      ],
    });
    const check = await checkBatchInvariance(model, small);
    expect(check).toMatchObject({ verdict: 'violated', causes: ['leakage', 'padding'] });
    expect(check.batches.every((b) => b.pass)).toBe(true);
    const r = await locateDivergence(model, { ...small, report: check });
    expect(r.firstDivergence).toMatchObject({ node: 'unmasked_pool', op: 'ReduceMean', cause: 'padding' });
    expect(r.compared).toMatchObject({ cause: 'padding', runs: ['padded', 'pad-ids'] });
  });
});

test('the check fails only where the texts are padded together: locate says plainly that it does not search that run', async () => {
  // As in test/text/padding.test.ts: the probes padded to the longest of them drift more ulps than any batch of the sweep.
  // Two probes of 1 and 7 tokens: padded together, 14 rows of tokens, where every batch of the sweep has 16 or 32.
  const together = { batchSizes: [1, 2], padding: { lengths: [1, 7] } };
  const exact = await checkBatchInvariance(exportedTextModel(), { ...together, tolerance: 'exact' });
  const options = { ...together, tolerance: { ulp: Math.max(...exact.batches.map((b) => b.maxUlp)) } };
  const check = await checkBatchInvariance(exportedTextModel(), options);
  expect(check.verdict).toBe('violated');
  expect(check.batches.every((b) => b.pass)).toBe(true);
  expect(check.padding.comparisons.filter((c) => !c.pass).map((c) => c.run)).toEqual(['served']);
  const r = await locateDivergence(exportedTextModel(), { ...options, report: check });
  expect(r.firstDivergence).toBeNull();
  expect(r.notes.join('\n')).toMatch(/^the check fails only where the texts are padded together as a server pads a batch \(by at most [\d.e-]+\), a run locate does not search \(its texts are padded to the longest of them, \d+ tokens, not to the 16 every searched run has\): no node is named$/m);
  // Control: where a searched run fails, no such note.
  const leak = await locateDivergence(leakyModel(), small);
  expect(leak.notes.join('\n')).not.toMatch(/padded together/);
});

describe('nondeterminism: the pair searched fails in the check, and the node where the noise starts is named', () => {
  test('noise only in a large batch (the probe alone is bitwise repeatable): the largest batch run twice is searched', async () => {
    const options = { batchSizes: [1, 2, 3, 16] };
    const check = await checkBatchInvariance(batchScaledNoiseModel(), options);
    expect(check).toMatchObject({ verdict: 'violated', causes: ['nondeterminism'] });
    expect(check.reruns.find((r) => r.run === 'reference')?.bitExact).toBe(true);
    const r = await locateDivergence(batchScaledNoiseModel(), { ...options, report: check });
    // Was: the probe alone against its rerun (bitwise equal), 'no diverging node', exit 0.
    expect(r.compared).toMatchObject({ cause: 'nondeterminism', batchSize: 16, runs: ['batch', 'rerun'] });
    expect(r.firstDivergence).toMatchObject({ node: 'RandomUniformLike_4', op: 'RandomUniformLike', cause: 'nondeterminism' });
    expect(r.summary).toMatch(/comparing the same batch run twice \(batch 16\)/);
    expect(r.notes.join('\n')).toMatch(/the largest batch \(16\) run twice does not, so that pair is searched/);
  });

  test('the CLI: check fails, locate names the node (exit 1 both)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-noise-'));
    try {
      const file = path.join(dir, 'noise.onnx');
      fs.writeFileSync(file, batchScaledNoiseModel());
      const flags = [file, '--batch-sizes', '1,2,3,16'];
      expect(await main(['check', ...flags, '--json', path.join(dir, 'c.json')], () => {}, () => {})).toBe(1);
      expect(await main(['locate', ...flags, '--json', path.join(dir, 'l.json')], () => {}, () => {})).toBe(1);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'l.json'), 'utf8')).firstDivergence.op).toBe('RandomUniformLike');
      // Control: at sizes where the noise stays within the tolerance, both pass.
      const small3 = [file, '--batch-sizes', '1,2,3'];
      expect(await main(['check', ...small3, '--json', path.join(dir, 'c2.json')], () => {}, () => {})).toBe(0);
      expect(await main(['locate', ...small3, '--json', path.join(dir, 'l2.json')], () => {}, () => {})).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a random op that reads no input is named, not the Add after it', async () => {
    const r = await locateDivergence(inputlessRandomModel(), small);
    expect(r.firstDivergence).toMatchObject({ node: 'RandomUniform_0', op: 'RandomUniform', cause: 'nondeterminism' });
  });

  test('noise within the tolerance at its source, scaled beyond it downstream: the source is named, not the Mul', async () => {
    const r = await locateDivergence(amplifiedNoiseModel(), small);
    expect(r.check.verdict).toBe('violated');
    expect(r.firstDivergence).toMatchObject({ node: 'RandomUniformLike_0', op: 'RandomUniformLike', cause: 'nondeterminism' });
    expect(r.notes.join('\n')).toMatch(/the noise starts at 'RandomUniformLike_0' \(RandomUniformLike\), which differs by .*, within the tolerance; the nodes after it carry it beyond \('Mul_1' \(Mul\)/);
  });

  test('the guard does not blame fusions for noise: the plain model differs from itself, the optimization is kept', async () => {
    const r = await locateDivergence(nondeterministicModel(), small);
    expect(r.firstDivergence).toMatchObject({ op: 'RandomUniformLike', cause: 'nondeterminism' });
    // Was: equal false, optimization 'disabled', "exposing values changes which kernels onnxruntime fuses".
    expect(r.guard.optimization).toBe('all');
    expect(r.guard.equal).toBe(false);
    expect(r.guard.detail).toMatch(/^the plain model's final output 'y' differs from itself on the same inputs run to run/);
    expect(r.notes.join('\n')).not.toMatch(/fuses/);
  });

  test('Dropout in training mode (graph optimization disabled, or onnxruntime drops it) is named', async () => {
    const r = await locateDivergence(trainingDropoutModel(), { ...small, optimization: 'disabled' });
    expect(r.firstDivergence).toMatchObject({ node: 'Dropout_1', op: 'Dropout', cause: 'nondeterminism' });
    // Optimized, onnxruntime removes the Dropout: nothing differs, nothing is named.
    const optimized = await locateDivergence(trainingDropoutModel(), small);
    expect(optimized.check.verdict).toBe('invariant');
    expect(optimized.firstDivergence).toBeNull();
  });

  test('noise within the tolerance (the check passes): no node is named', async () => {
    const r = await locateDivergence(nondeterministicModel(), { ...small, tolerance: 1e-2 });
    expect(r.check).toEqual({ verdict: 'within-tolerance', causes: ['nondeterminism'] });
    expect(r.firstDivergence).toBeNull();
    expect(r.firstBitwise).toMatchObject({ op: 'RandomUniformLike' });
  });

  test('nondeterminism the runs locate makes do not show: no node, and a note says why', async () => {
    // The check's report is of the noisy model; the runs searched are of a deterministic one.
    const report = await checkBatchInvariance(nondeterministicModel(), small);
    const r = await locateDivergence(invariantModel(), { ...small, report });
    expect(r.firstDivergence).toBeNull();
    expect(r.notes.join('\n')).toMatch(/the check saw outputs differ beyond the tolerance run to run, but none of the pairs locate ran on the plain model did .*: the nondeterminism did not recur, so no node is named; run locate again/);
  });
});
