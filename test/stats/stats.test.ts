import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BadInputError, checkBatchInvariance, checkRunningStats } from '../../src';
import { encodeNpz } from '../../src/io';
import { recalibrate } from '../../src/stats/recalibrate';
import { findBatchNorms } from '../../src/onnx/batchnorm';
import { ChannelMoments } from '../../src/stats/moments';
import { collectInputStats, comparable } from '../../src/stats/collect';
import { exposeOutputs } from '../../src/onnx/instrument';
import * as ort from 'onnxruntime-node';
import { modulePathFromNodeName } from '../../src/stats/checkpoint';
import { parseStatsTolerance, resolveStatsTolerance } from '../../src/stats/check';
import {
  batchNormTrainingModel,
  BN_DATA,
  bnCalibrationData,
  buildModel,
  bnCheckpoint,
  bnExpectedStats,
  bnInputStatsModel,
  bnModel,
  foldedBnModel,
  invariantModel,
  leakyModel,
} from '../helpers/models';

const examples = path.join(__dirname, '..', '..', 'examples', 'models');
const data = bnCalibrationData(64);

describe('ChannelMoments: float64 streaming merge (Chan et al.)', () => {
  test('merging batches gives the mean and population variance of all values', () => {
    const n = 7;
    const plane = 5;
    const values = Float64Array.from({ length: 3 * n * 2 * plane }, (_, i) => 1e4 + Math.sin(i * 1.7) * (1 + (i % 3)));
    const whole = new ChannelMoments(2);
    whole.addValues(3 * n, plane, values);
    const merged = new ChannelMoments(2);
    for (let b = 0; b < 3; b++) merged.addValues(n, plane, values.subarray(b * n * 2 * plane, (b + 1) * n * 2 * plane));
    // Direct two-pass reference.
    for (let c = 0; c < 2; c++) {
      const xs: number[] = [];
      for (let s = 0; s < 3 * n; s++) for (let k = 0; k < plane; k++) xs.push(values[(s * 2 + c) * plane + k] as number);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
      expect(merged.mean[c]).toBeCloseTo(mean, 9);
      expect(merged.variance()[c]).toBeCloseTo(variance, 9);
      expect(whole.variance()[c]).toBeCloseTo(variance, 9);
    }
    expect(merged.count).toBe(3 * n * plane);
  });

  test('per-plane means and mean squares (what the graph computes) merge to the same', () => {
    const m = new ChannelMoments(1);
    // Two samples, planes of 2: [1, 3] and [5, 7] -> mean 4, population variance 5.
    m.addPlanes(2, 2, [2, 6], [5, 37]);
    expect(m.mean[0]).toBeCloseTo(4, 12);
    expect(m.variance()[0]).toBeCloseTo(5, 12);
    const shifted = new ChannelMoments(1);
    shifted.addPlanes(2, 2, [-98, -94], [9605, 8837], [100]);
    expect(shifted.mean[0]).toBeCloseTo(4, 9);
    expect(shifted.variance()[0]).toBeCloseTo(5, 6);
  });
});

describe('in-graph statistics', () => {
  test('equal a float64 computation on the exposed BatchNorm inputs (Concat-fed DenseNet layers too)', async () => {
    const file = path.join(examples, 'embedding_cnn.onnx');
    const bytes = new Uint8Array(fs.readFileSync(file));
    const scan = findBatchNorms(bytes);
    const n = 6;
    const x = Float32Array.from({ length: n * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37) * 1.7 + 0.3);
    const got = await collectInputStats(bytes, scan, scan.batchNorms.filter(comparable), { dtype: 'float32', dims: [n, 3, 32, 32], data: x }, { settings: {}, source: file, dir: examples, batchSize: 4 });
    expect(got.batches).toBe(2);
    // Reference: every BatchNorm input exposed whole, reduced here in float64.
    const session = await ort.InferenceSession.create(exposeOutputs(bytes, scan.batchNorms.map((b) => b.input)));
    const out = await session.run({ input: new ort.Tensor('float32', x, [n, 3, 32, 32]) });
    await session.release();
    for (const bn of scan.batchNorms) {
      const t = out[bn.input] as ort.Tensor;
      const [, c, h, w] = t.dims as number[];
      const ref = new ChannelMoments(c as number);
      ref.addValues(n, (h as number) * (w as number), t.data as Float32Array);
      const m = got.moments.get(bn.node);
      expect(m?.mean.length).toBe(c);
      const variance = ref.variance();
      for (let k = 0; k < (c as number); k++) {
        expect(Math.abs((m?.mean[k] as number) - (ref.mean[k] as number))).toBeLessThan(1e-5 * (1 + Math.abs(ref.mean[k] as number)));
        expect(Math.abs((m?.variance[k] as number) - (variance[k] as number))).toBeLessThan(1e-4 * (variance[k] as number) + 1e-9);
      }
    }
  });
});

