import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { BadInputError, checkBatchInvariance, checkDeterminism, compareProviders, formatReport } from '../../src';
import { encodeNpy, encodeNpz } from '../../src/io';
import { synthesisLine } from '../../src/report/synthesis-text';
import { buildModel, constInputModel, invariantModel, leakyModel, seededFloats } from '../helpers/models';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-inputs-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const sizes = { batchSizes: [1, 2, 5] };

/** x [2, N, 8] (batch on axis 1, like a recurrent state) -> y [2, N, 8] = x - mean over axis 1. */
function axisOneModel(leaky: boolean): Uint8Array {
  return buildModel({
    opset: 17,
    inputs: [{ name: 'state', dtype: 'float32', shape: [2, 'N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [2, 'N', 8] }],
    nodes: leaky
      ? [
          { op: 'ReduceMean', inputs: ['state'], outputs: ['m'], attrs: { axes: [1], keepdims: 1 } },
          { op: 'Sub', inputs: ['state', 'm'], outputs: ['y'] },
        ]
      : [{ op: 'Relu', inputs: ['state'], outputs: ['y'] }],
  });
}

describe('user samples', () => {
  const data = seededFloats(10 * 8, 3);

  test('typed arrays, { dims, data }, tensors and nested arrays all feed the model', async () => {
    for (const samples of [
      data,
      { dtype: 'float32', dims: [10, 8], data },
      new ort.Tensor('float32', data, [10, 8]),
      Array.from({ length: 10 }, (_, r) => Array.from(data.subarray(r * 8, r * 8 + 8))),
    ]) {
      const r = await checkBatchInvariance(leakyModel(), { ...sizes, samples });
      expect(r.samples).toEqual({ source: 'user', seed: 0, count: 10 });
      expect(r.causes).toContain('leakage');
    }
  });

  test('.npy and .npz files keyed by input name', async () => {
    const npy = path.join(tmp, 'x.npy');
    fs.writeFileSync(npy, encodeNpy({ dtype: 'float32', dims: [10, 8], data }));
    const npz = path.join(tmp, 'x.npz');
    fs.writeFileSync(npz, encodeNpz({ x: { dtype: 'float32', dims: [10, 8], data } }));
    for (const inputs of [npy, npz]) {
      const r = await checkBatchInvariance(invariantModel(), { ...sizes, inputs });
      expect(r.verdict).toBe('invariant');
      expect(r.samples.count).toBe(10);
    }
  });

  test('too few samples to vary batch-mates is said in a note', async () => {
    const r = await checkBatchInvariance(invariantModel(), { ...sizes, samples: data.subarray(0, 16) });
    expect(r.notes.join(' ')).toMatch(/only 2 samples/);
  });

  test('a sample file of the wrong dtype is one clear line', async () => {
    const npy = path.join(tmp, 'wrong.npy');
    fs.writeFileSync(npy, encodeNpy({ dtype: 'float64', dims: [4, 8], data: new Float64Array(32) }));
    await expect(checkBatchInvariance(invariantModel(), { inputs: npy })).rejects.toThrow(/has dtype float64 but the model expects float32; convert it/);
  });

  test('samples of the wrong shape are one clear line', async () => {
    await expect(checkBatchInvariance(invariantModel(), { samples: { dtype: 'float32', dims: [4, 7], data: new Float32Array(28) } })).rejects.toThrow(
      /dim 7 at axis 1 where the model fixes 8/,
    );
    await expect(checkBatchInvariance(invariantModel(), { samples: new Float32Array(12) })).rejects.toThrow(/do not split into samples of \[1, 8\]/);
    await expect(checkBatchInvariance(invariantModel(), { samples: [[1, 2], [3]] })).rejects.toThrow(/ragged/);
  });

  test('an .npz naming an unknown input is one clear line', async () => {
    const npz = path.join(tmp, 'other.npz');
    fs.writeFileSync(npz, encodeNpz({ nope: { dtype: 'float32', dims: [2, 8], data: new Float32Array(16) } }));
    await expect(checkBatchInvariance(invariantModel(), { inputs: npz })).rejects.toThrow(/holds 'nope', which is not an input of the model; .* x$/);
  });
});

describe('batch axes, symbolic dims and shared inputs', () => {
  test("--shape marks a batch axis that is not the first ('N')", async () => {
    const ok = await checkBatchInvariance(axisOneModel(false), { ...sizes, shapes: { state: [2, 'N', 8] } });
    expect(ok.verdict).toBe('invariant');
    expect(ok.model.inputs[0].batchAxis).toBe(1);
    expect(ok.model.outputs[0].batchAxis).toBe(1);
    const leaky = await checkBatchInvariance(axisOneModel(true), sizes);
    expect(leaky.model.inputs[0].batchAxis).toBe(1); // the first symbolic dim, found without help
    expect(leaky.causes).toEqual(['leakage']);
  });

  test('a shape that contradicts the model is one clear line', async () => {
    await expect(checkBatchInvariance(axisOneModel(false), { shapes: { state: ['N', 2, 8] } })).rejects.toThrow(
      /axis 0 is fixed at 2, so it cannot be the batch axis/,
    );
    await expect(checkBatchInvariance(invariantModel(), { shapes: { x: ['N', 8, 1] } })).rejects.toThrow(/has 3 dims but the model declares 2/);
    await expect(checkBatchInvariance(invariantModel(), { shapes: { nope: ['N'] } })).rejects.toThrow(/neither an input nor an output/);
  });

  test('consts feed inputs without a batch axis', async () => {
    const r = await checkBatchInvariance(constInputModel(), { ...sizes, consts: { scale: 3 } });
    expect(r.verdict).toBe('invariant');
    expect(r.model.inputs.find((i) => i.name === 'scale')!.batchAxis).toBeNull();
    await expect(checkBatchInvariance(constInputModel(), { consts: { sr: 1 } })).rejects.toThrow(
      /^consts names 'sr' \(CLI --const sr=\.\.\.\), which is not an input of the model; its inputs are: x, scale$/,
    );
  });

  test("an input without a batch axis and no const (an audio model's sr) is said to be one made-up value, with the flag to set it", async () => {
    const guessed = formatReport(await checkBatchInvariance(constInputModel(), sizes));
    expect(guessed).toContain('scale floats in [-1, 1) (no batch axis: one synthesized value shared by the whole check; give the one you serve with consts, CLI --const scale=VALUE)');
    expect(guessed).not.toMatch(/x floats in \[-1, 1\) \(no batch axis/);
    const given = formatReport(await checkBatchInvariance(constInputModel(), { ...sizes, consts: { scale: 3 } }));
    expect(given).toContain('scale shared by the batch (const)');
    expect(given).not.toContain('no batch axis');
  });

  test('a fixed batch dimension says how to export a dynamic one', async () => {
    const { fixedBatchModel } = await import('../helpers/models');
    await expect(checkBatchInvariance(fixedBatchModel())).rejects.toThrow(/no dynamic batch axis .*dynamic_axes=\{'x': \{0: 'batch'\}\}/);
    // Not a dead end: --shape cannot mark a fixed dim (it is refused), so it is not offered.
    await expect(checkBatchInvariance(fixedBatchModel())).rejects.toThrow(/so --shape cannot make one\)$/);
    await expect(checkBatchInvariance(fixedBatchModel(), { shapes: { x: ['N', 8] } })).rejects.toThrow(/contradicts the model/);
  });

  test('inputs dynamic but the graph fixed at batch 1 (x.view(1, -1) at trace time): one line naming the re-export, not --shape', async () => {
    // y = Reshape(x, [1, 8]), declared [1, 8]: batch 1 runs, batch 2 fails inside onnxruntime.
    const baked = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 8] }],
      initializers: [{ name: 'to', dtype: 'int64', dims: [2], data: [1, 8] }],
      nodes: [{ op: 'Reshape', inputs: ['x', 'to'], outputs: ['y'] }],
    });
    const e = await checkBatchInvariance(baked, sizes).then(() => null, (x: Error) => x);
    expect(e).toBeInstanceOf(BadInputError);
    expect(e?.message).toMatch(/^<bytes>: onnxruntime ran batch 1 but failed on a batch of 2 \(.*requested shape:\{1,8\}\): the graph fixes the batch size \(output 'y' declared \[1, 8\]\), .*re-export it with torch\.onnx\.export\(\.\.\., dynamic_axes=\{'x': \{0: 'batch'\}, 'y': \{0: 'batch'\}\}\) and shapes from the input \(x\.view\(x\.size\(0\), -1\)\)/);
    expect(e?.message).not.toMatch(/\n/);
    // Where batch 2 ran (the reference) and 3 fails, the batch is not fixed at 1: the generic line.
    const atFour = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['M', 16] }],
      initializers: [{ name: 'to', dtype: 'int64', dims: [2], data: [-1, 16] }],
      nodes: [{ op: 'Reshape', inputs: ['x', 'to'], outputs: ['y'] }],
    });
    await expect(checkBatchInvariance(atFour, { batchSizes: [2, 3], reference: 2 })).rejects.toThrow(/onnxruntime failed on a batch of 3 .*check --shape/);
  });

  test('determinism and compare on a graph fixed at batch 1 (x.view(1, -1) then a Linear): the re-export line, and batch 1 runs', async () => {
    // Reshape(x, [1, -1]) @ W[8, 4]: batch 1 gives [1, 4]; batch 2 makes [1, 16], which the MatMul refuses.
    const baked = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 4] }],
      initializers: [{ name: 'to', dtype: 'int64', dims: [2], data: [1, -1] }, { name: 'W', dtype: 'float32', dims: [8, 4], data: seededFloats(32, 5) }],
      nodes: [{ op: 'Reshape', inputs: ['x', 'to'], outputs: ['flat'] }, { op: 'MatMul', inputs: ['flat', 'W'], outputs: ['y'] }],
    });
    const fixed = (batch: number, cure: string) => new RegExp(`^<bytes>: onnxruntime ran batch 1 but failed on a batch of ${batch} \\(.*MatMul.*\\): the graph fixes the batch size \\(output 'y' declared \\[1, 4\\]\\), .*re-export it with torch\\.onnx\\.export\\(\\.\\.\\., dynamic_axes=\\{'x': \\{0: 'batch'\\}, 'y': \\{0: 'batch'\\}\\}\\) and shapes from the input \\(x\\.view\\(x\\.size\\(0\\), -1\\)\\), or ${cure} \\(batchSize: 1, CLI --batch-size 1\\)`);
    const e = await checkDeterminism(baked).then(() => null, (x: Error) => x);
    expect(e).toBeInstanceOf(BadInputError);
    expect(e?.message).toMatch(fixed(16, 'check determinism at batch 1'));
    expect(e?.message).not.toMatch(/\n/);
    expect((await checkDeterminism(baked, { batchSize: 1 })).verdict).toBe('deterministic');
    const threads = [{ provider: 'cpu' as const, threads: 1 }, { provider: 'cpu' as const, threads: 2 }];
    await expect(compareProviders(baked, threads)).rejects.toThrow(fixed(8, 'compare at batch 1'));
    // A side batching 1 runs; the other, batching all 4, is the one named.
    await expect(compareProviders(baked, [{ provider: 'cpu', threads: 1, batchSize: 1 }, { provider: 'cpu', threads: 2 }], { batchSize: 4 })).rejects.toThrow(fixed(4, 'compare at batch 1'));
    expect((await compareProviders(baked, threads, { batchSize: 1 })).verdict).toBe('identical');
    // Where batch 1 fails too, the input is wrong, not the batch: the generic line.
    const wrong = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 'F'] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 4] }],
      initializers: [{ name: 'W', dtype: 'float32', dims: [8, 4], data: seededFloats(32, 5) }],
      nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }],
    });
    await expect(checkDeterminism(wrong)).rejects.toThrow(/^<bytes>: onnxruntime failed on a batch of 16 \(.*\); check --shape\/--dim\/--const/);
  });

  test('an output with the same dims at every batch size (a batch fixed at export, a scalar over the batch): no --shape offered, the cure named', async () => {
    // y = x[0:1], declared [1, 8]; total = sum of the whole batch, a scalar.
    const firstRow = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 8] }],
      initializers: [{ name: 'st', dtype: 'int64', dims: [1], data: [0] }, { name: 'en', dtype: 'int64', dims: [1], data: [1] }, { name: 'ax', dtype: 'int64', dims: [1], data: [0] }],
      nodes: [{ op: 'Slice', inputs: ['x', 'st', 'en', 'ax'], outputs: ['y'] }],
    });
    await expect(checkBatchInvariance(firstRow, sizes)).rejects.toThrow(
      "output 'y' has no batch axis ([1, 8] at batch 1 and [1, 8] at batch 2): it is computed over the whole batch (a scalar, or pooled over the batch, or a batch fixed at export: declared [1, 8]), so it changes with the batch-mates by design and no sample's part of it can be compared (no axis of it grows with the batch); no other output has a batch axis to compare: export one that has, or re-export it with one row per sample (torch.onnx.export(..., dynamic_axes={'y': {0: 'batch'}}))",
    );
    // Marking the fixed axis anyway read rows that are not there: 'violated (position)' for an output with no rows per sample.
    await expect(checkBatchInvariance(firstRow, { ...sizes, shapes: { y: ['N', 8] } })).rejects.toThrow(
      "shapes (CLI --shape y): axis 0 of output 'y' does not grow with the batch ([1, 8] at batch 1 and [1, 8] at batch 2), so it cannot be the batch axis; mark the axis that holds one row per sample, or leave the output out with outputs (CLI --outputs)",
    );
    const withTotal = buildModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'emb', dtype: 'float32', shape: ['N', 8] }, { name: 'total', dtype: 'float32', shape: [] }],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['emb'] }, { op: 'ReduceSum', inputs: ['x'], outputs: ['total'], attrs: { keepdims: 0 } }],
    });
    await expect(checkBatchInvariance(withTotal, sizes)).rejects.toThrow(/^output 'total' has no batch axis \(\[\] at batch 1 and \[\] at batch 2\): .*; leave it out with --outputs emb \(API: outputs: \['emb'\]\)$/);
    expect((await checkBatchInvariance(withTotal, { ...sizes, outputs: ['emb'] })).verdict).toBe('invariant');
  });

  test('an output that grows with the batch by less than a row a sample: the message names what was given', async () => {
    // y = Reshape(x, [2, -1, 8]): at batch 2, one row on axis 1 for two samples.
    const halfRows = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [2, 'M', 8] }],
      initializers: [{ name: 'to', dtype: 'int64', dims: [3], data: [2n, -1n, 8n] as never }],
      nodes: [{ op: 'Reshape', inputs: ['x', 'to'], outputs: ['y'] }],
    });
    const e = await checkBatchInvariance(halfRows, { batchSizes: [2, 4], reference: 2 }).then(() => null, (x: Error) => x);
    expect(e?.message).toBe("output 'y' does not hold whole rows per sample (dims [2, 1, 8] at batch 2: its axis 1 grows with the batch but holds 1 for 2 samples), so its rows cannot be matched to samples; leave it out with outputs (CLI --outputs), or mark its batch axis with shapes (CLI --shape y=N,...)");
    await expect(checkBatchInvariance(halfRows, { batchSizes: [2, 4], reference: 2, shapes: { y: [2, 'N', 8] } })).rejects.toThrow(/^shapes \(CLI --shape y\): axis 1 cannot be the batch axis/);
  });

  test('an output whose batch axis is ambiguous asks for --shape', async () => {
    const { twoBatchAxesAmbiguousModel } = await import('../helpers/models');
    await expect(checkBatchInvariance(twoBatchAxesAmbiguousModel(), sizes)).rejects.toThrow(/several axes that scale with the batch .* --shape y=N,/);
  });
});

