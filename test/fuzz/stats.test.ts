/**
 * Issue 9, running statistics: degenerate calibration data, damaged checkpoints, archives with
 * two arrays of one name, models onnxruntime cannot load and bad options are bad input (one
 * line, BadInputError / exit 2), never a verdict on the model. Each case has its negative
 * control: a real stale model still fails (exit 1), good data still passes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { Zip, ZipPassThrough } from 'fflate';
import { BadInputError, checkRunningStats } from '../../src';
import { encodeNpy, encodeNpz, encodeSafetensors, parseNpz, parseSafetensors, readArrayFile } from '../../src/io';
import { spliceModel } from '../../src/onnx/instrument';
import { recalibrate } from '../../src/stats/recalibrate';
import { bnCalibrationData, bnCheckpoint, bnModel, buildModel, foldedBnModel } from '../helpers/models';
import { cli as runCli } from '../helpers/cli';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-fuzz-stats-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string, bytes: Uint8Array) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
};

const healthy = bnModel().bytes;
const stale = bnModel({ staleBn2: true }).bytes;
const good = bnCalibrationData(32);
type Data = { dtype: string; dims: number[]; data: Float32Array };
const copy = (d = good): Data => ({ dtype: d.dtype, dims: [...d.dims], data: Float32Array.from(d.data as Float32Array) });
const SAMPLE = 4 * 6 * 6;

/** The data with `value` written into sample `sample` (at its `at`-th value). */
function withValue(value: number, sample: number, at = 7): Data {
  const d = copy();
  d.data[sample * SAMPLE + at] = value;
  return d;
}

/** Awaits `p`, which must reject with a one-line BadInputError matching every pattern. */
async function badInput(p: Promise<unknown> | (() => Promise<unknown>), ...patterns: RegExp[]): Promise<string> {
  let error: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    error = e;
  }
  if (error === undefined) throw new Error('expected a BadInputError, but it resolved');
  if (!(error instanceof BadInputError)) throw error;
  expect(error.message).not.toMatch(/[\r\n]/);
  for (const pattern of patterns) expect(error.message).toMatch(pattern);
  return error.message;
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCli(...args);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