describe('data far from 0 (a mean much larger than its spread)', () => {
  // x's statistics in float64 from its values: bn1's input is x itself.
  const reference = (x: { data: ArrayLike<number>; dims: number[] }) => {
    const [n, c, h, w] = x.dims as [number, number, number, number];
    const m = new ChannelMoments(c);
    m.addValues(n, h * w, x.data);
    return { mean: m.mean, variance: m.variance() };
  };

  test.each([1e3, 1e4, 1e6])('shift %d: the variance measured is the data\'s, whatever the stored mean', async (shift) => {
    const x = bnCalibrationData(64, { shift });
    const ref = reference(x);
    const bytes = bnModel().bytes; // stored mean near 0: centring on it would not help
    const scan = findBatchNorms(bytes);
    const got = await collectInputStats(bytes, scan, scan.batchNorms.filter(comparable), x, { settings: {}, source: 'bn.onnx', dir: '.', batchSize: 32 });
    const m = got.moments.get('/bn1/BatchNormalization');
    for (let k = 0; k < 4; k++) {
      expect(Math.abs((m?.mean[k] as number) / (ref.mean[k] as number) - 1)).toBeLessThan(1e-6);
      // float32 holds 1e6 to 0.06, so the values themselves carry about 0.1% of the variance there.
      expect(Math.abs((m?.variance[k] as number) / (ref.variance[k] as number) - 1)).toBeLessThan(shift >= 1e6 ? 1e-2 : 1e-4);
    }
  });

  test('recalibrate writes the data\'s variance, and the copy then checks healthy', async () => {
    const x = bnCalibrationData(64, { shift: 1e5 });
    const ref = reference(x);
    const result = await recalibrate(bnModel().bytes, x);
    const bn1 = findBatchNorms(result.bytes).batchNorms[0];
    for (let k = 0; k < 4; k++) expect(Math.abs((bn1?.var.stored?.values[k] as number) / (ref.variance[k] as number) - 1)).toBeLessThan(1e-3);
    expect((await checkRunningStats(result.bytes, x)).problems).toEqual([]);
  });
});

describe('tolerance', () => {
  test('parses z=Z,ratio=R and ratio=LO:HI; defaults z 0.5, ratio [0.5, 2]', () => {
    expect(resolveStatsTolerance(undefined)).toEqual({ z: 0.5, ratio: [0.5, 2] });
    expect(resolveStatsTolerance(parseStatsTolerance('z=1,ratio=4'))).toEqual({ z: 1, ratio: [0.25, 4] });
    expect(resolveStatsTolerance(parseStatsTolerance('ratio=0.8:1.25'))).toEqual({ z: 0.5, ratio: [0.8, 1.25] });
    expect(() => parseStatsTolerance('z=abc')).toThrow(/--tolerance z=abc: expected z=Z,ratio=R/);
    expect(() => parseStatsTolerance('ratio=0.5')).toThrow(/at least 1/);
  });

  test('module paths from PyTorch node names', () => {
    expect(modulePathFromNodeName('/block1/block1.0/bn/BatchNormalization')).toBe('block1.0.bn');
    expect(modulePathFromNodeName('/bn2/BatchNormalization')).toBe('bn2');
    expect(modulePathFromNodeName('BatchNormalization_3')).toBeNull();
  });
});