describe('bad models and options are one clear line, never a crash', () => {
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ['missing file', () => checkBatchInvariance(path.join(tmp, 'missing.onnx')), /missing\.onnx: no such file/],
    ['text', () => checkBatchInvariance(Buffer.from('hello, I am not a model')), /not (a valid |an )ONNX model/],
    ['random bytes', () => checkBatchInvariance(Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)), /not (a valid |an )ONNX model|could not load/],
    ['truncated model', () => checkBatchInvariance(invariantModel().subarray(0, 100)), /not a valid ONNX model|could not load/],
    ['empty file', () => checkBatchInvariance(new Uint8Array(0)), /empty/],
    // onnxruntime-node has no bfloat16 tensor: its words alone ('Unsupported data type: 16') name neither dtype nor cure.
    ['bfloat16 output', () => checkBatchInvariance(buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'bfloat16', shape: ['N', 8] }],
      nodes: [{ op: 'Cast', inputs: ['x'], outputs: ['y'], attrs: { to: 16 } }],
    })), /^<bytes>: onnxruntime-node cannot pass bfloat16 tensors to or from JavaScript .*; re-export it with float32 or float16 inputs and outputs \(a Cast at each end keeps bfloat16 inside the graph\)$/],
    ['bfloat16 input', () => checkDeterminism(buildModel({
      inputs: [{ name: 'x', dtype: 'bfloat16', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
      nodes: [{ op: 'Cast', inputs: ['x'], outputs: ['y'], attrs: { to: 1 } }],
    })), /^<bytes>: onnxruntime-node cannot pass bfloat16 tensors .*re-export it with float32 or float16 inputs and outputs/],
    ['batch size 0', () => checkBatchInvariance(invariantModel(), { batchSizes: [0, 2] }), /batchSizes must be a list of positive integers, and batch size 0 is not/],
    ['batch size 2.5', () => checkBatchInvariance(invariantModel(), { batchSizes: [2.5] }), /batch size 2.5 is not/],
    ['unknown tolerance', () => checkBatchInvariance(invariantModel(), { tolerance: { foo: 1 } as never }), /unknown tolerance .* use 'exact'/],
    ['negative atol', () => checkBatchInvariance(invariantModel(), { tolerance: -1 }), /non-negative/],
    ['unknown provider', () => checkBatchInvariance(invariantModel(), { provider: 'tpu' as never }), /unknown provider 'tpu'; use one of cpu, webgpu, cuda, tensorrt, wasm/],
    ['threads 0', () => checkBatchInvariance(invariantModel(), { threads: 0 }), /threads must be a positive integer/],
    ['a number as model', () => checkBatchInvariance(42 as never), /expected a model/],
    ['a misspelt option', () => checkBatchInvariance(invariantModel(), { tolerence: 'exact' } as never), /unknown option 'tolerence' \(did you mean 'tolerance'\?\)/],
    ['a filler without padTo', () => checkBatchInvariance(invariantModel(), { filler: 'last' }), /give padTo as well/],
    // The API's messages name its options (dims, consts, shapes, samples), the CLI flag beside them.
    ['an unknown symbolic dim', () => checkBatchInvariance(invariantModel(), { dims: { seq: 4 } }), /^dims names 'seq' \(CLI --dim seq=N\), but the model has no symbolic dim 'seq'; its symbolic dims are: N$/],
    ['a const for a batched input', () => checkBatchInvariance(invariantModel(), { consts: { x: 1 } }), /^consts names 'x' \(CLI --const x=\.\.\.\), but input 'x' has a batch axis .* give samples instead \(CLI --inputs\)$/],
    ['shapes for no input or output', () => checkBatchInvariance(invariantModel(), { shapes: { nope: ['N', 8] } }), /^shapes names 'nope' \(CLI --shape nope=\.\.\.\), which is neither an input nor an output/],
    ['samples a string (its characters are no inputs)', () => checkBatchInvariance(invariantModel(), { samples: 'abc' as never }), /^samples must be nested number arrays, a typed array, \{ dtype, dims, data \} or an ort\.Tensor, or an object of those keyed by input name \(x\), got "abc"; for example samples: /],
    ['samples null (not a synthesized check)', () => checkBatchInvariance(invariantModel(), { samples: null as never }), /^samples must be .*, got null;/],
    ['samples 5', () => checkDeterminism(invariantModel(), { samples: 5 as never }), /^samples must be .*, got 5;/],
    ['samples an empty array', () => checkBatchInvariance(invariantModel(), { samples: [] }), /^samples for input 'x': the array is empty, so there are no samples; give at least one sample/],
    ['samples an empty array for a named input', () => checkDeterminism(invariantModel(), { samples: { x: [] } }), /^samples for input 'x': the array is empty, so there are no samples/],
    [
      'a string input',
      () =>
        checkBatchInvariance(
          buildModel({
            inputs: [{ name: 's', dtype: 'string', shape: ['N'] }],
            outputs: [{ name: 'y', dtype: 'string', shape: ['N'] }],
            nodes: [{ op: 'Identity', inputs: ['s'], outputs: ['y'] }],
          }),
        ),
      /input 's' has dtype string, which batchproof cannot batch/,
    ],
  ];
  test.each(cases)('%s', async (_name, run, message) => {
    const error = await run().then(
      () => null,
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error!.name).toBe('BadInputError');
    expect(error!.message).toMatch(message);
    expect(error!.message).not.toMatch(/\n/);
  });
});

