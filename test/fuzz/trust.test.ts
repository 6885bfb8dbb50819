// A pass must mean something: degenerate options and samples that made a leaky model pass as
// 'invariant' (issue 9), kept as regressions, with the negative controls beside them.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BadInputError, checkBatchInvariance, checkDeterminism, compareProviders, locateDivergence, parseTolerance } from '../../src';
import { encodeNpz } from '../../src/io';
import { cli } from '../helpers/cli';
import { stripVTControlCharacters as plain } from 'util';
import { buildModel, invariantModel, leakyModel } from '../helpers/models';

const examples = path.join(__dirname, '..', '..', 'examples', 'models');
const leakyCnn = path.join(examples, 'embedding_cnn_train_bn.onnx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-trust-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function badInput(p: Promise<unknown> | (() => unknown)): Promise<string> {
  let error: unknown = null;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(BadInputError);
  const message = (error as Error).message;
  expect(message).not.toMatch(/\n/);
  // NaN and Infinity print as themselves (JSON.stringify shows them as null).
  if (!/options must be/.test(message)) expect(message).not.toMatch(/got null/);
  return message;
}

/** x [N, 8] with the same rows: the leaky model needs distinct rows to show its leak. */
function rows(count: number, fill: (row: number, col: number) => number) {
  const data = new Float32Array(count * 8);
  for (let r = 0; r < count; r++) for (let c = 0; c < 8; c++) data[r * 8 + c] = fill(r, c);
  return { dtype: 'float32', dims: [count, 8], data };
}