describe('checkRunningStats against calibration data', () => {
  test('healthy: every layer matches, z small, ratio near 1', async () => {
    const r = await checkRunningStats(bnModel().bytes, data);
    expect(r.verdict).toBe('healthy');
    expect(r.problems).toEqual([]);
    expect(r.firstMismatch).toBeNull();
    expect(r.layers.map((l) => l.node)).toEqual(['/bn1/BatchNormalization', '/bn2/BatchNormalization']);
    for (const l of r.layers) {
      expect(l).toMatchObject({ channels: 4, pass: true, against: 'data' });
      expect(l.maxZ as number).toBeLessThan(0.15);
      expect((l.varRatio as [number, number])[0]).toBeGreaterThan(0.8);
      expect((l.varRatio as [number, number])[1]).toBeLessThan(1.25);
    }
    expect(r.reference.data).toEqual({ source: '<arrays>', batches: 2, samples: 64 });
    expect(r).toMatchObject({ schema: 1, kind: 'running-stats', tool: { name: 'batchproof' }, tolerance: { z: 0.5, ratio: [0.5, 2] } });
    expect(r.fingerprint.provider).toBe('cpu');
  });

  test('the statistics measured are the data\'s own (float64 merge over batches)', async () => {
    // Tight tolerance: the stored stats are the exact population stats, the sample is large.
    const big = bnCalibrationData(256, { seed: 7 });
    const r = await checkRunningStats(bnModel().bytes, big, { batchSize: 50 });
    expect(r.reference.data?.batches).toBe(6);
    const e = bnExpectedStats();
    const w = r.layers[1]?.worstChannel;
    expect(w).not.toBeNull();
    // The report's reference numbers are the stored ones.
    expect(w?.runningMean).toBeCloseTo(e.bn2.mean[w?.channel as number] as number, 5);
    expect(r.layers.every((l) => (l.maxZ as number) < 0.06)).toBe(true);
  });

  test('stale: bn2 stores wrong statistics, so bn2 is the first mismatch and bn1 passes', async () => {
    const r = await checkRunningStats(bnModel({ staleBn2: true }).bytes, data);
    expect(r.verdict).toBe('problems');
    expect(r.problems.map((p) => [p.kind, p.node])).toEqual([['stale-stats', '/bn2/BatchNormalization']]);
    expect(r.firstMismatch?.node).toBe('/bn2/BatchNormalization');
    expect(r.layers[0]?.pass).toBe(true);
    expect(r.layers[1]?.maxZ as number).toBeGreaterThan(1.5);
    expect((r.layers[1]?.varRatio as [number, number])[0]).toBeLessThan(0.5);
    expect(r.summary).toMatch(/first mismatch at \/bn2\/BatchNormalization: later layers inherit its shift/);
    expect(r.problems[0]?.detail).toMatch(/worst channel \d: data mean .* vs running_mean/);
  });

  test('shifted data: the first BatchNorm fails, and the report points at preprocessing', async () => {
    const r = await checkRunningStats(bnModel().bytes, bnCalibrationData(64, { shift: 3 }));
    expect(r.firstMismatch?.node).toBe('/bn1/BatchNormalization');
    expect(r.problems[0]).toMatchObject({ kind: 'stale-stats', node: '/bn1/BatchNormalization' });
    expect(r.notes.join('\n')).toMatch(/first BatchNorm the data reaches.*preprocessing/);
  });

  test('a looser tolerance passes what the default fails', async () => {
    const shifted = bnCalibrationData(64, { shift: 0.6 });
    expect((await checkRunningStats(bnModel().bytes, shifted)).verdict).toBe('problems');
    expect((await checkRunningStats(bnModel().bytes, shifted, { tolerance: { z: 5, ratio: 10 } })).verdict).toBe('healthy');
  });

  test('batches from an async iterable give the same statistics as the whole array', async () => {
    async function* batches() {
      for (let i = 0; i < 4; i++) {
        yield { x: { dtype: 'float32', dims: [16, 4, 6, 6], data: (data.data as Float32Array).slice(i * 16 * 144, (i + 1) * 16 * 144) } };
      }
    }
    const whole = await checkRunningStats(bnModel().bytes, data);
    const streamed = await checkRunningStats(bnModel().bytes, batches());
    expect(streamed.reference.data).toEqual({ source: '<batches>', batches: 4, samples: 64 });
    for (let i = 0; i < 2; i++) {
      expect(streamed.layers[i]?.maxZ as number).toBeCloseTo(whole.layers[i]?.maxZ as number, 5);
      expect((streamed.layers[i]?.varRatio as number[])[0]).toBeCloseTo((whole.layers[i]?.varRatio as number[])[0] as number, 5);
    }
  });

  test('an .npz path of samples keyed by input name', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-stats-'));
    const file = path.join(dir, 'calib.npz');
    fs.writeFileSync(file, encodeNpz({ x: { dtype: 'float32', dims: data.dims, data: data.data as Float32Array } }));
    const r = await checkRunningStats(bnModel().bytes, file);
    expect(r.verdict).toBe('healthy');
    expect(r.reference.data?.source).toBe(file);
  });
});