describe('determinism with fewer samples than its batch', () => {
  // compare says so; determinism ran the repeated samples without a word.
  test('a note says the samples repeat in the batch, for a model and a function; none when they fit', async () => {
    const samples = { dtype: 'float32', dims: [4, 8], data: seededFloats(32, 5) };
    const repeated = await checkDeterminism(invariantModel(), { samples, batchSize: 8, repeats: 2 });
    expect(repeated.notes).toContain('batch of 8 from 4 samples: samples repeat in the batch');
    for (const options of [{ batchSize: 4 }, {}]) {
      const fits = await checkDeterminism(invariantModel(), { samples, ...options, repeats: 2 });
      expect(fits.notes.join('\n')).not.toMatch(/repeat in the batch/);
    }
    const fn = (batch: unknown[]) => (batch as string[]).map((t) => [t.length, 1]);
    const texts = await checkDeterminism(fn, { samples: ['a', 'bb', 'ccc'], batchSize: 5, repeats: 2 });
    expect(texts.notes).toContain('batch of 5 from 3 samples: samples repeat in the batch');
    // Synthesized samples are as many as the batch needs.
    expect((await checkDeterminism(invariantModel(), { batchSize: 32, repeats: 2 })).notes.join('\n')).not.toMatch(/repeat in the batch/);
  });
});