/** A zip of stored entries in order, duplicate names allowed (zipSync takes an object, so cannot). */
function zipEntries(entries: [string, Uint8Array][]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const zip = new Zip((error, chunk) => {
    if (error) throw error;
    chunks.push(chunk);
  });
  for (const [name, bytes] of entries) {
    const entry = new ZipPassThrough(name);
    zip.add(entry);
    entry.push(bytes, true);
  }
  zip.end();
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A safetensors file whose header is `header` as written (JSON.stringify cannot repeat a key). */
function safetensorsWithHeader(header: string, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const npyOf = (d: Data) => encodeNpy({ dtype: 'float32', dims: d.dims, data: d.data });

describe('non-finite calibration data is bad input everywhere', () => {
  test.each([
    ['NaN', NaN],
    ['+Infinity', Infinity],
    ['-Infinity', -Infinity],
  ])('%s in arrays: stats, recalibrate and the matcher name the input, the sample and the count', async (_label, value) => {
    const d = withValue(value, 5);
    d.data[5 * SAMPLE + 9] = value;
    const words = [/^calibration data 'x': 2 values are not finite \(NaN or Infinity\), in sample 5; .*drop or repair those samples/];
    await badInput(checkRunningStats(healthy, d), ...words);
    await badInput(checkRunningStats(stale, d), ...words);
    await badInput(checkRunningStats(healthy, undefined, { data: d }), ...words);
    await badInput(recalibrate(stale, d), ...words);
    await badInput(expect(healthy).toMatchRunningStats(d), ...words);
    await badInput(expect(stale).not.toMatchRunningStats(d), ...words);
  });

  test('in an .npz file (stats and recalibrate, API and CLI: exit 2, one line naming the file)', async () => {
    const npz = file('nan.npz', encodeNpz({ x: { dtype: 'float32', dims: good.dims, data: withValue(NaN, 3).data } }));
    await badInput(checkRunningStats(stale, npz), new RegExp(`^${npz.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} 'x': 1 value is not finite .* in sample 3;`));
    await badInput(recalibrate(stale, npz), /nan\.npz 'x': 1 value is not finite/);
    const model = file('stale.onnx', stale);
    const r = await cli(['stats', model, '--data', npz]);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/nan\.npz 'x': 1 value is not finite/);
    expect(r.out).toBe('');
    const w = await cli(['recalibrate', model, '--data', npz, '-o', path.join(dir, 'never.onnx')]);
    expect(w.code).toBe(2);
    expect(fs.existsSync(path.join(dir, 'never.onnx'))).toBe(false);
  });

  test('in an async iterable of batches: names the batch and the sample in it', async () => {
    async function* batches() {
      for (let b = 0; b < 4; b++) {
        const d = copy(bnCalibrationData(8, { seed: b + 1 }));
        if (b === 2) d.data[1 * SAMPLE + 3] = Infinity;
        yield d;
      }
    }
    await badInput(checkRunningStats(healthy, batches()), /^calibration batch 2 'x': 1 value is not finite .* in sample 1 of the batch \(from sample 17 overall\)/);
    await badInput(recalibrate(healthy, batches()), /^calibration batch 2 'x'/);
  });

  test('float16 data (raw bits): Infinity and NaN patterns are found too', async () => {
    const half = bnModel({ dtype: 'float16' }).bytes;
    const d = bnCalibrationData(32, { dtype: 'float16' });
    const bits = Uint16Array.from(d.data as Uint16Array);
    bits[2 * SAMPLE] = 0x7c00; // +Infinity
    bits[3 * SAMPLE + 1] = 0xfe01; // a NaN
    await badInput(checkRunningStats(half, { ...d, data: bits }), /^calibration data 'x': 2 values are not finite .* in samples 2, 3;/);
    // Negative control: the largest finite float16 (0x7bff, 65504) is no NaN.
    const r = await checkRunningStats(half, d);
    expect(r.reference.data?.samples).toBe(32);
  });

  test('activations that overflow on finite data are bad input, naming the node and the batch', async () => {
    // 1e20 is a finite float32, but its square is not: no variance can be measured.
    const d = withValue(1e20, 20);
    await badInput(checkRunningStats(healthy, d, { batchSize: 8 }), /^<bytes>: the input of \/bn1\/BatchNormalization \('x'\) on calibration batch 2 holds values more than about ±1\.8e19 from their mean/);
    await badInput(recalibrate(healthy, d), /the input of \/bn1\/BatchNormalization \('x'\) on calibration batch 0 holds values more than/);
  });

  test('negative controls: good data passes the healthy model and fails the stale one (exit 0 / 1)', async () => {
    expect((await checkRunningStats(healthy, good)).verdict).toBe('healthy');
    const r = await checkRunningStats(stale, good);
    expect(r.problems.map((p) => [p.kind, p.node])).toEqual([['stale-stats', '/bn2/BatchNormalization']]);
    const model = file('stale-cli.onnx', stale);
    const npy = file('good.npy', npyOf(copy()));
    expect((await cli(['stats', model, '--data', npy])).code).toBe(1);
    expect((await cli(['stats', file('healthy.onnx', healthy), '--data', npy])).code).toBe(0);
  });
});

describe('NaN in stored statistics', () => {
  const withStored = (name: string, values: number[]) =>
    spliceModel(healthy, { replace: new Map([[name, { dtype: 'float32', values }]]) }, { source: '<bytes>' }).toBytes();

  test("in the model's own running_var: a problem of the model (invalid-stats), with or without data", async () => {
    const model = withStored('bn2.running_var', [NaN, 1, 1, 1]);
    const alone = await checkRunningStats(model);
    expect(alone.verdict).toBe('problems');
    expect(alone.problems).toEqual([expect.objectContaining({ kind: 'invalid-stats', node: '/bn2/BatchNormalization' })]);
    expect(alone.problems[0]?.detail).toMatch(/stored running_var 'bn2\.running_var' holds 1 non-finite value \(NaN or Infinity\) of 4.*recalibrate/);
    const vsData = await checkRunningStats(model, good);
    // Told once, as invalid-stats, not again as stale-stats.
    expect(vsData.problems.map((p) => [p.kind, p.node])).toEqual([['invalid-stats', '/bn2/BatchNormalization']]);
    expect(vsData.firstMismatch?.node).toBe('/bn2/BatchNormalization');
    await expect(model).not.toMatchRunningStats(good);
    // A negative variance is as wrong.
    const negative = await checkRunningStats(withStored('bn1.running_var', [1, -0.5, 1, 1]));
    expect(negative.problems).toEqual([expect.objectContaining({ kind: 'invalid-stats', node: '/bn1/BatchNormalization', detail: expect.stringMatching(/1 negative value/) })]);
    // Recalibrating repairs it.
    const fixed = await recalibrate(model, good);
    expect((await checkRunningStats(fixed.bytes, good)).verdict).toBe('healthy');
  });

  test('in the checkpoint: bad input naming the key (object and .safetensors)', async () => {
    const ckpt = bnCheckpoint();
    (ckpt['bn2.running_var']?.data as Float32Array)[2] = NaN;
    await badInput(checkRunningStats(healthy, { checkpoint: ckpt }), /^<checkpoint object>: 'bn2\.running_var' holds 1 non-finite value \(NaN or Infinity\) of 4.*damaged/);
    const st = file('nan.safetensors', encodeSafetensors(ckpt as never));
    await badInput(checkRunningStats(healthy, st), /nan\.safetensors: 'bn2\.running_var' holds 1 non-finite value/);
    const r = await cli(['stats', file('h.onnx', healthy), '--checkpoint', st]);
    expect(r.code).toBe(2);
    const neg = bnCheckpoint();
    (neg['bn1.running_var']?.data as Float32Array)[0] = -1;
    await badInput(checkRunningStats(healthy, { checkpoint: neg }), /'bn1\.running_var' holds 1 negative value/);
    // NaN in a tensor no BatchNorm uses (a conv weight) is none of this check's business.
    const conv = bnCheckpoint();
    (conv['stem.weight']?.data as Float32Array)[0] = NaN;
    expect((await checkRunningStats(healthy, { checkpoint: conv })).verdict).toBe('healthy');
    // Negative control: a real mismatch is still a problem of the model (exit 1).
    const mismatch = await checkRunningStats(healthy, { checkpoint: bnCheckpoint({ mismatch: true }) });
    expect(mismatch.problems.map((p) => p.kind)).toEqual(['checkpoint-mismatch']);
  });
});

describe('two arrays of one name', () => {
  const x = encodeNpy({ dtype: 'float32', dims: good.dims, data: good.data as Float32Array });
  const xNaN = npyOf(withValue(NaN, 0));

  test('an .npz with two x.npy entries is refused naming the duplicate, whichever copy is bad', async () => {
    for (const order of [[x, xNaN], [xNaN, x]]) {
      const bytes = zipEntries([['x.npy', order[0] as Uint8Array], ['x.npy', order[1] as Uint8Array]]);
      expect(() => parseNpz(bytes, 'dup.npz')).toThrow(BadInputError);
      expect(() => parseNpz(bytes, 'dup.npz')).toThrow(/^dup\.npz: holds two entries named "x\.npy", so it is unclear which array is meant; re-save/);
      const p = file('dup.npz', bytes);
      await badInput(readArrayFile(p), /holds two entries named "x\.npy"/);
      await badInput(checkRunningStats(healthy, p), /holds two entries named "x\.npy"/);
      await badInput(recalibrate(healthy, p), /holds two entries named "x\.npy"/);
      const r = await cli(['stats', file('m.onnx', healthy), '--data', p]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/two entries named "x\.npy"/);
    }
    // Negative control: the same writer with distinct names reads back both.
    const fine = parseNpz(zipEntries([['x.npy', x], ['y.npy', xNaN]]), 'fine.npz');
    expect(Object.keys(fine)).toEqual(['x', 'y']);
  });

  test('a .safetensors header naming a tensor twice is refused (JSON.parse would keep the last)', () => {
    const data = new Uint8Array(16);
    const entry = '{"dtype":"F32","shape":[4],"data_offsets":[0,16]}';
    expect(() => parseSafetensors(safetensorsWithHeader(`{"x":${entry},"x":${entry}}`, data), 'dup.safetensors')).toThrow(
      /^dup\.safetensors: the header names "x" twice, so it is unclear which is meant; re-save/,
    );
    // The same key spelt with an escape is the same key.
    expect(() => parseSafetensors(safetensorsWithHeader(`{"x":${entry},"\\u0078":${entry}}`, data), 'dup.safetensors')).toThrow(/names "x" twice/);
    expect(() => parseSafetensors(safetensorsWithHeader(`{"x":{"dtype":"F32","dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, data), 'd.safetensors')).toThrow(
      /names "dtype" twice inside one entry/,
    );
    // Negative controls: one name in different objects, or inside a string, is no duplicate.
    const ok = parseSafetensors(safetensorsWithHeader(`{"__metadata__":{"x":"x, \\"x\\": 1"},"x":${entry}}`, data), 'ok.safetensors');
    expect(Object.keys(ok)).toEqual(['x']);
    const written = encodeSafetensors({ a: { dtype: 'float32', dims: [2], data: Float32Array.of(1, 2) }, b: { dtype: 'float32', dims: [1], data: Float32Array.of(3) } });
    expect(Object.keys(parseSafetensors(written))).toEqual(['a', 'b']);
  });
});

describe('a model onnxruntime cannot load', () => {
  const unsupported = (withBn: boolean) =>
    buildModel({
      opset: 15,
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 4, 6, 6] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 4, 6, 6] }],
      initializers: withBn
        ? [
            { name: 's', dtype: 'float32', dims: [4], data: [1, 1, 1, 1] },
            { name: 'b', dtype: 'float32', dims: [4], data: [0, 0, 0, 0] },
            { name: 'm', dtype: 'float32', dims: [4], data: [0, 0, 0, 0] },
            { name: 'v', dtype: 'float32', dims: [4], data: [1, 1, 1, 1] },
          ]
        : [],
      nodes: withBn
        ? [
            { op: 'NoSuchOp', inputs: ['x'], outputs: ['h'], name: 'weird' },
            { op: 'BatchNormalization', inputs: ['h', 's', 'b', 'm', 'v'], outputs: ['y'], name: 'bn' },
          ]
        : [{ op: 'NoSuchOp', inputs: ['x'], outputs: ['y'], name: 'weird' }],
    });

  test('is bad input (exit 2), not no-batchnorm (exit 1) or healthy', async () => {
    await badInput(checkRunningStats(unsupported(false)), /^<bytes>: onnxruntime could not load the model \(.*NoSuchOp.*\); re-export it/);
    // With BatchNorms and no data (only the structural checks), and against a checkpoint.
    await badInput(checkRunningStats(unsupported(true)), /onnxruntime could not load the model/);
    await badInput(checkRunningStats(unsupported(true), { checkpoint: { 'bn.running_mean': { dtype: 'float32', dims: [4], data: new Float32Array(4) } } }), /onnxruntime could not load/);
    // With data the instrumented copy fails to load the same way.
    await badInput(checkRunningStats(unsupported(true), good), /onnxruntime could not load/);
    await badInput(recalibrate(unsupported(true), good), /onnxruntime could not load/);
    const r = await cli(['stats', file('unsupported.onnx', unsupported(false))]);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    // Truncated: one line, exit 2.
    const cut = file('cut.onnx', healthy.subarray(0, healthy.length - 40));
    const t = await cli(['stats', cut]);
    expect(t.code).toBe(2);
    expect(t.err).toMatch(/cut\.onnx: .*truncated/);
  });

  test('negative control: a loadable model without BatchNorms is still no-batchnorm (exit 1)', async () => {
    const r = await checkRunningStats(foldedBnModel());
    expect(r.problems.map((p) => p.kind)).toEqual(['no-batchnorm']);
    expect((await cli(['stats', file('folded.onnx', foldedBnModel())])).code).toBe(1);
  });
});

describe('constant data and too few samples', () => {
  test('identical samples: stats and recalibrate refuse with the cure, nothing written', async () => {
    const same = copy();
    for (let i = SAMPLE; i < same.data.length; i++) same.data[i] = same.data[i % SAMPLE] as number;
    const words = /^calibration data: all 32 samples are identical, so every variance is 0 .*give varied, representative samples/;
    await badInput(checkRunningStats(healthy, same), words);
    await badInput(recalibrate(healthy, same), words);
    await badInput(expect(healthy).toMatchRunningStats(same), words);
    const zeros = { ...copy(), data: new Float32Array(good.data.length) };
    await badInput(checkRunningStats(stale, zeros), /all 32 samples are identical/);
    // Across batches of an iterable too.
    await badInput(checkRunningStats(healthy, [copy(same), copy(same)]), /^the calibration data \(2 batches\): all 64 samples are identical/);
    const out = path.join(dir, 'const-out.onnx');
    const r = await cli(['recalibrate', file('h2.onnx', healthy), '--data', file('same.npy', npyOf(same)), '-o', out]);
    expect(r.code).toBe(2);
    expect(fs.existsSync(out)).toBe(false);
    expect((await cli(['stats', file('h3.onnx', healthy), '--data', file('same2.npy', npyOf(same))])).code).toBe(2);
  });

  test('one sample is too few', async () => {
    const one = { dtype: 'float32', dims: [1, 4, 6, 6], data: (good.data as Float32Array).slice(0, SAMPLE) };
    await badInput(checkRunningStats(healthy, one), /^calibration data: holds 1 sample; statistics need at least 2/);
    await badInput(recalibrate(healthy, one), /holds 1 sample/);
  });

  // `[]` was described by its dims ("has 1 dims [0] but the model input has 4"), and an array of
  // shape [0, ...] said "give at least one", where statistics need 2: no samples, said as such.
  test('no samples at all: said as such, with how many are needed', async () => {
    const words = /^calibration data 'x': holds no samples; statistics need at least 2 \(a variance of one sample says nothing about the data\): give a few hundred representative samples$/;
    for (const empty of [[], { x: [] }, { dtype: 'float32', dims: [0, 4, 6, 6], data: new Float32Array(0) }, new Float32Array(0)]) {
      await badInput(checkRunningStats(healthy, empty as never), words);
      await badInput(recalibrate(healthy, empty as never), words);
    }
    // An empty batch among batches needs one sample, not two.
    await badInput(checkRunningStats(healthy, [copy(), []] as never), /^calibration batch 1 'x': holds no samples; give each batch at least one sample$/);
    for (const dims of [[0, 4, 6, 6], [0]]) {
      const npy = file(`empty-${dims.length}.npy`, encodeNpy({ dtype: 'float32', dims, data: new Float32Array(0) }));
      for (const args of [['stats', file('h-empty.onnx', healthy), '--data', npy], ['recalibrate', file('h-empty.onnx', healthy), '--data', npy, '-o', path.join(dir, 'never-empty.onnx')]]) {
        const r = await runCli(...args);
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: `batchproof: ${npy} 'x': holds no samples; statistics need at least 2 (a variance of one sample says nothing about the data): give a few hundred representative samples\n` });
      }
    }
  });

  test('recalibrate refuses a channel the data holds constant, naming the node and the count', async () => {
    // Channel 2 of x is 2 everywhere: bn1 would store running_var = 0 there.
    const d = copy();
    for (let s = 0; s < 32; s++) for (let k = 0; k < 36; k++) d.data[s * SAMPLE + 2 * 36 + k] = 2;
    await badInput(recalibrate(stale, d), /^<bytes>: the calibration data is constant in 1 of 4 channels of \/bn1\/BatchNormalization's input: running_var would be 0 there.*give varied/);
    // Negative control: varied data recalibrates, and the copy then matches it.
    const fixed = await recalibrate(stale, good);
    expect(fixed.report.layers.every((l) => l.varRatio[0] > 0)).toBe(true);
    expect((await checkRunningStats(fixed.bytes, good, { tolerance: { z: 1e-3, ratio: 1.001 } })).verdict).toBe('healthy');
  });
});

describe('options', () => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['batchSize BigInt', { batchSize: 3n }, /batchSize .*got 3n/],
    ['batchSize NaN', { batchSize: NaN }, /batchSize .*got NaN/],
    ['batchSize string', { batchSize: '8' }, /batchSize .*got "8"/],
    ['batchSize 0', { batchSize: 0 }, /batchSize/],
    ['threads BigInt', { threads: 2n }, /threads .*got 2n/],
    ['shapes string', { shapes: { x: 'N,8' } }, /shapes must map/],
    ['dims BigInt', { dims: { N: 3n } }, /dims .*3n/],
    ['data number', { data: 5 }, /data must be calibration data.*got 5/],
    ['data empty path', { data: '' }, /data must not be empty/],
    ['checkpoint number', { checkpoint: 5 }, /checkpoint must be a path/],
    ['tolerance null', { tolerance: null }, /tolerance must be an object .*got null/],
    ['tolerance number', { tolerance: 0.5 }, /tolerance must be an object .*got 0\.5/],
    ['tolerance misspelt', { tolerance: { zz: 1 } }, /tolerance: unknown option 'zz' \(did you mean 'z'\?\)/],
    ['z NaN', { tolerance: { z: NaN } }, /tolerance z must be a positive finite number, got NaN/],
    ['z Infinity', { tolerance: { z: Infinity } }, /got Infinity/],
    ['z negative', { tolerance: { z: -1 } }, /got -1/],
    ['z BigInt', { tolerance: { z: 1n } }, /got 1n/],
    ['ratio reversed', { tolerance: { ratio: [2, 0.5] } }, /\(low first\), got \[2,0\.5\]; for example ratio=2 or ratio=0\.5:2/],
    ['ratio NaN', { tolerance: { ratio: NaN } }, /got NaN/],
    ['ratio -Infinity', { tolerance: { ratio: -Infinity } }, /got -Infinity/],
    ['ratio below 1', { tolerance: { ratio: 0.5 } }, /at least 1/],
    ['ratio negative pair', { tolerance: { ratio: [-1, 2] } }, /got \[-1,2\]/],
    ['ratio NaN pair', { tolerance: { ratio: [NaN, 2] } }, /got \[NaN,2\]/],
    ['ratio one value', { tolerance: { ratio: [0.5] } }, /got \[0\.5\]/],
    ['ratio sparse', { tolerance: { ratio: [0.5, , ] } }, /ratio must be/],
  ];

  test.each(bad)('checkRunningStats: %s', async (_label, options, pattern) => {
    const message = await badInput(checkRunningStats(healthy, good, options as never), pattern);
    // NaN and Infinity print as themselves, never as JSON's null.
    if (!/null/.test(_label)) expect(message).not.toMatch(/\bnull\b/);
  });

  test('the matcher: the same words, and the tolerance shorthand is checked too', async () => {
    for (const [, options, pattern] of bad) await badInput(expect(healthy).toMatchRunningStats(good, options), pattern);
    await badInput(expect(healthy).toMatchRunningStats(good, { z: NaN }), /tolerance z .*got NaN/);
    await badInput(expect(healthy).toMatchRunningStats(good, { ratio: [2, 0.5] }), /low first/);
    await badInput(expect(healthy).toMatchRunningStats(good, null as never), /expected options .*got null/);
    await badInput(expect(healthy).toMatchRunningStats(good, 5n as never), /got 5n/);
  });

  test('recalibrate: options and data', async () => {
    await badInput(recalibrate(healthy, good, null as never), /^recalibrate: options must be an object, got null/);
    await badInput(recalibrate(healthy, good, { batchSize: 2n } as never), /^recalibrate: batchSize .*got 2n/);
    await badInput(recalibrate(healthy, good, { shapes: { x: 'N,8' } } as never), /^recalibrate: shapes must map/);
    await badInput(recalibrate(healthy, 5 as never), /^recalibrate: data must be calibration data.*got 5/);
    await badInput(recalibrate(healthy, 5n as never), /got 5n/);
    await badInput(recalibrate(healthy, undefined as never), /^recalibrate: data must be calibration data.*got undefined/);
  });

  test('checkRunningStats: options null, a reference of the wrong kind', async () => {
    await badInput(checkRunningStats(healthy, good, null as never), /^checkRunningStats: options must be an object, got null/);
    await badInput(checkRunningStats(healthy, 5 as never), /^checkRunningStats: the reference must be .*got 5/);
    await badInput(checkRunningStats(healthy, true as never), /got true/);
    await badInput(checkRunningStats(healthy, '' as never), /got ""/);
  });

  test('CLI: --tolerance with NaN, Infinity or a reversed ratio is exit 2', async () => {
    const m = file('tol.onnx', healthy);
    for (const t of ['z=NaN', 'z=Infinity', 'ratio=2:0.5', 'ratio=NaN', 'z=-1']) {
      const r = await cli(['stats', m, '--tolerance', t]);
      expect(r.code).toBe(2);
      expect(r.err).not.toMatch(/\bnull\b/);
    }
  });

  test('property: any tolerance either checks or is one BadInputError line, never another error', async () => {
    const num = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, 1, 0.5, 2), fc.bigInt({ min: -5n, max: 5n }), fc.string({ maxLength: 3 }), fc.constant(null));
    const tolerance = fc.oneof(
      fc.record({ z: num, ratio: fc.oneof(num, fc.tuple(num, num), fc.array(num, { maxLength: 3 })) }, { requiredKeys: [] }),
      num,
      fc.dictionary(fc.string({ maxLength: 4 }), num, { maxKeys: 2 }),
    );
    const resolved = new Map<string, boolean>();
    await fc.assert(
      fc.asyncProperty(tolerance, fc.oneof(fc.constant(undefined), num), async (t, batchSize) => {
        const options = { tolerance: t, ...(batchSize !== undefined && { batchSize }) } as never;
        try {
          // A checkpoint as the reference: a tolerance without one is refused whatever it holds.
          const r = await checkRunningStats(healthy, { checkpoint: bnCheckpoint() }, options);
          // Passes only where every option was valid.
          expect(r.tolerance.z).toBeGreaterThan(0);
          expect(r.tolerance.ratio[0]).toBeLessThanOrEqual(1);
          expect(r.tolerance.ratio[1]).toBeGreaterThanOrEqual(1);
          resolved.set('ok', true);
        } catch (e) {
          if (!(e instanceof BadInputError)) throw e;
          expect(e.message).not.toMatch(/[\r\n]/);
          resolved.set('bad', true);
        }
      }),
      { numRuns: 150, seed: 9 },
    );
    expect([...resolved.keys()].sort()).toEqual(['bad', 'ok']);
  });
});