describe('degenerate options never make a leaky model pass', () => {
  test('control: the leaky CNN is violated (leakage) with ordinary options', async () => {
    const report = await checkBatchInvariance(leakyCnn, { batchSizes: [1, 4] });
    expect(report.verdict).toBe('violated');
    expect(report.causes).toContain('leakage');
  });

  test.each([
    ['seed NaN', { seed: NaN }, /seed must be an integer, got NaN/],
    ['seed Infinity', { seed: Infinity }, /seed must be an integer, got Infinity/],
    ["seed 'x'", { seed: 'x' }, /seed must be an integer, got "x"/],
    ['seed 2.5', { seed: 2.5 }, /seed must be an integer/],
    ['range [NaN, 1]', { range: [NaN, 1] }, /range must be \[low, high\], two finite numbers, got \[NaN,1\]/],
    ['range [0, 0]', { range: [0, 0] }, /range must have low < high/],
    ['range [1, -1]', { range: [1, -1] }, /range must have low < high/],
    ['range [-1e39, 1e39]', { range: [-1e39, 1e39] }, /within float32/],
    // eslint-disable-next-line no-sparse-arrays
    ['batchSizes [1, , 4]', { batchSizes: [1, , 4] }, /batchSizes must be a list of positive integers, and has a hole at index 1/],
    ['batchSizes []', { batchSizes: [] }, /batchSizes must be a non-empty list/],
    ['probes 3n', { probes: 3n }, /probes must be a positive integer, got 3n \(a BigInt\)/],
    ['threads 2n', { threads: 2n }, /threads must be a positive integer, got 2n/],
    ['batchSizes [1n]', { batchSizes: [1n] }, /batch size 1n/],
    ['maxBatch NaN', { maxBatch: NaN }, /maxBatch must be a positive integer, got NaN/],
    ["outputs 'y'", { outputs: 'y' }, /outputs must be a non-empty list of output names, got "y"/],
    ["shapes { x: 'N,8' }", { shapes: { x: 'N,8' } }, /shapes must map input or output names to lists of dims/],
    ['inputs 5', { inputs: 5 }, /inputs must be the path of an .npy, .npz or .safetensors file, got 5/],
    ['onProgress 5', { onProgress: 5 }, /onProgress must be a function/],
    ['budget NaN', { budget: { seconds: NaN } }, /budget must be \{ seconds: N \}/],
    ['vocab 0', { vocab: 0 }, /vocab must be a positive integer/],
    ['padTo Infinity', { padTo: Infinity }, /padTo must be a positive integer, got Infinity/],
    ['padTo 1 (pads nothing)', { padTo: 1 }, /^checkBatchInvariance: padTo must be 2 or more \(padding to 1 pads nothing: every batch has a row already\), got 1; for example padTo: 8/],
    ['tolerance NaN', { tolerance: NaN }, /tolerance atol must be a non-negative number, got NaN/],
    ['tolerance 1n', { tolerance: 1n }, /unknown tolerance 1n/],
    ['tolerance { ulp: Infinity }', { tolerance: { ulp: Infinity } }, /ulp must be a non-negative number, got Infinity/],
  ] as [string, object, RegExp][])('%s: one clear line, no run', async (_name, options, message) => {
    expect(await badInput(checkBatchInvariance(leakyCnn, options))).toMatch(message);
  });

  test('options null is one line, not a TypeError', async () => {
    expect(await badInput(checkBatchInvariance(leakyCnn, null as never))).toMatch(/options must be an object, got null/);
    expect(await badInput(checkDeterminism(leakyCnn, null as never))).toMatch(/options must be an object/);
  });

  test('parseTolerance(5) and samples with dims [4.5, 8]', async () => {
    expect(await badInput(() => parseTolerance(5 as never))).toMatch(/parseTolerance takes the CLI's text form, got 5/);
    const samples = { dtype: 'float32', dims: [4.5, 8], data: new Float32Array(36) };
    expect(await badInput(checkBatchInvariance(leakyModel(), { samples }))).toMatch(/dims must be a list of whole numbers >= 0, got \[4.5,8\]/);
  });

  test('the same options through checkDeterminism, locateDivergence and compareProviders', async () => {
    expect(await badInput(checkDeterminism(leakyCnn, { seed: NaN }))).toMatch(/checkDeterminism: seed must be an integer, got NaN/);
    expect(await badInput(checkDeterminism(leakyCnn, { repeats: 2n as never }))).toMatch(/repeats must be an integer of at least 2, got 2n/);
    expect(await badInput(locateDivergence(leakyCnn, { padTo: 1 }))).toMatch(/^locateDivergence: padTo must be 2 or more/);
    expect(await badInput(locateDivergence(leakyCnn, { range: [0, 0] }))).toMatch(/locateDivergence: range must have low < high/);
    expect(await badInput(compareProviders(leakyCnn, [{ provider: 'cpu', threads: 1 }, { provider: 'cpu', threads: 2 }], { seed: 'x' as never }))).toMatch(/compareProviders: seed must be an integer/);
  });
});

test('repeats above MAX_REPEATS (10000) are refused before the first run, not run for ever', async () => {
  // A batch function that counts its calls: a check that started the billion runs fails fast.
  let calls = 0;
  const fn = async (batch: unknown[]) => {
    if (++calls > 50) throw new Error(`called ${calls} times: the repeats ran`);
    return batch.map((x) => [Number(x), Number(x) * 2]);
  };
  for (const repeats of [1e9, 10_001]) {
    expect(await badInput(checkDeterminism(fn, { samples: [1, 2, 3, 4], repeats }))).toBe(
      `checkDeterminism: repeats must be at most 10000 (each repeat runs the whole batch again), got ${repeats}; for example repeats: 5 (CLI --repeats 5)`,
    );
  }
  expect(calls).toBe(0);
  expect((await checkDeterminism(fn, { samples: [1, 2, 3, 4], repeats: 3 })).verdict).toBe('deterministic');
});

describe('samples that cannot show a failure are refused, never a silent invariant', () => {
  const leaky = leakyModel();

  test('control: distinct samples show the leak', async () => {
    const report = await checkBatchInvariance(leaky, { samples: rows(16, (r, c) => Math.sin(r * 8 + c)), batchSizes: [1, 4] });
    expect(report.verdict).toBe('violated');
    expect(report.causes).toContain('leakage');
  });

  test.each([
    ['16 identical rows', rows(16, (_r, c) => c / 8), /the 5 samples this check feeds are bitwise identical/],
    ['16 all-zero rows', rows(16, () => 0), /every value of every sample is 0/],
    ['one row', rows(1, (_r, c) => c), /one sample only/],
    ['a NaN', rows(16, (r, c) => (r === 5 && c === 2 ? NaN : r + c)), /sample 5 of input 'x' holds 1 NaN or Infinity value/],
    ['an Infinity', rows(16, (r, c) => (r === 0 && c === 0 ? Infinity : r - c)), /sample 0 of input 'x' holds 1 NaN or Infinity/],
  ])('%s', async (_name, samples, message) => {
    const m = await badInput(checkBatchInvariance(leaky, { samples, batchSizes: [1, 4] }));
    expect(m).toMatch(message);
    expect(m).toMatch(/give distinct, varied samples|give finite samples/);
  });

  test('determinism and provider comparison refuse constant and non-finite samples, accept repeats', async () => {
    expect(await badInput(checkDeterminism(leaky, { samples: rows(4, () => 0) }))).toMatch(/every value of every sample is 0/);
    expect(await badInput(checkDeterminism(leaky, { samples: rows(4, (r) => (r === 2 ? NaN : r)) }))).toMatch(/NaN or Infinity/);
    const sides = [{ provider: 'cpu' as const, threads: 1 }, { provider: 'cpu' as const, threads: 2 }];
    expect(await badInput(compareProviders(leaky, sides, { samples: rows(4, () => 1) }))).toMatch(/every value of every sample is 1/);
    // Repeated but varied samples still exercise the model: a determinism check may use them.
    const report = await checkDeterminism(invariantModel(), { samples: rows(4, (_r, c) => c - 3), repeats: 2 });
    expect(report.verdict).toBe('deterministic');
  });

  test('the CLI: --inputs with identical or zero rows exits 2 with the cure', async () => {
    for (const [name, arr] of [['same.npz', rows(16, (_r, c) => c)], ['zeros.npz', rows(16, () => 0)], ['one.npz', rows(1, (_r, c) => c)]] as const) {
      const file = path.join(tmp, name);
      fs.writeFileSync(file, encodeNpz({ input: { dtype: 'float32', dims: [arr.dims[0], 3, 32, 32], data: new Float32Array(arr.dims[0] * 3072).map((_, i) => (name === 'zeros.npz' ? 0 : name === 'same.npz' ? (i % 3072) / 3072 : i)) } } as never));
      const r = await cli('check', leakyCnn, '--inputs', file, '--batch-sizes', '1,4');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/give distinct, varied samples/);
      expect(r.stdout).toBe('');
    }
  });

  test('the matchers fail with the line, not a pass', async () => {
    const error = await expect(leaky).toBeBatchInvariant({ samples: rows(8, () => 0) } as never).then(() => null, (e: Error) => e);
    expect(error).not.toBeNull();
    expect(plain((error as Error).message)).toMatch(/every value of every sample is 0/);
  });
});