describe('seeds', () => {
  // The sample seed was computed in doubles: past about 9e9 the sample index was lost in the
  // product, every synthesized sample came out the same, and the check refused its own samples.
  test('a large seed synthesizes varied samples, and a leak is still found', async () => {
    for (const seed of [1e10, 2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER]) {
      const r = await checkBatchInvariance(leakyModel(), { ...sizes, seed });
      expect({ seed, verdict: r.verdict, causes: r.causes }).toEqual({ seed, verdict: 'violated', causes: ['leakage'] });
    }
  });

  test('seeds keep their samples: the first sample of seed 7 is what it always was', async () => {
    const { fillUniformJs } = await import('../../src/kernels/reference');
    const { synthesizedPool } = await import('../../src/inputs/samples');
    const spec = { name: 'x', dtype: 'float32', sampleDims: [8] } as never;
    const nameHash = [...'x'].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 7);
    for (const seed of [0, 7, -3, 123456789]) {
      const sample = synthesizedPool({ seed }).sample(spec, 2);
      // The formula before the fix, exact in doubles for these seeds.
      expect(Array.from(sample as Float32Array)).toEqual(Array.from(fillUniformJs(new Float32Array(8), seed * 1_000_003 + nameHash * 7919 + 2, -1, 1)));
    }
  });
});