describe('structure: training mode, folded, missing statistics', () => {
  test('training mode (attribute, opset 15) is a problem per node', async () => {
    const r = await checkRunningStats(bnModel({ trainingMode: true }).bytes);
    expect(r.problems.map((p) => p.kind)).toEqual(['training-mode', 'training-mode']);
    expect(r.problems[0]?.detail).toMatch(/training_mode=1.*model\.eval\(\)/);
    expect(r.layers.every((l) => l.trainingMode)).toBe(true);
  });

  test('training mode in opset 9 is told by the extra outputs', async () => {
    const r = await checkRunningStats(bnModel({ opset: 9, trainingMode: true }).bytes, data);
    expect(r.problems.filter((p) => p.kind === 'training-mode')).toHaveLength(2);
    expect(r.problems[0]?.detail).toMatch(/running-statistics outputs .* opset 7 to 13/);
  });

  test('the helper training-mode model and the exported one', async () => {
    expect((await checkRunningStats(batchNormTrainingModel())).problems[0]?.kind).toBe('training-mode');
    const exported = await checkRunningStats(path.join(examples, 'embedding_cnn_train_bn.onnx'));
    expect(exported.problems).toHaveLength(11);
    expect(new Set(exported.problems.map((p) => p.kind))).toEqual(new Set(['training-mode']));
  });

  test('folded: no BatchNormalization, and the message says how to keep them', async () => {
    const r = await checkRunningStats(foldedBnModel(), data);
    expect(r.verdict).toBe('problems');
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ kind: 'no-batchnorm', node: null });
    expect(r.problems[0]?.detail).toMatch(/folded them into the preceding Conv/);
    expect(r.problems[0]?.detail).toMatch(/do_constant_folding=False/);
    expect(r.problems[0]?.detail).toMatch(/TrainingMode\.PRESERVE/);
    expect((await checkRunningStats(leakyModel())).notes.join()).toMatch(/no Conv, Gemm or MatMul either/);
    expect((await checkRunningStats(invariantModel())).notes).toEqual([]);
  });

  test('calibration data nothing runs (no BatchNorm, none comparable) is still checked against the inputs', async () => {
    await expect(checkRunningStats(bnInputStatsModel(), { data: { foo: data } })).rejects.toThrow(/holds 'foo', which is not an input of the model; name the arrays after the inputs: x, mean, var/);
    await expect(checkRunningStats(foldedBnModel(), { data: { foo: data } })).rejects.toThrow(/holds 'foo', which is not an input of the model; name the arrays after the inputs: x$/);
    const nan = { ...data, data: Float32Array.from(data.data as Float32Array, (v, i) => (i === 5 ? NaN : v)) };
    await expect(checkRunningStats(foldedBnModel(), nan)).rejects.toThrow(/NaN or Infinity/);
    await expect(checkRunningStats(foldedBnModel(), { dtype: 'float32', dims: [4, 3], data: new Float32Array(12) })).rejects.toThrow(/has 2 dims \[4, 3\] but the model input has 4/);
    // Negative control: good data on a folded model is the model's problem, not bad input.
    expect((await checkRunningStats(foldedBnModel(), data)).problems.map((p) => p.kind)).toEqual(['no-batchnorm']);
  });

  test('statistics fed as graph inputs are missing-stats', async () => {
    const r = await checkRunningStats(bnInputStatsModel());
    expect(r.problems).toEqual([expect.objectContaining({ kind: 'missing-stats', node: '/bn/BatchNormalization' })]);
  });

  test('the exported eval-mode CNN has 11 BatchNorms in inference mode', async () => {
    const r = await checkRunningStats(path.join(examples, 'embedding_cnn.onnx'));
    expect(r.verdict).toBe('healthy');
    expect(r.model.batchNorms).toBe(11);
    expect(r.layers.map((l) => l.channels)).toEqual([24, 36, 48, 60, 32, 44, 56, 68, 48, 60, 72]);
  });
});