/** y [N, 0] (a Slice that keeps nothing) beside z [N, 8] = Relu(x): one output with no values per sample. */
function emptyOutputModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 0] }, { name: 'z', dtype: 'float32', shape: ['N', 8] }],
    initializers: [{ name: 'starts', dtype: 'int64', dims: [1], data: [0n] as never }, { name: 'ends', dtype: 'int64', dims: [1], data: [0n] as never }, { name: 'axes', dtype: 'int64', dims: [1], data: [1n] as never }],
    nodes: [
      { op: 'Slice', inputs: ['x', 'starts', 'ends', 'axes'], outputs: ['y'] },
      { op: 'Relu', inputs: ['x'], outputs: ['z'] },
    ],
  });
}

describe('nothing compared is never a pass', () => {
  test('an output of shape [N, 0] alone is refused; beside another output it is named as not compared', async () => {
    const empty = emptyOutputModel();
    expect(await badInput(checkBatchInvariance(empty, { outputs: ['y'], batchSizes: [1, 2] }))).toMatch(/nothing to compare: every compared output is empty per sample \('y' \[N, 0\]\)/);
    const both = await checkBatchInvariance(empty, { batchSizes: [1, 2] });
    expect(both.verdict).toBe('invariant');
    expect(both.notes.join(' ')).toMatch(/not compared: 'y' \[N, 0\] holds no values per sample/);
  });

  test('determinism and provider comparison: an output of shape [N, 0] alone is refused; beside another, named as not compared', async () => {
    const empty = emptyOutputModel();
    const nothing = /nothing to compare: every compared output is empty per sample \('y' \[N, 0\]\)/;
    expect(await badInput(checkDeterminism(empty, { outputs: ['y'], repeats: 2 }))).toMatch(nothing);
    expect(await badInput(compareProviders(empty, [{ provider: 'cpu' }, { provider: 'cpu', batchSize: 1 }], { outputs: ['y'] }))).toMatch(nothing);
    const determinism = await checkDeterminism(empty, { repeats: 2 });
    expect(determinism.verdict).toBe('deterministic');
    expect(determinism.notes.join(' ')).toMatch(/not compared: 'y' \[N, 0\] holds no values per sample/);
    const compared = await compareProviders(empty, [{ provider: 'cpu' }, { provider: 'cpu', batchSize: 1 }]);
    expect(compared.verdict).toBe('identical');
    expect(compared.notes.join(' ')).toMatch(/not compared: 'y' \[N, 0\] holds no values per sample/);
  });

  test('outputs that are all NaN are refused (NaN equals NaN bitwise), not invariant', async () => {
    // sqrt(-(x^2) - 1) is NaN for every finite x.
    const nan = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
      initializers: [{ name: 'one', dtype: 'float32', dims: [], data: [1] }],
      nodes: [
        { op: 'Mul', inputs: ['x', 'x'], outputs: ['sq'] },
        { op: 'Neg', inputs: ['sq'], outputs: ['neg'] },
        { op: 'Sub', inputs: ['neg', 'one'], outputs: ['below'] },
        { op: 'Sqrt', inputs: ['below'], outputs: ['y'] },
      ],
    });
    expect(await badInput(checkBatchInvariance(nan, { batchSizes: [1, 2], padTo: 2 }))).toMatch(/every output value is NaN or Infinity/);
  });

  test('two sides with the same settings are refused by compareProviders and the matcher', async () => {
    const model = path.join(examples, 'embedding_cnn.onnx');
    expect(await badInput(compareProviders(model, ['cpu', 'cpu']))).toMatch(/sides 1 and 2 have the same settings .* proves nothing/);
    const error = await expect(model).toMatchAcrossProviders(['cpu', 'cpu']).then(() => null, (e: Error) => e);
    expect(plain((error as Error).message)).toMatch(/same settings/);
    // Control: different settings compare.
    const report = await compareProviders(model, [{ provider: 'cpu', threads: 1 }, { provider: 'cpu', optimization: 'disabled' }]);
    expect(['identical', 'within-tolerance', 'different']).toContain(report.verdict);
  });

  test("sides that differ only by naming onnxruntime's defaults are the same settings, and refused", async () => {
    const model = invariantModel();
    const twins: [string, unknown[]][] = [
      ["optimization 'all'", ['cpu', { provider: 'cpu', optimization: 'all' }]],
      ['deterministic: false', ['cpu', { provider: 'cpu', deterministic: false }]],
      ['memoryArena: true', ['cpu', { provider: 'cpu', memoryArena: true }]],
      ["executionMode 'sequential'", ['cpu', { provider: 'cpu', executionMode: 'sequential' }]],
      ['empty extra', ['cpu', { provider: 'cpu', extra: {} }]],
      ['deterministic as its config entry', [{ provider: 'cpu', deterministic: true }, { provider: 'cpu', extra: { session: { use_deterministic_compute: '1' } } }]],
      ['wasm with its default thread', ['wasm', { provider: 'wasm', threads: 1 }]],
    ];
    for (const [name, sides] of twins) {
      const message = await badInput(compareProviders(model, sides as never));
      expect({ name, message }).toEqual({ name, message: expect.stringMatching(/^sides 1 and 2 have the same settings \(.*onnxruntime's defaults are optimization 'all'.*proves nothing/) });
    }
    // The CLI's --against-* flags naming a default are refused the same way, exit 2.
    const file = path.join(tmp, 'twins.onnx');
    fs.writeFileSync(file, model);
    for (const flag of [['--against-optimization', 'all'], ['--no-against-deterministic']]) {
      const r = await cli('compare', file, ...flag);
      expect({ flag, code: r.code, stdout: r.stdout }).toEqual({ flag, code: 2, stdout: '' });
      expect(r.stderr).toMatch(/^batchproof: sides 1 and 2 have the same settings .* proves nothing.*\n$/);
    }
    // Control: settings that change the session compare.
    const report = await compareProviders(model, ['cpu', { provider: 'cpu', optimization: 'disabled', deterministic: true }]);
    expect(report.comparisons[0].outputs[0].comparedRows).toBe(8);
  });
});