describe('NaN and Inf', () => {
  test('are reported, not fatal, and NaN equals NaN at the same place', async () => {
    const model = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 4] }],
      initializers: [{ name: 'z', dtype: 'float32', dims: [4], data: [0, 0, 0, 1] }],
      nodes: [{ op: 'Div', inputs: ['x', 'z'], outputs: ['y'] }],
    });
    const r = await checkBatchInvariance(model, sizes);
    expect(r.verdict).toBe('invariant');
    expect(r.nonFinite[0].output).toBe('y');
    expect(r.nonFinite[0].count).toBeGreaterThan(0);
  });
});

describe('a bool input that is not a mask is synthesized as varied bits', () => {
  // flags [N, 8] bool -> y = Cast(flags) (row-wise), or minus the batch's mean (leaky).
  const boolModel = (leaky: boolean, width = 8) =>
    buildModel({
      opset: 17,
      inputs: [{ name: 'flags', dtype: 'bool', shape: ['N', width] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', width] }],
      nodes: [
        { op: 'Cast', inputs: ['flags'], outputs: [leaky ? 'f' : 'y'], attrs: { to: 1 } },
        ...(leaky
          ? [
              { op: 'ReduceMean', inputs: ['f'], outputs: ['mean'], attrs: { axes: [0], keepdims: 1 } },
              { op: 'Sub', inputs: ['f', 'mean'], outputs: ['y'] },
            ]
          : []),
      ],
    });

  test('row-wise: checked and invariant, the bits said in the report', async () => {
    const r = await checkBatchInvariance(boolModel(false), sizes);
    expect(r.verdict).toBe('invariant');
    expect(r.model.inputs[0].synthesis).toEqual({ kind: 'bool' });
    expect(synthesisLine(r.model.inputs as never)).toBe('inputs: flags bool (random bits, seeded)');
    // One flag a sample: still random, so samples differ.
    expect((await checkBatchInvariance(boolModel(false, 1), sizes)).verdict).toBe('invariant');
  });

  test('negative control: a mean over the batch of the bits leaks', async () => {
    const r = await checkBatchInvariance(boolModel(true), sizes);
    expect(r.verdict).toBe('violated');
    expect(r.causes).toContain('leakage');
  });
});

describe('8-bit image inputs (NHWC uint8, as TF and quantized exports take them)', () => {
  /** image uint8 [N, height, width, 3] -> y = pixels + the batch's mean of (pixels - 200)+: a leak only bright pixels show. */
  function brightLeakModel(dtype: 'uint8' | 'int8', threshold: number): Uint8Array {
    return buildModel({
      opset: 13,
      inputs: [{ name: 'image', dtype, shape: ['N', 'height', 'width', 3] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 'height', 'width', 3] }],
      initializers: [{ name: 't', dtype: 'float32', dims: [], data: [threshold] }],
      nodes: [
        { op: 'Cast', inputs: ['image'], outputs: ['f'], attrs: { to: 1 } },
        { op: 'Sub', inputs: ['f', 't'], outputs: ['d'] },
        { op: 'Relu', inputs: ['d'], outputs: ['r'] },
        { op: 'ReduceMean', inputs: ['r'], outputs: ['m'], attrs: { axes: [0], keepdims: 1 } },
        { op: 'Add', inputs: ['f', 'm'], outputs: ['y'] },
      ],
    });
  }

  test('uint8 pixels are synthesized over 0..255, so a leak only bright pixels show is found', async () => {
    const report = await checkBatchInvariance(brightLeakModel('uint8', 200), { ...sizes, dims: { height: 4, width: 4 } });
    expect(report.model.inputs[0].synthesis).toMatchObject({ kind: 'ids', low: 0, high: 256, table: null });
    expect(report.verdict).toBe('violated');
    expect(report.causes).toContain('leakage');
    expect(formatReport(report)).toContain('inputs: image values in [0, 256) (values over the whole range of uint8, no table found in the graph; set vocab for token ids, CLI --vocab N)');
  });

  test('int8 values span -128..127; vocab still sets the range; an 8-bit input named as ids keeps the vocab default', async () => {
    const report = await checkBatchInvariance(brightLeakModel('int8', 100), { ...sizes, dims: { height: 4, width: 4 } });
    expect(report.model.inputs[0].synthesis).toMatchObject({ kind: 'ids', low: -128, high: 128 });
    expect(report.verdict).toBe('violated');
    const narrowed = await checkBatchInvariance(brightLeakModel('uint8', 200), { ...sizes, dims: { height: 4, width: 4 }, vocab: 50 });
    expect(narrowed.model.inputs[0].synthesis).toMatchObject({ kind: 'ids', low: 0, high: 50 });
    const ids = buildModel({
      inputs: [{ name: 'input_ids', dtype: 'uint8', shape: ['N', 8] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
      nodes: [{ op: 'Cast', inputs: ['input_ids'], outputs: ['y'], attrs: { to: 1 } }],
    });
    expect((await checkBatchInvariance(ids, sizes)).model.inputs[0].synthesis).toMatchObject({ kind: 'ids', low: 0, high: 100 });
  });
});