describe('inputs of other ranks', () => {
  test('BatchNorm1d on [N, C] and on [N, C, L]', async () => {
    for (const shape of [['N', 4], ['N', 4, 5]] as (string | number)[][]) {
      const model = buildModel({
        opset: 15,
        inputs: [{ name: 'x', dtype: 'float32', shape }],
        outputs: [{ name: 'y', dtype: 'float32', shape }],
        initializers: [
          { name: 'bn.weight', dtype: 'float32', dims: [4], data: [1, 1, 1, 1] },
          { name: 'bn.bias', dtype: 'float32', dims: [4], data: [0, 0, 0, 0] },
          { name: 'bn.running_mean', dtype: 'float32', dims: [4], data: [...BN_DATA.mean] },
          { name: 'bn.running_var', dtype: 'float32', dims: [4], data: BN_DATA.std.map((s) => s * s) },
        ],
        nodes: [{ op: 'BatchNormalization', inputs: ['x', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var'], outputs: ['y'], name: '/bn/BatchNormalization' }],
      });
      const plane = shape.length === 3 ? 5 : 1;
      const n = 400;
      const x = new Float32Array(n * 4 * plane);
      const g = bnCalibrationData(Math.ceil((n * plane) / 36) + 1).data as Float32Array;
      // Reuse the [*,4,6,6] draws channel by channel.
      for (let s = 0; s < n; s++) for (let c = 0; c < 4; c++) for (let k = 0; k < plane; k++) {
        const flat = s * plane + k;
        x[(s * 4 + c) * plane + k] = g[(Math.floor(flat / 36) * 4 + c) * 36 + (flat % 36)] as number;
      }
      const r = await checkRunningStats(model, { dtype: 'float32', dims: shape.length === 3 ? [n, 4, plane] : [n, 4], data: x });
      expect(r.problems).toEqual([]);
      expect(r.layers[0]?.maxZ as number).toBeLessThan(0.2);
      const stale = await checkRunningStats(model, { dtype: 'float32', dims: shape.length === 3 ? [n, 4, plane] : [n, 4], data: x.map((v) => v * 3) });
      expect(stale.problems[0]?.kind).toBe('stale-stats');
    }
  });
});

describe('opsets, dtypes and storage', () => {
  const e = bnExpectedStats();
  test.each([
    [7, 'float32', 'raw'],
    [9, 'float32', 'typed'],
    [14, 'float16', 'raw'],
    [15, 'float16', 'typed'],
    [15, 'float64', 'raw'],
    [9, 'float64', 'typed'],
  ] as const)('opset %i, %s, %s: parameters read and data checked', async (opset, dtype, storage) => {
    const m = bnModel({ opset, dtype, storage });
    const scan = findBatchNorms(m.bytes);
    expect(scan.batchNorms).toHaveLength(2);
    const bn2 = scan.batchNorms[1];
    expect(bn2?.mean.stored?.dtype).toBe(dtype);
    const digits = dtype === 'float16' ? 2 : 6;
    e.bn2.mean.forEach((v, c) => expect(bn2?.mean.stored?.values[c]).toBeCloseTo(v, digits));
    expect(bn2?.epsilon).toBeCloseTo(1e-5, 9);
    expect(bn2?.momentum).toBeCloseTo(0.9, 6);
    expect(bn2?.opVersion).toBe(opset === 14 ? 14 : opset === 15 ? 15 : opset);
    const r = await checkRunningStats(m.bytes, bnCalibrationData(32, { dtype }));
    expect(r.problems).toEqual([]);
    expect(r.layers.every((l) => l.pass)).toBe(true);
  });

  test('external data is read relative to the model; a missing file is one line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-ext-'));
    const m = bnModel({ storage: 'external' });
    const file = path.join(dir, 'model.onnx');
    fs.writeFileSync(file, m.bytes);
    await expect(checkRunningStats(file, data)).rejects.toThrow(/tensor 'bn1\.\w+' keeps its data in the external file 'bn_weights\.bin', which is missing/);
    await expect(checkBatchInvariance(file)).rejects.toThrow(/keep the external data files beside the model$/);
    fs.writeFileSync(path.join(dir, m.externalFile?.name as string), m.externalFile?.bytes as Uint8Array);
    const r = await checkRunningStats(file, data);
    expect(r.verdict).toBe('healthy');
    // The batch-invariance check opens it by path too, so onnxruntime finds the external file.
    expect((await checkBatchInvariance(file, { batchSizes: [1, 4] })).verdict).toBe('invariant');
    const stale = bnModel({ storage: 'external', staleBn2: true });
    fs.writeFileSync(file, stale.bytes);
    fs.writeFileSync(path.join(dir, 'bn_weights.bin'), stale.externalFile?.bytes as Uint8Array);
    expect((await checkRunningStats(file, data)).firstMismatch?.node).toBe('/bn2/BatchNormalization');
    fs.writeFileSync(path.join(dir, 'bn_weights.bin'), (stale.externalFile?.bytes as Uint8Array).subarray(0, 40));
    await expect(checkRunningStats(file, data)).rejects.toThrow(/the file has 40; the external data file does not belong to this model or is truncated/);
  });
});

describe('checkRunningStats against a checkpoint', () => {
  test('matching checkpoint (state_dict names, a module. prefix too) is healthy', async () => {
    for (const ckpt of [bnCheckpoint(), bnCheckpoint({ prefix: 'module.' })]) {
      const r = await checkRunningStats(bnModel().bytes, { checkpoint: ckpt });
      expect(r.problems).toEqual([]);
      expect(r.reference.checkpoint).toMatchObject({ matched: 2, unmatched: [], missing: [] });
      expect(r.layers.map((l) => [l.against, l.checkpointPrefix, l.pass])).toEqual([
        ['checkpoint', 'bn1', true],
        ['checkpoint', 'bn2', true],
      ]);
    }
  });

  test('a checkpoint is recognised by its names when given as the reference', async () => {
    const r = await checkRunningStats(bnModel().bytes, bnCheckpoint());
    expect(r.reference.kind).toBe('checkpoint');
  });

  test('checkpoint-mismatch names the layer; unmatched statistics are explained', async () => {
    const r = await checkRunningStats(bnModel().bytes, { checkpoint: bnCheckpoint({ mismatch: true, extraLayer: true }) });
    expect(r.problems.map((p) => [p.kind, p.node])).toEqual([
      ['checkpoint-mismatch', '/bn2/BatchNormalization'],
      ['checkpoint-mismatch', null],
    ]);
    expect(r.problems[0]?.detail).toMatch(/differ from 'bn2\.running_mean'\/'bn2\.running_var'/);
    expect(r.firstMismatch?.node).toBe('/bn2/BatchNormalization');
    expect(r.reference.checkpoint?.unmatched.map((u) => u.key)).toEqual(['bn3.running_mean', 'bn3.running_var']);
    expect(r.reference.checkpoint?.unmatched[0]?.reason).toMatch(/no BatchNormalization node/);
  });

  test('anonymous initializer names are matched through the node path', async () => {
    const r = await checkRunningStats(bnModel({ names: 'anonymous' }).bytes, { checkpoint: bnCheckpoint() });
    expect(r.problems).toEqual([]);
    expect(r.layers.map((l) => l.checkpointPrefix)).toEqual(['bn1', 'bn2']);
  });

  test('a checkpoint of another model (no layer matches) is bad input; one without running statistics', async () => {
    // Nothing of it matches any layer: the wrong file, not a model with 11 mismatched layers.
    await expect(checkRunningStats(path.join(examples, 'embedding_cnn.onnx'), { checkpoint: bnCheckpoint() })).rejects.toThrow(
      /^<checkpoint object>: no BatchNorm layer of the model finds its statistics here, so this is not the model's checkpoint: it holds \d+ arrays \('stem\.weight', .*\) and the model's 11 layers look for 'block1\.0\.bn\.running_mean', .*; give the state_dict the model was exported from/,
    );
    await expect(checkRunningStats(bnModel().bytes, { checkpoint: { x: data } })).rejects.toThrow(/it holds 1 array \('x'\) and the model's 2 layers look for 'bn1\.running_mean', 'bn2\.running_mean'/);
    const noStats = await checkRunningStats(bnModel().bytes, { checkpoint: bnCheckpoint({ noRunningStats: 'bn2' }) });
    expect(noStats.problems).toEqual([expect.objectContaining({ kind: 'missing-stats', node: '/bn2/BatchNormalization' })]);
    expect(noStats.problems[0]?.detail).toMatch(/track_running_stats=False/);
  });

  test('data and checkpoint together give both sets of layers', async () => {
    const r = await checkRunningStats(bnModel().bytes, { data, checkpoint: bnCheckpoint() });
    expect(r.reference.kind).toBe('data+checkpoint');
    expect(r.layers.map((l) => l.against)).toEqual(['data', 'checkpoint', 'data', 'checkpoint']);
  });

  test('a folded model with a checkpoint explains every unmatched key', async () => {
    const r = await checkRunningStats(foldedBnModel(), { checkpoint: bnCheckpoint() });
    expect(r.problems.map((p) => p.kind)).toEqual(['no-batchnorm']);
    expect(r.reference.checkpoint?.unmatched).toHaveLength(4);
    expect(r.reference.checkpoint?.unmatched[0]?.reason).toMatch(/folded/);
  });
});

describe('layers in training mode or without statistics fail (firstMismatch is the first failing layer)', () => {
  test('the exported training-mode CNN: every layer fails, the first BatchNorm is the first mismatch', async () => {
    const r = await checkRunningStats(path.join(examples, 'embedding_cnn_train_bn.onnx'));
    expect(r.problems).toHaveLength(11);
    expect(r.layers).toHaveLength(11);
    expect(r.layers.every((l) => l.trainingMode && !l.pass)).toBe(true);
    expect(r.firstMismatch?.node).toBe('/block1/block1.0/bn/BatchNormalization');
    expect(r.firstMismatch?.node).toBe(r.layers[0]?.node);
    expect(r.summary).toMatch(/first mismatch at \/block1\/block1\.0\/bn\/BatchNormalization \(training-mode\)/);
  });

  test('training mode fails against data and against a checkpoint, even where the statistics match', async () => {
    const model = bnModel({ opset: 9, trainingMode: true }).bytes;
    const withData = await checkRunningStats(model, data);
    expect(withData.problems.map((p) => p.kind)).toEqual(['training-mode', 'training-mode']);
    expect(withData.layers.map((l) => [l.against, l.pass])).toEqual([['data', false], ['data', false]]);
    expect(withData.firstMismatch?.node).toBe('/bn1/BatchNormalization');
    // Not a preprocessing problem: the layer is in training mode.
    expect(withData.notes.join('\n')).not.toMatch(/preprocessing/);
    const withCheckpoint = await checkRunningStats(bnModel({ trainingMode: true }).bytes, { checkpoint: bnCheckpoint() });
    expect(withCheckpoint.layers.map((l) => [l.against, l.pass])).toEqual([['checkpoint', false], ['checkpoint', false]]);
    expect(withCheckpoint.firstMismatch?.node).toBe('/bn1/BatchNormalization');
  });

  test('missing statistics fail', async () => {
    const r = await checkRunningStats(bnInputStatsModel());
    expect(r.layers.map((l) => [l.node, l.pass])).toEqual([['/bn/BatchNormalization', false]]);
    expect(r.firstMismatch?.node).toBe('/bn/BatchNormalization');
  });

  test('a layer the checkpoint has nothing for fails (the others matched: a partial mismatch is reported, not refused)', async () => {
    const checkpoint = Object.fromEntries(Object.entries(bnCheckpoint()).filter(([k]) => !k.startsWith('bn1.')));
    const r = await checkRunningStats(bnModel().bytes, { checkpoint });
    expect(r.layers.map((l) => l.pass)).toEqual([false, true]);
    expect(r.problems).toEqual([expect.objectContaining({ kind: 'checkpoint-mismatch', node: '/bn1/BatchNormalization' })]);
    expect(r.firstMismatch?.node).toBe('/bn1/BatchNormalization');
  });

  test('problems and failing layers agree: healthy models have every layer passing', async () => {
    for (const r of [await checkRunningStats(bnModel().bytes), await checkRunningStats(bnModel().bytes, data)]) {
      expect(r.problems).toEqual([]);
      expect(r.layers.every((l) => l.pass)).toBe(true);
      expect(r.firstMismatch).toBeNull();
    }
  });
});

describe('a reference given twice is refused, not one of them dropped', () => {
  test('data or a checkpoint both as the reference and in options', async () => {
    const shifted = bnCalibrationData(64, { shift: 3 });
    // Which one was compared would be a silent choice: the healthy model passes on one and fails on the other.
    await expect(checkRunningStats(bnModel().bytes, data, { data: shifted })).rejects.toThrow(/^checkRunningStats: calibration data is given twice \(as the reference and as options\.data\); give it once$/);
    await expect(checkRunningStats(bnModel().bytes, { data }, { data: shifted })).rejects.toThrow(BadInputError);
    await expect(checkRunningStats(bnModel().bytes, bnCheckpoint(), { checkpoint: bnCheckpoint({ mismatch: true }) })).rejects.toThrow(/^checkRunningStats: a checkpoint is given twice \(as the reference and as options\.checkpoint\); give it once$/);
    // Data as the reference with a checkpoint in options (or the reverse) is both, as documented.
    expect((await checkRunningStats(bnModel().bytes, data, { checkpoint: bnCheckpoint() })).reference.kind).toBe('data+checkpoint');
  });
});

describe('unknown options are rejected, not ignored', () => {
  test('checkRunningStats and recalibrate name the misspelt key and the nearest real one', async () => {
    const misspelt = { tolerence: { z: 10 } } as never;
    await expect(checkRunningStats(bnModel().bytes, data, misspelt)).rejects.toThrow(BadInputError);
    await expect(checkRunningStats(bnModel().bytes, data, misspelt)).rejects.toThrow(/^checkRunningStats: unknown option 'tolerence' \(did you mean 'tolerance'\?\)/);
    await expect(recalibrate(bnModel().bytes, data, { batchsize: 8 } as never)).rejects.toThrow(/^recalibrate: unknown option 'batchsize' \(did you mean 'batchSize'\?\)/);
    // recalibrate compares nothing: a tolerance would be silently ignored.
    await expect(recalibrate(bnModel().bytes, data, { tolerance: { z: 1 } } as never)).rejects.toThrow(/^recalibrate: unknown option 'tolerance'/);
    // Every real key is accepted.
    const r = await checkRunningStats(bnModel().bytes, undefined, { provider: 'cpu', threads: 1, optimization: 'all', batchSize: 16, shapes: {}, dims: {}, consts: {}, tolerance: { z: 1 }, data });
    expect(r.reference.kind).toBe('data');
    expect((await recalibrate(bnModel().bytes, data, { threads: 1, batchSize: 16 })).report.layers).toHaveLength(2);
  });
});
