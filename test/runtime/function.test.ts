// The user's own batch function as the thing checked: the same plan, causes and report as a
// model (issue 11). The functions here run a real onnxruntime session on the texts they get.
import * as ort from 'onnxruntime-node';
import { BadInputError, checkBatchInvariance, checkDeterminism, checkRunningStats, compareProviders, describeFingerprint, formatDeterminism, formatReport, locateDivergence } from '../../src';
import { dynamicQuantizedTextModel, maskedPoolingModel, unmaskedPoolingModel } from '../helpers/text-models';
import { FUNCTION_LEAKAGE_NOTE } from '../../src/invariance/check';

const texts = ['a cat', 'the dog barks', 'hello', 'batch invariance matters', 'one two three four', 'x', 'quiet night', 'embedding search'];
const sweep = { batchSizes: [1, 2, 4] };

/**
 * A tiny "pipeline": tokenize (chars to ids), pad to the longest text in the batch, run the model.
 * Its parameter is typed as its samples are, as the README writes one: every check and matcher
 * below takes it (ts-jest type-checks this file).
 */
async function pipeline(modelBytes: Uint8Array) {
  const session = await ort.InferenceSession.create(modelBytes);
  return async (batch: string[]) => {
    const ids = batch.map((t) => [...t].map((ch) => 1 + (ch.charCodeAt(0) % 49)));
    const longest = Math.max(...ids.map((r) => r.length));
    const flat = (f: (row: number[], t: number) => number) => BigInt64Array.from(ids.flatMap((row) => Array.from({ length: longest }, (_, t) => BigInt(f(row, t)))));
    const dims = [batch.length, longest];
    const out = await session.run({
      input_ids: new ort.Tensor('int64', flat((row, t) => row[t] ?? 0), dims),
      attention_mask: new ort.Tensor('int64', flat((row, t) => (t < row.length ? 1 : 0)), dims),
      token_type_ids: new ort.Tensor('int64', flat(() => 0), dims),
    });
    return out.y as ort.Tensor;
  };
}

test('a pipeline that pads to the longest text and pools with the mask passes', async () => {
  const embed = await pipeline(maskedPoolingModel());
  const r = await checkBatchInvariance(embed, { samples: texts, ...sweep });
  expect(r.verdict).not.toBe('violated');
  expect(r.model.path).toBe('<function anonymous>');
  expect(r.padding).toMatchObject({ tested: false });
  expect(r.recipe).toBeNull();
  await expect(texts).toBeBatchInvariant(embed, sweep);
});

test('negative control: pooling that ignores the mask leaks the batch-mates through their padding', async () => {
  const embed = await pipeline(unmaskedPoolingModel());
  const r = await checkBatchInvariance(embed, { samples: texts, ...sweep });
  expect(r.verdict).toBe('violated');
  expect(r.causes).toContain('leakage');
  await expect(expect(texts).toBeBatchInvariant(embed, sweep)).rejects.toThrow(/violated \(leakage/);
  expect(r.notes).toContain(FUNCTION_LEAKAGE_NOTE);
});

// The model a function runs is out of sight (no diagnosis): where samples leak, the report
// names the usual culprits, dynamic quantization (transformers.js' 8-bit models) first, and the cure.
test("a function running a dynamically quantized model: leakage, and a note naming dynamic quantization and dtype 'fp32'", async () => {
  const embed = await pipeline(dynamicQuantizedTextModel());
  const r = await checkBatchInvariance(embed, { samples: texts, ...sweep });
  expect([r.verdict, r.causes, r.diagnosis]).toEqual(['violated', expect.arrayContaining(['leakage']), []]);
  const text = formatReport(r, { color: false });
  expect(text).toMatch(/^note: a batch function: the model it runs is out of batchproof's sight, so no diagnosis names the nodes; what usually makes samples leak: dynamic quantization \(DynamicQuantizeLinear, one scale over the whole batch, pads included: transformers\.js' 8-bit models, dtype 'q8' .*load dtype: 'fp32' \(or 'fp16'\), or quantize statically\), attention or pooling that ignores the attention mask.*npx batchproof check model\.onnx/m);
  const message = await expect(texts).toBeBatchInvariant(embed, sweep).then(() => '', (e: Error) => e.message);
  expect(message).toMatch(/dynamic quantization \(DynamicQuantizeLinear/);
  // Control: a clean function gets no such note.
  const clean = await checkBatchInvariance(await pipeline(maskedPoolingModel()), { samples: texts, ...sweep });
  expect(clean.notes.some((n) => /dynamic quantization/.test(n))).toBe(false);
});

// The README's own example: a function whose parameter is typed as the samples are
// (string[], not unknown[]) compiles against every entry that takes one (ts-jest type-checks
// this file: a BatchFunction of unknown[] alone refused it under strict function types).
test('a function typed (texts: string[]) => ... is taken by the checks and the matchers', async () => {
  const embed = await pipeline(maskedPoolingModel());
  const r = await checkBatchInvariance(embed, { samples: texts, ...sweep });
  expect(r.verdict).not.toBe('violated');
  expect((await checkDeterminism(embed, { samples: texts, repeats: 2 })).verdict).toBe('deterministic');
  await expect(texts).toBeBatchInvariant(embed, sweep);
  await expect(texts).toBeDeterministic(embed, { repeats: 2 });
  const rows = (b: number[]) => b.map((x) => [x, x * 2]);
  expect((await checkBatchInvariance(rows, { samples: [1, 2, 3, 4, 5], ...sweep })).verdict).toBe('invariant');
});

test('number[][] and several outputs; determinism', async () => {
  const fn = (batch: unknown[]) => ({ a: (batch as number[]).map((x) => [x, x * 2]), b: { dims: [batch.length, 1], data: Float32Array.from(batch as number[], (x) => x + 1) } });
  const r = await checkBatchInvariance(fn, { samples: [1, 2, 3, 4, 5, 6, 7], ...sweep });
  expect(r.verdict).toBe('invariant');
  expect(r.model.outputs.map((o) => o.name)).toEqual(['a', 'b']);
  const d = await checkDeterminism(fn, { samples: [1, 2, 3, 4], repeats: 2 });
  expect(d.verdict).toBe('deterministic');
});

// The README's row shapes, typed as a user writes them and passed with no cast (ts-jest
// type-checks this file): BatchOutput named number[][] alone, so each was a compile error.
test('a number per sample, typed-array rows and deeper rows type-check as a batch function', async () => {
  const perSample = (batch: number[]) => batch.map((x) => x * 2);
  const typedRows = (batch: number[]) => batch.map((x) => Float32Array.of(x, x * 2));
  const deeper = async (batch: number[]) => batch.map((x) => [[x, 1], [2, x]]);
  const samples = [1, 2, 3, 4, 5];
  expect((await checkBatchInvariance(perSample, { samples, ...sweep })).verdict).toBe('invariant');
  expect((await checkBatchInvariance(typedRows, { samples, ...sweep })).model.outputs[0].dtype).toBe('float32');
  expect((await checkBatchInvariance(deeper, { samples, ...sweep })).model.outputs[0].shape).toEqual(['batch', 2, 2]);
  await expect(samples).toBeBatchInvariant(typedRows, sweep);
});

test('rows as typed arrays, deeper nesting, a number per sample; plain numbers compared as the doubles they are', async () => {
  const words = ['a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff'];
  const check = (fn: (b: unknown[]) => unknown, extra = {}) => checkBatchInvariance(fn as never, { samples: words, ...sweep, ...extra });
  const shapes = async (fn: (b: unknown[]) => unknown) => (await check(fn)).model.outputs.map((o) => [o.dtype, o.shape]);
  expect(await shapes((b) => (b as string[]).map((t) => Float32Array.of(t.length, t.charCodeAt(0))))).toEqual([['float32', ['batch', 2]]]);
  expect(await shapes((b) => (b as string[]).map((t) => [[t.length, 1], [t.charCodeAt(0), 2], [0, 0]]))).toEqual([['float64', ['batch', 3, 2]]]);
  expect(await shapes((b) => (b as string[]).map((t) => t.length / 3))).toEqual([['float64', ['batch']]]);
  // Differences below float32's precision (a double sum in another order from batch 2 on):
  // rounded to float32, as number[][] once was, they would read as bitwise equal.
  const below = (b: unknown[]) => (b as string[]).map((t) => [t.length + (b.length > 1 ? 1e-12 : 0), 1]);
  const r = await check(below, { tolerance: 'exact' });
  expect([r.verdict, r.causes]).toEqual(['violated', ['batch-size']]);
  expect((await check((b) => (b as string[]).map((t) => [t.length, 1]), { tolerance: 'exact' })).verdict).toBe('invariant');
  // { dims, data } with plain numbers: doubles too; strings in it are not numbers.
  expect(await shapes((b) => ({ dims: [b.length, 1], data: (b as string[]).map((t) => t.length / 3) }))).toEqual([['float64', ['batch', 1]]]);
  const strings = await check((b) => ({ dims: [b.length, 1], data: (b as string[]).map(() => '1') })).then(() => null, (e: Error) => e.message);
  expect(strings).toMatch(/output 'output' has data that is not all numbers, got \["1"\]/);
  const ragged = await check((b) => (b as string[]).map((t, i) => (i === 0 ? [t.length] : [t.length, 1]))).then(() => null, (e: Error) => e.message);
  expect(ragged).toMatch(/has rows of different lengths or depths; return one row of the same shape per sample/);
});

// Deep rows are flattened in place (no growing list of every value): each value lands at its
// own index, typed rows beside plain ones, and a value that is not a number is still one line.
test('deep rows keep every value at its index; float32 rows stay float32 at depth', async () => {
  const words = ['a', 'bb', 'ccc', 'dddd', 'eeeee'];
  const deep = (b: unknown[]) => (b as string[]).map((t) => [[t.length, 1, 0], [2, t.length + (b.length > 1 ? 0.5 : 0), 3]]);
  const r = await checkBatchInvariance(deep as never, { samples: words, ...sweep });
  expect(r.worst && [r.worst.index, r.worst.expected, r.worst.actual - r.worst.expected]).toEqual([[1, 1], r.worst?.expected, 0.5]);
  expect(r.model.outputs[0]).toMatchObject({ dtype: 'float64', shape: ['batch', 2, 3] });
  const typed = (b: unknown[]) => (b as string[]).map((t) => [Float32Array.of(t.length, 1), Float32Array.of(2, t.length / 3)]);
  const rt = await checkBatchInvariance(typed as never, { samples: words, ...sweep });
  expect([rt.verdict, rt.model.outputs[0].dtype, rt.model.outputs[0].shape]).toEqual(['invariant', 'float32', ['batch', 2, 2]]);
  const hole = (b: unknown[]) => (b as string[]).map((t) => [[t.length, 1], [2, b.length > 1 ? 'x' : 3]]);
  await expect(checkBatchInvariance(hole as never, { samples: words, ...sweep })).rejects.toThrow(/output 'output' is not numeric/);
});

// The function gets the user's samples as they are: the report says so, not 'floats'.
test("the report's inputs are the samples as given; a named function is titled by its name", async () => {
  const r = await checkBatchInvariance(async function embed(b: unknown[]) { return (b as string[]).map((t) => [t.length, t.charCodeAt(0)]); }, { samples: texts, ...sweep });
  expect([r.model.path, r.model.inputs.map((i) => i.synthesis)]).toEqual(['<function embed>', [{ kind: 'user', source: 'samples', role: 'samples' }]]);
  expect(formatReport(r, { color: false })).toMatch(/^inputs: samples as given, each passed to the function as it is$/m);
  expect(formatReport(r, { color: false })).not.toMatch(/floats/);
});

// The call that learns the outputs is a real run of the first sample alone: the check takes it
// as that batch's first run, so the function gets exactly the calls the report lists.
test('every call the function gets is a run the report lists, the first one included', async () => {
  const calls: number[] = [];
  const fn = (batch: unknown[]) => {
    calls.push(batch.length);
    return (batch as number[]).map((x) => [x, -x]);
  };
  const r = await checkBatchInvariance(fn, { samples: [1, 2, 3, 4, 5, 6, 7], ...sweep });
  expect(calls.length).toBe(r.runs.reduce((n, run) => n + run.calls, 0));
  expect(calls.reduce((n, rows) => n + rows, 0)).toBe(r.runs.reduce((n, run) => n + run.batchSize * run.calls, 0));
  expect(calls[0]).toBe(1);
});

test('the first call is taken once: a first sample whose answer changes every call is nondeterministic', async () => {
  let n = 0;
  const fn = (batch: unknown[]) => (batch as number[]).map((x) => [x === 1 ? ++n : x]);
  const r = await checkBatchInvariance(fn, { samples: [1, 2, 3, 4, 5, 6, 7], ...sweep });
  expect(r.causes).toContain('nondeterminism');
  // A function whose very first answer differs (a cold cache, a warm-up) is seen doing so.
  let first = true;
  const warming = (batch: unknown[]) => {
    const out = (batch as number[]).map((x) => [x + (first ? 0.5 : 0)]);
    first = false;
    return out;
  };
  const d = await checkDeterminism(warming, { samples: [1, 2, 3, 4], repeats: 2, batchSize: 1 });
  expect(d.verdict).toBe('nondeterministic');
});

// Determinism of a batch larger than 1: the call that learns the outputs (sample 0 alone) is no
// run of that batch, so a warm-up was never compared: 'deterministic' for a function whose first
// answer differs. Sample 0 alone is now called again and compared with it.
test('determinism sees a first call unlike the later ones at the default batch size, and lists every call', async () => {
  const calls: number[] = [];
  let first = true;
  const warming = (batch: unknown[]) => {
    calls.push(batch.length);
    const out = (batch as number[]).map((x) => [x + (first ? 1e-3 : 0), 2 * x]);
    first = false;
    return out;
  };
  const d = await checkDeterminism(warming, { samples: [1, 2, 3, 4], repeats: 3 });
  expect([d.verdict, d.batchSize, d.differingRuns, d.causes]).toEqual(['nondeterministic', 4, [], ['nondeterminism']]);
  expect(d.firstCall).toMatchObject({ bitExact: false, pass: false, worst: { output: 'output', index: 0, expected: 1.001, actual: 1 } });
  expect(d.maxAbs).toBeCloseTo(1e-3, 9);
  expect(calls).toEqual([1, 4, 4, 4, 1]);
  expect(d.runs).toEqual([{ batchSize: 1, calls: 2 }, { batchSize: 4, calls: 3 }]);
  expect(formatDeterminism(d, { color: false })).toMatch(/^ {2}the first call \(sample 0 alone, which learnt the outputs\) and sample 0 alone again differ by up to 1\.00e-3 .*: the first answer is not the later ones \(a warm-up/m);
  // Within a tolerance it allows: within-tolerance, not a failure.
  expect((await checkDeterminism(warming, { samples: [1, 2, 3, 4], repeats: 2, tolerance: 1e-2 })).verdict).toBe('deterministic');
  first = true;
  expect((await checkDeterminism(warming, { samples: [1, 2, 3, 4], repeats: 2, tolerance: 1e-2 })).verdict).toBe('within-tolerance');
  // Control: a function with no warm-up stays deterministic, the first call compared and equal.
  const steady = await checkDeterminism((b: unknown[]) => (b as number[]).map((x) => [x]), { samples: [1, 2, 3, 4], repeats: 2 });
  expect([steady.verdict, steady.firstCall?.bitExact]).toEqual(['deterministic', true]);
});

describe('bad functions and samples are one clear line', () => {
  const run = async (fn: (b: unknown[]) => unknown, samples: unknown = [1, 2, 3, 4, 5], extra = {}) => {
    const e = await checkBatchInvariance(fn as never, { samples, ...sweep, ...extra } as never).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(BadInputError);
    expect((e as Error).message).not.toMatch(/\n/);
    return (e as Error).message;
  };
  test.each([
    ['throws', () => { throw new Error('tokenizer not loaded'); }, /the batch function threw on sample 0 alone \(1\): tokenizer not loaded/],
    ['wrong row count', (b: unknown[]) => [[1], ...b.map(() => [1])], /returned 2 rows for 'output' on a batch of 1 sample/],
    ['not numeric', (b: unknown[]) => b.map(() => ['x']), /is not numeric/],
    ['shapes change with the batch', (b: unknown[]) => b.map(() => Array(b.length).fill(1)), /only the first axis may follow the batch/],
    ['returns a string', () => 'hi', /returned "hi" for 'output'/],
    // Kept as float32 (learned on one sample), float64 rows would be rounded: differences below float32's precision would read as bitwise equal.
    ['float32 rows on one sample, float64 on a batch', (b: unknown[]) => b.map((x) => (b.length === 1 ? Float32Array : Float64Array).of((x as number) / 3, 1)), /output 'output' is float64 on a batch of 2 but float32 on one sample .*; return the same type for every batch/],
    ['float64 on one sample, float32 on a batch', (b: unknown[]) => ({ dims: [b.length, 1], data: b.length === 1 ? Float64Array.from(b as number[], (x) => x / 3) : Float32Array.from(b as number[], (x) => x / 3) }), /output 'output' is float32 on a batch of 2 but float64 on one sample/],
    ['an output more on a batch than on one sample', (b: unknown[]) => (b.length === 1 ? { a: b.map(() => [1]) } : { a: b.map(() => [1]), extra: b.map(() => [2]) }), /returned 'extra' on a batch of 2 but not on one sample \('a'\); return the same outputs for every batch/],
    ['an output missing on a batch', (b: unknown[]) => (b.length === 1 ? { a: b.map(() => [1]) } : { z: b.map(() => [1]) }), /returned no 'a' on a batch of 2, though it did on one sample/],
    ['dims with no batch axis', () => ({ dims: [], data: [5] }), /output 'output' has dims \[\]: give whole numbers with the batch first/],
    ['dims that are not whole numbers', (b: unknown[]) => ({ dims: [String(b.length), 1], data: b.map(() => 1) }), /output 'output' has dims \["1",1\]: give whole numbers/],
    ['rejects with an empty message', () => Promise.reject(new Error('')), /the batch function threw on sample 0 alone \(1\): Error with no message$/],
    ['empties the batch it is given', (b: unknown[]) => { const out = b.map(() => [1, 2]); b.length = 0; return [...out, [3, 4]]; }, /returned 2 rows for 'output' on a batch of 1 sample/],
    // Emptied, then another type on a batch than on one sample: the batch it was given is named, not 0.
    ['empties the batch, then returns another type', (b: unknown[]) => { const n = b.length; b.length = 0; return Array.from({ length: n }, () => (n === 1 ? Float32Array : Float64Array).of(1, 2)); }, /output 'output' is float64 on a batch of 2 but float32 on one sample/],
    // A tensor whose data sit on a GPU: its getter throws, which is no internal error.
    ['data that cannot be read', (b: unknown[]) => ({ dims: [b.length, 1], get data(): never { throw new Error('The data is not on CPU. Use `getData()` to download GPU data to CPU'); } }), /outputs on a batch of 1 could not be read: The data is not on CPU.*; return values on the CPU/],
    // What a user plausibly returns, each named as what it is, with the form to return instead.
    ['a Map of outputs', (b: unknown[]) => new Map([['a', b.map(() => [1])]]), /^the batch function returned a Map; return a plain object of outputs \(\{ name: tensor \}\), e\.g\. Object\.fromEntries\(map\)$/],
    ['a typed array with no dims', (b: unknown[]) => Float32Array.from(b as number[]), /^the batch function returned a Float32Array of 1 value for 'output', with no dims: return \{ dims: \[1, \.\.\.\], data \} \(the batch first\), or an array with a row \(or a number\) per sample$/],
    ['a tensor per sample', (b: unknown[]) => b.map((x) => new ort.Tensor('float32', Float32Array.of(x as number, 1), [1, 2])), /^the batch function's output 'output' is an array of tensors, one per sample: return one tensor for the whole batch, or their data as rows \(tensors\.map\(\(t\) => t\.data\)\)$/],
  ])('%s', async (_name, fn, message) => {
    expect(await run(fn as never)).toMatch(message);
  });
  // Token embeddings ([batch, tokens, hidden], a feature-extraction pipeline without pooling)
  // have as many tokens as the batch's longest text: the line names the sample and says to pool.
  test('per-token outputs padded to the longest text: the shapes and the sample named, and the cure (pool)', async () => {
    const tokens = (b: unknown[]) => {
      const longest = Math.max(...(b as string[]).map((t) => t.length));
      return (b as string[]).map((t) => Array.from({ length: longest }, (_, i) => [i < t.length ? t.charCodeAt(i) : 0, 1]));
    };
    const message = await run(tokens, texts);
    expect(message).toMatch(/^the batch function's output 'output' is \[1, 13, 2\] on sample 1 alone but \[1, 5, 2\] on sample 0 alone: only the first axis may follow the batch; per-token outputs \(\[batch, tokens, hidden\]\) have as many tokens as the batch's longest sample: pool inside the function \(transformers\.js: extractor\(texts, \{ pooling: 'mean' \}\), or 'cls'\), or pad every batch to one fixed length$/);
    // Determinism's batch: its size named, not a batch of 1.
    const e = await checkDeterminism(tokens, { samples: texts, repeats: 2, batchSize: 4 }).then(() => null, (x: Error) => x);
    expect(e?.message).toMatch(/^the batch function's output 'output' is \[4, 24, 2\] on a batch of 4 but \[1, 5, 2\] on sample 0 alone: only the first axis/);
  });
  // One bad entry in a long samples file (a null among texts): the line names it, not 'a batch of 1'.
  test('a sample the function cannot take: the throw names the sample', async () => {
    const embed = await pipeline(maskedPoolingModel());
    expect(await run(embed as never, ['a cat', 'the dog barks', null, 'hello', 'quiet night'])).toMatch(/^the batch function threw on sample 2 alone \(null\): t is not iterable$/);
    // In a larger batch the culprit is not known: the batch is named.
    const picky = (b: unknown[]) => (b.length > 2 ? Promise.reject(new Error('batch too large')) : b.map(() => [1, 2]));
    expect(await run(picky)).toMatch(/^the batch function threw on a batch of 4: batch too large$/);
  });
  test('samples missing, empty, identical; padTo', async () => {
    const fn = (b: unknown[]) => b.map(() => [1]);
    expect(await run(fn, null)).toMatch(/a batch function needs samples: an array/);
    expect(await run(fn, [])).toMatch(/a batch function needs samples/);
    expect(await run(fn, 'abc')).toMatch(/a batch function needs samples/);
    expect(await run(fn, ['same', 'same', 'same'])).toMatch(/all the same: identical batch-mates cannot show leakage/);
    expect(await run(fn, ['alone'])).toMatch(/one sample only: its batch-mates would be copies of it/);
    // Judged on the samples the plan feeds: a different one past them would show nothing.
    const length = (b: unknown[]) => (b as string[]).map((s) => [s.length]);
    expect(await run(length as never, [...Array(100).fill('same'), 'different'])).toMatch(/samples this check feeds \(of the 101 given\) are all the same/);
    expect((await checkBatchInvariance(length, { samples: ['different', ...Array(100).fill('same')], ...sweep })).verdict).toBe('invariant');
    // Objects JSON cannot write (circular) are told apart by identity: distinct ones are checked,
    // one object given three times is one sample.
    const node = (id: number) => { const n: Record<string, unknown> = { id }; n.self = n; return n; };
    const byId = (b: unknown[]) => (b as { id: number }[]).map((n) => [n.id, n.id * 2]);
    expect((await checkBatchInvariance(byId, { samples: [node(1), node(2), node(3), node(4)], ...sweep })).verdict).toBe('invariant');
    const one = node(1);
    expect(await run(byId as never, [one, one, one])).toMatch(/all the same: identical batch-mates cannot show leakage/);
    // What JSON writes as nothing ('{}' for a Map, a class with private fields; null for NaN)
    // does not make distinct samples read as all the same; Maps compare by their entries.
    class Pixels { #v: number; constructor(v: number) { this.#v = v; } get v() { return this.#v; } }
    const v = (b: unknown[]) => (b as { v: number }[]).map((x) => [x.v, 1]);
    expect((await checkBatchInvariance(v, { samples: [1, 2, 3, 4].map((i) => new Pixels(i)), ...sweep })).verdict).toBe('invariant');
    const pixels = new Pixels(1);
    expect(await run(v as never, [pixels, pixels, pixels])).toMatch(/all the same/);
    const get = (b: unknown[]) => (b as Map<string, number>[]).map((m) => [m.get('v') as number, 1]);
    expect((await checkBatchInvariance(get, { samples: [1, 2, 3, 4].map((i) => new Map([['v', i]])), ...sweep })).verdict).toBe('invariant');
    expect(await run(get as never, [1, 1, 1].map((i) => new Map([['v', i]])))).toMatch(/all the same/);
    const kind = (b: unknown[]) => b.map((x) => [x === null ? 1 : Number.isNaN(x) ? 2 : Object.is(x, -0) ? 3 : 4]);
    expect((await checkBatchInvariance(kind, { samples: [null, NaN, -0, 0], ...sweep })).verdict).toBe('invariant');
    // Typed arrays, DataViews and Buffers by their bytes: a DataView (no length) read as [] each.
    const views = [1, 2, 3, 4].map((i) => { const d = new DataView(new ArrayBuffer(8)); d.setFloat32(0, i); return d; });
    const first = (b: unknown[]) => (b as DataView[]).map((d) => [d.getFloat32(0), 1]);
    expect((await checkBatchInvariance(first, { samples: views, ...sweep })).verdict).toBe('invariant');
    expect(await run(first as never, [views[0], new DataView(views[0].buffer.slice(0)), new DataView(views[0].buffer.slice(0))])).toMatch(/all the same/);
    const bytes = (b: unknown[]) => (b as Uint8Array[]).map((x) => [x[0], x.length]);
    expect((await checkBatchInvariance(bytes, { samples: [1, 2, 3, 4].map((i) => Buffer.from([i, 7])), ...sweep })).verdict).toBe('invariant');
    expect(await run(bytes as never, [1, 1, 1].map(() => Float32Array.of(0.5, -0)))).toMatch(/all the same/);
    expect(await run(fn, [1, 2, 3], { padTo: 4 })).toMatch(/^padTo \(CLI --pad-to\) adds filler rows: for a batch function, give filler \(CLI --filler\) as well, the sample your system pads a batch with, e\.g\. filler: '' \(CLI --filler ''\), or leave padTo out$/);
  });
  // Refused before any inference: a first call can load a model (a pipeline reading its weights) for minutes.
  test('samples that are one or all the same, and padTo without a filler, are refused before the function is called', async () => {
    let calls = 0;
    const counted = (b: unknown[]) => (calls++, b.map(() => [1]));
    expect(await run(counted, ['alone'])).toMatch(/^one sample only/);
    expect(await run(counted, ['same', 'same', 'same'])).toMatch(/^the 3 samples are all the same/);
    expect(await run(counted, [1, 2, 3], { padTo: 4 })).toMatch(/^padTo \(CLI --pad-to\) adds filler rows/);
    expect(calls).toBe(0);
    // Determinism takes them (it runs the same batch again).
    expect((await checkDeterminism(counted, { samples: ['alone'], repeats: 2 })).verdict).toBe('deterministic');
    expect(calls).toBeGreaterThan(0);
  });
  // Determinism runs the same batch again: repeated samples, or one, show a run that differs, as for a model.
  test('determinism takes repeated samples and a single one, and still sees runs that differ', async () => {
    const length = (b: unknown[]) => (b as string[]).map((s) => [s.length, 1]);
    for (const samples of [Array(8).fill('same'), ['only']]) {
      const d = await checkDeterminism(length, { samples, repeats: 2 });
      expect([d.verdict, d.batchSize]).toEqual(['deterministic', samples.length]);
      const noisy = (b: unknown[]) => (b as string[]).map((s) => [s.length + Math.random(), 1]);
      expect((await checkDeterminism(noisy, { samples, repeats: 2 })).verdict).toBe('nondeterministic');
    }
  });
});

// A function that changes its samples in place gives every later call another sample: without
// a word, that read as nondeterminism. Objects are watched (a key before the first call, one after
// the runs); strings and numbers cannot be changed.
describe('a function that changes its samples in place is one line naming the sample', () => {
  const tokens = () => [[1, 2], [3], [4, 5, 6], [7], [8, 9], [10, 11, 12, 13]].map((t) => ({ tokens: t }));
  const rowsOf = (b: unknown[]) => (b as { tokens: number[] }[]).map((s) => [s.tokens.length, s.tokens[0]]);
  const message = (call: Promise<unknown>) => call.then(() => 'resolved', (e: unknown) => (e instanceof BadInputError ? e.message : `not a BadInputError: ${e}`));
  const cure = /; copy the sample inside the function before changing it \(e\.g\. const tokens = \[\.\.\.sample\.tokens\], or structuredClone\(sample\)\)$/;

  test('pushing to every sample it gets: seen in the first call, in check, determinism and the matchers', async () => {
    const pushes = (b: unknown[]) => ((b as { tokens: number[] }[]).forEach((s) => s.tokens.push(0)), rowsOf(b));
    const line = /^the batch function changed sample 0 in place in its first call \(sample 0 alone\): its content is no longer what it was before the first call, so later calls got another sample, and the outputs that differed may differ for that alone; copy/;
    for (const m of [await message(checkBatchInvariance(pushes, { samples: tokens(), ...sweep })), await message(checkDeterminism(pushes, { samples: tokens(), repeats: 2 }))]) {
      expect(m).toMatch(line);
      expect(m).toMatch(cure);
    }
    await expect(expect(tokens()).toBeBatchInvariant(pushes, sweep)).rejects.toThrow(line);
    // Sorting a sample (an array) in place, when the outputs then move, is the same.
    const sorts = (b: unknown[]) => (b as number[][]).map((s) => [s[0], s.sort((x, y) => x - y).length]);
    expect(await message(checkBatchInvariance(sorts, { samples: [[3, 1, 2], [5, 4], [9, 7, 8], [6, 2]], ...sweep }))).toMatch(/^the batch function changed sample 0 in place in its first call/);
    // So is a typed array (an image) changed in place, and a Buffer.
    for (const make of [(v: number[]): unknown => Float32Array.from(v), (v: number[]): unknown => Buffer.from(v)]) {
      const reverses = (b: unknown[]) => (b as Uint8Array[]).map((x) => [x.reverse()[0], x.length]);
      expect(await message(checkBatchInvariance(reverses, { samples: [[3, 1, 2], [5, 4], [9, 7, 8], [6, 2]].map(make), ...sweep }))).toMatch(/^the batch function changed sample 0 in place in its first call/);
    }
  });

  test('a change that did not move the outputs (a cache kept on the sample): they pass, with a note naming it', async () => {
    const caches = (b: unknown[]) => rowsOf((b as { tokens: number[]; ids?: number[] }[]).map((s) => ((s.ids ??= s.tokens.map((t) => 2 * t)), s)));
    const note = /^the batch function changed sample 0 in place in its first call \(sample 0 alone\) \(a cache kept on it\?\); the outputs passed all the same, so the change did not move them; copy the sample inside the function before changing it .* if it should not$/;
    const r = await checkBatchInvariance(caches, { samples: tokens(), ...sweep });
    expect(r.verdict).toBe('invariant');
    expect(r.notes).toEqual(expect.arrayContaining([expect.stringMatching(note)]));
    const d = await checkDeterminism(caches, { samples: tokens(), repeats: 2 });
    expect(d.verdict).toBe('deterministic');
    expect(d.notes).toEqual(expect.arrayContaining([expect.stringMatching(note)]));
    // Sorted in place, its outputs read from the sorted sample the same: a note, not a refusal.
    const sortsQuietly = (b: unknown[]) => (b as number[][]).map((s) => [s.sort((x, y) => x - y)[0], s.length]);
    const sorted = await checkBatchInvariance(sortsQuietly, { samples: [[3, 1, 2], [5, 4], [9, 7, 8], [6, 2]], ...sweep });
    expect(sorted.verdict).toBe('invariant');
    expect(sorted.notes.join(' ')).toMatch(/changed sample 0 in place in its first call/);
  });

  test('a change in a later call: the sample and the first call it could have been made in', async () => {
    const onBatches = (b: unknown[]) => (b.length > 1 && (b as { tokens: number[] }[]).forEach((s) => s.tokens.push(0)), rowsOf(b));
    expect(await message(checkBatchInvariance(onBatches, { samples: tokens(), ...sweep }))).toMatch(/^the batch function changed sample 0 in place in call \d+ \(a batch of \d+\) or a later one: /);
    expect(await message(checkDeterminism(onBatches, { samples: tokens(), repeats: 3, batchSize: 4 }))).toMatch(/^the batch function changed sample 0 in place in call 2 \(a batch of 4\) or a later one: /);
    // A function that then throws on the sample it changed (too many tokens): the change is named, not the throw.
    const grows = (b: unknown[]) => ((b as { tokens: number[] }[]).forEach((s) => { if (s.tokens.length > 4) throw new Error('too many tokens'); if (b.length > 1) s.tokens.push(0); }), rowsOf(b));
    const grown = await message(checkDeterminism(grows, { samples: tokens(), repeats: 5, batchSize: 4 }));
    expect(grown).toMatch(/^the batch function changed sample 0 in place in call 2 \(a batch of 4\) or a later one; then the batch function threw on a batch of 4: too many tokens; copy the sample/);
    // Said once, and 'threw' only for a throw: a wrong row count after the change is named as such.
    expect(grown.match(/threw/g)).toHaveLength(1);
    const shrinks = (b: unknown[]) => ((b as { tokens: number[] }[]).forEach((s) => s.tokens.push(0)), b.length > 1 && (b as { tokens: number[] }[])[0].tokens.length > 3 ? [[1, 1]] : rowsOf(b));
    expect(await message(checkDeterminism(shrinks, { samples: tokens(), repeats: 3, batchSize: 4 }))).toMatch(/^the batch function changed sample 0 in place in its first call \(sample 0 alone\); then the batch function returned 1 row for 'output' on a batch of 4 samples; return one row per sample, the batch first; copy the sample/);
    // The filler (an object too) is watched: padded batches would get another one.
    // (Here its rows are not compared, so the outputs pass: a note names it.)
    const padsChange = (b: unknown[]) => ((b as { tokens: number[]; pad?: true }[]).forEach((s) => s.pad && s.tokens.push(0)), rowsOf(b));
    const padded = await checkBatchInvariance(padsChange, { samples: tokens(), ...sweep, padTo: 4, filler: { tokens: [0], pad: true } });
    expect(padded.notes.join(' ')).toMatch(/the batch function changed the filler sample in place in call \d+ \(a batch of 4\)/);
  });

  test('negative control: a function that copies its samples (or only reads them) is checked as usual', async () => {
    const copies = (b: unknown[]) => rowsOf((b as { tokens: number[] }[]).map((s) => ({ tokens: [...s.tokens, 0] })));
    expect((await checkBatchInvariance(copies, { samples: tokens(), ...sweep })).verdict).toBe('invariant');
    expect((await checkDeterminism(copies, { samples: tokens(), repeats: 2 })).verdict).toBe('deterministic');
    // A function whose answers truly change run to run, on object samples, is still nondeterminism.
    const noisy = (b: unknown[]) => rowsOf(b).map((r) => [r[0] + Math.random(), r[1]]);
    expect((await checkDeterminism(noisy, { samples: tokens(), repeats: 2 })).verdict).toBe('nondeterministic');
  });
});

// Under Jest (as in a server, or with a setInterval of the function's own) something else keeps
// Node alive, so a lost promise is never seen as one nothing can settle: the call's timeout ends it.
describe('a call still pending after callTimeoutMs fails in one line naming the call', () => {
  const words = ['a', 'bb', 'ccc', 'dddd', 'eeeee'];
  const rows = (b: unknown[]) => (b as string[]).map((t) => [t.length, t.charCodeAt(0)]);
  const late = (size: number, timeout: string) => new RegExp(`^the batch function did not settle within ${timeout} on a batch of ${size}: its promise neither resolved nor rejected; make it settle, or raise callTimeoutMs \\(CLI --call-timeout\\) if a call takes longer$`);
  const message = (call: Promise<unknown>) => call.then(() => 'resolved', (e: unknown) => (e instanceof BadInputError ? e.message : `not a BadInputError: ${e}`));

  test('the API: the first call, or a later one on a larger batch; a call within the timeout is waited for', async () => {
    const started = Date.now();
    expect(await message(checkBatchInvariance(() => new Promise<number[][]>(() => {}), { samples: words, callTimeoutMs: 300 }))).toMatch(late(1, '300 ms'));
    expect(Date.now() - started).toBeLessThan(3000);
    const hangsOnTwo = (b: unknown[]) => (b.length === 2 ? new Promise<number[][]>(() => {}) : Promise.resolve(rows(b)));
    expect(await message(checkBatchInvariance(hangsOnTwo, { samples: words, ...sweep, callTimeoutMs: 300 }))).toMatch(late(2, '300 ms'));
    expect(await message(checkDeterminism(hangsOnTwo, { samples: words, batchSize: 2, callTimeoutMs: 300 }))).toMatch(late(2, '300 ms'));
    const slow = (b: unknown[]) => new Promise<number[][]>((resolve) => setTimeout(() => resolve(rows(b)), 20));
    expect((await checkBatchInvariance(slow, { samples: words, batchSizes: [1, 2], callTimeoutMs: 2000 })).verdict).toBe('invariant');
  });

  test('the matchers: toBeBatchInvariant and toBeDeterministic with a function', async () => {
    const never = () => new Promise<number[][]>(() => {});
    await expect(expect(words).toBeBatchInvariant(never, { callTimeoutMs: 300 })).rejects.toThrow(late(1, '300 ms'));
    await expect(expect(words).toBeDeterministic(never, { callTimeoutMs: 300 })).rejects.toThrow(late(1, '300 ms'));
  });

  test('bad values, and a model (its runs are not a function\'s calls), are refused', async () => {
    expect(await message(checkBatchInvariance(rows, { samples: words, callTimeoutMs: 0 }))).toMatch(/^checkBatchInvariance: callTimeoutMs must be a positive number of milliseconds \(Infinity: no limit\), got 0; for example callTimeoutMs: 300000/);
    expect(await message(checkDeterminism(rows, { samples: words, callTimeoutMs: NaN }))).toMatch(/^checkDeterminism: callTimeoutMs must be a positive number/);
    expect(await message(checkBatchInvariance(maskedPoolingModel(), { callTimeoutMs: 1000 }))).toMatch(/^checkBatchInvariance: callTimeoutMs \(--call-timeout\) limits a batch function's calls, and this is a model; leave it out$/);
    // Beyond setTimeout's range (about 24 days) is no limit, not a timer that fires at once.
    expect((await checkBatchInvariance(async (b) => rows(b), { samples: words, batchSizes: [1, 2], callTimeoutMs: 1e12 })).verdict).toBe('invariant');
  });
});

// A runtime's preallocated output or a pipeline's scratch array: the same buffer every call.
// onnxruntime and transformers.js hold float16 values as Uint16 bits: compared as integers, 1.0
// would be 15360 and one ULP of drift an absolute difference of 1, beyond every tolerance.
test('a float16 tensor is compared as the float16 values it holds, not as its bits', async () => {
  const half = (b: unknown[]) => new ort.Tensor('float16', Uint16Array.from((b as string[]).flatMap((t) => [0x3c00 + t.length * 16 + (b.length > 1 ? 1 : 0), 0x3c00])), [b.length, 2]);
  const r = await checkBatchInvariance(half, { samples: texts, ...sweep });
  expect([r.verdict, r.causes, r.model.outputs[0].dtype]).toEqual(['within-tolerance', ['batch-size'], 'float16']);
  const { expected, actual, ulp } = r.worst as { expected: number; actual: number; ulp: number };
  expect([expected >= 1 && expected < 2, actual - expected, ulp]).toEqual([true, 2 ** -10, 1]);
  expect(r.minimumTolerance.ulp).toBe(1);
});

// Integer outputs (64-bit hashes, class ids) compare exactly, as a model's do: read as doubles,
// int64 values past 2^53 round (2^60 + 1 reads as 2^60), and a float tolerance's rtol spans
// hundreds at 2^31, so a hash whose low bits follow the batch read as equal or within tolerance.
test('integer outputs keep their type and compare exactly: 64-bit hashes past 2^53, int32 near 2^31', async () => {
  const words = ['a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff'];
  const hash = (b: unknown[], base: bigint) => (b as string[]).map((t) => base + BigInt(t.length * 1000 + b.length));
  const int64 = (b: unknown[]) => new ort.Tensor('int64', BigInt64Array.from(hash(b, 2n ** 60n)), [b.length]);
  const uint64 = (b: unknown[]) => ({ dims: [b.length, 1], data: BigUint64Array.from(hash(b, 2n ** 63n)) });
  const int32 = (b: unknown[]) => ({ dims: [b.length, 1], data: Int32Array.from(b as string[], (t) => 2 ** 31 - 10_000 + t.length * 1000 + b.length) });
  const int64Rows = (b: unknown[]) => hash(b, 2n ** 60n).map((h) => BigInt64Array.of(h, 1n));
  for (const [fn, dtype] of [[int64, 'int64'], [uint64, 'uint64'], [int32, 'int32'], [int64Rows, 'int64']] as const) {
    const r = await checkBatchInvariance(fn, { samples: words, ...sweep });
    expect([r.verdict, r.model.outputs[0].dtype, Math.max(...r.batches.map((b) => b.maxAbs))]).toEqual(['violated', dtype, 3]);
  }
  // Negative control: the same hashes without the batch in them pass, bitwise.
  const steady = (b: unknown[]) => ({ dims: [b.length], data: BigInt64Array.from(b as string[], (t) => 2n ** 60n + BigInt(t.length)) });
  expect((await checkBatchInvariance(steady, { samples: words, ...sweep })).verdict).toBe('invariant');
});

test('a function that hands back the same buffer every call is judged on each call\'s own rows', async () => {
  const words = ['a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff'];
  const reusing = (leak: boolean) => {
    const buffer = new Float32Array(64 * 2);
    return async (batch: unknown[]) => {
      const rows = (batch as string[]).map((t) => [t.length, t.charCodeAt(0)]);
      const mean = leak ? rows.reduce((a, r) => a + r[1], 0) / rows.length : 0;
      rows.forEach((r, i) => buffer.set([r[0], r[1] - mean], 2 * i));
      return { dims: [batch.length, 2], data: buffer.subarray(0, 2 * batch.length) };
    };
  };
  expect((await checkBatchInvariance(reusing(false), { samples: words, ...sweep })).verdict).toBe('invariant');
  const leaky = await checkBatchInvariance(reusing(true), { samples: words, ...sweep });
  expect(leaky.causes).toContain('leakage');
  expect(leaky.causes).not.toContain('nondeterminism');
});

describe('a pass says what it could not see', () => {
  const words = ['a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff'];
  const perSample = (b: unknown[]) => (b as string[]).map((t) => [t.length, t.charCodeAt(0)]);
  const notesOf = async (fn: (b: unknown[]) => number[][]) => (await checkBatchInvariance(fn, { samples: words, ...sweep })).notes.join('\n');

  test('the same answer for every sample: rows swapped in the batch could not show', async () => {
    const constant = await checkBatchInvariance((b) => b.map(() => [1, 2]), { samples: words, ...sweep });
    expect(constant.verdict).toBe('invariant');
    expect(constant.notes.join('\n')).toMatch(/the 3 probes, though their samples differ, get the same outputs: .*rows swapped or mixed in the batch\) cannot show/);
    expect(await notesOf(perSample)).not.toMatch(/get the same outputs/);
  });

  // A samples file that starts with a repeated line: the probes are copies, so one answer is no
  // finding about the output; the note said 'though their samples differ'.
  test('probes that are copies of one sample: the note says so, not that their samples differ', async () => {
    const embed = await pipeline(maskedPoolingModel());
    const r = await checkBatchInvariance(embed, { samples: ['hello', 'hello', 'hello', ...texts], ...sweep });
    expect(r.verdict).not.toBe('violated');
    const notes = r.notes.join('\n');
    expect(notes).not.toMatch(/though their samples differ/);
    expect(notes).toMatch(/the 3 probes are one sample given 3 times \(samples 0, 1, 2 are equal\): sizes and positions were tested on that one sample, .*; put 3 different samples first/);
    // Control: distinct probes, real outputs: neither note.
    expect((await checkBatchInvariance(embed, { samples: texts, ...sweep })).notes.join('\n')).not.toMatch(/probes/);
  });

  test('NaN in the outputs: only the finite values could show a difference', async () => {
    const halfNaN = await checkBatchInvariance((b) => (b as string[]).map((t) => [t.length, NaN]), { samples: words, ...sweep });
    expect(halfNaN.nonFinite).toEqual([{ output: 'output', count: expect.any(Number) }]);
    expect(halfNaN.notes.join('\n')).toMatch(/NaN or Inf in 'output' \(\d+ values over the runs\): NaN is compared as equal to NaN/);
    expect(await notesOf(perSample)).not.toMatch(/NaN or Inf/);
  });
});

describe("a function's own session: batchproof sets none of it up, and says so", () => {
  const fn = async (b: unknown[]) => (b as string[]).map((t) => [t.length, t.charCodeAt(0)]);
  const samples = ['a', 'bb', 'ccc', 'dddd', 'eeeee'];

  test('session and input options are refused, never silently ignored; padding: false asks for nothing', async () => {
    const refused = async (call: Promise<unknown>) => ((await call.then(() => null, (e: unknown) => e)) as Error | null)?.message ?? 'resolved';
    expect(await refused(checkBatchInvariance(fn, { samples, provider: 'wasm' }))).toMatch(/^checkBatchInvariance: provider \(--provider\) sets up a model's session or input tensors, and a batch function makes its own session .*; leave it out/);
    expect(await refused(checkBatchInvariance(fn, { samples, threads: 2, dims: { seq: 8 } }))).toMatch(/threads \(--threads\), dims \(--dim\) set up a model's session or input tensors.*leave them out/);
    expect(await refused(checkDeterminism(fn, { samples, deterministic: true }))).toMatch(/^checkDeterminism: deterministic \(--deterministic\) sets up/);
    expect((await checkBatchInvariance(fn, { samples, batchSizes: [1, 2], padding: false })).verdict).toBe('invariant');
  });

  // What batchproof holds of a function's answers is bounded as a model's outputs are: never ignored.
  test('maxBytes (--max-memory) bounds the outputs it returns, in check and in determinism', async () => {
    const refused = async (call: Promise<unknown>) => ((await call.then(() => null, (e: unknown) => e)) as Error | null)?.message ?? 'resolved';
    expect(await refused(checkBatchInvariance(fn, { samples, batchSizes: [1, 4], maxBytes: 300 }))).toMatch(/^batch 4 needs about \d+ B \(limit 300 B\), \d+ B of it for output 'output' \[N, 2\]; use smaller batch sizes or raise maxBytes \(CLI --max-memory\)$/);
    // determinism holds its first run's outputs and the later ones V8 has not freed: 200 B, not 100, fits one sample.
    expect(await refused(checkDeterminism(fn, { samples, batchSize: 4, maxBytes: 200 }))).toMatch(/^a batch of 4 \(batchSize, CLI --batch-size\) needs about \d+ B \(limit 200 B\), \d+ B of it for output 'output' \[N, 2\]; use smaller batch sizes or raise maxBytes/);
    expect((await checkDeterminism(fn, { samples, batchSize: 4, maxBytes: 1e6 })).verdict).toBe('deterministic');
    // One sample over the limit: --dim/--shape are refused for a function, so the cure is what it returns.
    for (const call of [checkBatchInvariance(fn, { samples, batchSizes: [1, 4], maxBytes: 10 }), checkDeterminism(fn, { samples, batchSize: 4, maxBytes: 10 })]) {
      expect(await refused(call)).toMatch(/one sample alone is over the limit: return less per sample .* or raise maxBytes \(CLI --max-memory\)$/);
    }
  });

  test('its fingerprint names no session settings: provider "function", and the machine', async () => {
    const r = await checkBatchInvariance(fn, { samples, batchSizes: [1, 2] });
    expect(r.fingerprint).toMatchObject({ provider: 'function', threads: 'default', optimization: 'default' });
    expect(describeFingerprint(r.fingerprint)).toMatch(/^a batch function, on its own session \(onnxruntime \d+\.\d+\.\d+ installed\), \d+ cores, .*node \d+/);
    expect((await checkDeterminism(fn, { samples })).fingerprint.provider).toBe('function');
  });
});

describe('what needs a model says so, for a function', () => {
  const fn = async (b: unknown[]) => b.map((t) => [String(t).length]);
  test.each([
    ['locateDivergence', () => locateDivergence(fn as never)],
    ['checkRunningStats', () => checkRunningStats(fn as never)],
    ['compareProviders', () => compareProviders(fn as never, ['cpu', 'cpu'])],
  ])('%s(fn): needs an ONNX model, not a batch function', async (_name, call) => {
    const e = await call().then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(BadInputError);
    expect((e as Error).message).toMatch(/^(locate|checking running statistics|comparing providers) needs an ONNX model \(.*\), not a batch function; check the function itself with checkBatchInvariance\(fn, \{ samples \}\)/);
  });
  test('toMatchAcrossProviders with a function, received or as its options: the same reason', async () => {
    for (const call of [() => expect(fn).toMatchAcrossProviders(['cpu', 'wasm']), () => expect(texts).toMatchAcrossProviders(['cpu', 'wasm'], fn as never)]) {
      await expect(call()).rejects.toThrow(/^toMatchAcrossProviders needs an ONNX model \(.*\), not a batch function; check the function itself/);
    }
  });
});

// expect(fn).matcher({ samples }) is checkBatchInvariance(fn, { samples }); samples given both ways are refused, not one dropped.
test('the matchers take the function as the received value too; samples given twice are one line', async () => {
  const embed = (b: unknown[]) => (b as string[]).map((t) => [t.length, t.charCodeAt(0)]);
  const leaky = (b: unknown[]) => (b as string[]).map((t) => [t.length - (b as string[]).reduce((a, u) => a + u.length, 0) / b.length]);
  await expect(embed).toBeBatchInvariant({ samples: texts, ...sweep });
  await expect(expect(leaky).toBeBatchInvariant({ samples: texts, ...sweep })).rejects.toThrow(/violated \(leakage/);
  await expect(embed).toBeDeterministic({ samples: texts, repeats: 2 });
  await expect(expect(embed).toBeBatchInvariant(sweep)).rejects.toThrow(/^a batch function needs samples/);
  await expect(expect(texts).toBeBatchInvariant(embed, { samples: ['q', 'r'] })).rejects.toThrow(/^toBeBatchInvariant: samples given twice, as expect\(samples\) and as options.samples; give them once$/);
});

describe('filler: a batch function pads with the sample it is given', () => {
  // A "kernel" that computes in another precision from batch 2 on (float64 sums instead of
  // float32): batch-size drift, while each row still depends on its own text alone.
  const codes = (t: string) => [...t].map((ch) => ch.charCodeAt(0) * 0.013);
  const drifting = (batch: unknown[]) =>
    (batch as string[]).map((t) => {
      const sum = codes(t).reduce((a, x) => (batch.length >= 2 ? a + x : Math.fround(a + x)), 0);
      return [Math.fround(sum), t.length];
    });
  const served = { batchSizes: [1, 2, 4], servedSizes: [1, 4] };

  test('the recipe pads batch 1 to 2 with the filler, verified against three fillers', async () => {
    const seen: unknown[] = [];
    const fn = (batch: unknown[]) => {
      seen.push(...batch);
      return drifting(batch);
    };
    const r = await checkBatchInvariance(fn, { samples: texts, ...served, filler: '' });
    expect(r.causes).toContain('batch-size');
    expect(r.served.equal).toBe(false);
    expect(r.recipe).toMatchObject({ padTo: 2, filler: 'sample', covers: [1, 4], verified: true });
    // The filler sample itself reached the function (recipe rows), as did the other fillers.
    expect(seen).toContain('');
    expect(r.runs.some((run) => run.purposes.includes('recipe'))).toBe(true);
  });

  test('without a filler: no recipe, and the reason says to give one', async () => {
    const r = await checkBatchInvariance(drifting, { samples: texts, ...served });
    expect(r.recipe).toBeNull();
    expect(r.recipeReason).toMatch(/give filler \(CLI --filler\), the sample your system pads a batch with, e\.g\. filler: '' \(CLI --filler ''\)$/);
  });

  // Leakage is the reason there is no recipe, with a filler or without: telling the user to give
  // one would send them to a cure that cannot work.
  test('without a filler, a leaking function is told of the leakage, not to give a filler', async () => {
    const leaky = (batch: unknown[]) => {
      const rows = drifting(batch);
      const mean = rows.reduce((a, row) => a + row[0], 0) / rows.length;
      return rows.map((row) => [row[0] - mean, row[1]]);
    };
    const r = await checkBatchInvariance(leaky, { samples: texts, ...served });
    expect(r.causes).toContain('leakage');
    expect(r.recipe).toBeNull();
    expect(r.recipeReason).toMatch(/^leakage: /);
    expect(r.recipeReason).not.toMatch(/filler \(CLI/);
  });

  test('negative control: a filler cannot cure leakage (a batch-mean centring function)', async () => {
    const leaky = (batch: unknown[]) => {
      const rows = drifting(batch);
      const mean = rows.reduce((a, row) => a + row[0], 0) / rows.length;
      return rows.map((row) => [row[0] - mean, row[1]]);
    };
    const r = await checkBatchInvariance(leaky, { samples: texts, ...served, filler: '' });
    expect(r.verdict).toBe('violated');
    expect(r.recipe).toBeNull();
    expect(r.recipeReason).toMatch(/leakage/);
  });

  test('padTo with a filler pads every batch with it', async () => {
    const sizes: number[] = [];
    let fillers = 0;
    const fn = (batch: unknown[]) => {
      sizes.push(batch.length);
      fillers += batch.filter((t) => t === '<pad>').length;
      return drifting(batch);
    };
    const r = await checkBatchInvariance(fn, { samples: texts, ...served, padTo: 4, filler: '<pad>' });
    expect(Math.min(...sizes.slice(1))).toBe(4); // the first call learns the outputs from one sample
    expect(fillers).toBeGreaterThan(0);
    expect(r.served.equal).toBe(true);
    expect(r.recipe).toMatchObject({ padTo: 4, filler: 'sample', verified: true });
  });

  // The function fails only on padded batches: its line says that batch held filler rows.
  test('a filler the function cannot take: one line saying the batch held filler rows', async () => {
    const strict = (batch: unknown[]) => batch.map((t) => { if (typeof t !== 'string') throw new Error(`expected a text, got ${typeof t}`); return [t.length, 1]; });
    // padTo pads every batch; the recipe's verification pads batch 1 to 2 (drifting only: strict needs no recipe).
    for (const [fn, options] of [[drifting, { padTo: 4, filler: 0 }], [strict, { padTo: 4, filler: 0 }], [drifting, { filler: null }]] as const) {
      const err = await checkBatchInvariance(fn, { samples: texts, ...served, ...options }).then(() => null, (x: Error) => x);
      expect(err).toBeInstanceOf(BadInputError);
      expect((err as Error).message).toMatch(new RegExp(`^the batch function threw on a batch of \\d+: .* \\(that batch held \\d+ filler rows?, filler ${options.filler}: give as filler a sample the function takes, the one your system pads a batch with\\)$`));
    }
  });
});

describe('the CLI: batchproof check ./embed.mjs --samples texts.txt', () => {
  const fs = require('fs') as typeof import('fs');
  const os = require('os') as typeof import('os');
  const path = require('path') as typeof import('path');
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const bin = path.join(__dirname, '..', '..', 'dist', 'src', 'cli', 'bin.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-fn-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const module = path.join(dir, 'embed.mjs');
  // Rows of [length, code sum]; with LEAK set, centred by the batch mean (samples leak).
  fs.writeFileSync(module, `export async function embed(batch) {
  const rows = batch.map((t) => [t.length, [...t].reduce((a, c) => a + c.charCodeAt(0), 0) / 100]);
  if (!process.env.LEAK) return rows;
  const mean = rows.reduce((a, r) => a + r[1], 0) / rows.length;
  return rows.map((r) => [r[0], r[1] - mean]);
}\n`);
  const texts = path.join(dir, 'texts.txt');
  fs.writeFileSync(texts, 'a cat\nthe dog\nhello world\nbatch\n\nsearch me\nquiet\n');
  const run = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [bin, 'check', ...args], { encoding: 'utf8', env: { ...process.env, ...env, XDG_CACHE_HOME: path.join(dir, 'cache') } });

  test('exit 0 for a per-sample function, twice (the second through the code cache), 1 for a leaky one', () => {
    for (let i = 0; i < 2; i++) {
      const r = run([module, '--samples', texts, '--batch-sizes', '1,2,4']);
      expect([r.status, r.stdout.split('\n')[0]]).toEqual([0, `${module}: invariant`]);
    }
    const leaky = run([module, '--samples', texts, '--batch-sizes', '1,2,4'], { LEAK: '1' });
    expect(leaky.status).toBe(1);
    expect(leaky.stdout).toMatch(/violated \(leakage\)/);
  });

  // CommonJS loads by require (no ES module loader started), ES modules by import(): every form runs.
  test.each([
    ['CommonJS .js, module.exports = fn', 'cjs-default/embed.js', 'module.exports = async function embed(batch) { return BODY; };', null],
    ['CommonJS .cjs, exports.embed', 'cjs-named/embed.cjs', 'exports.embed = async function embed(batch) { return BODY; };', null],
    ['an ES module .js in a "type": "module" package', 'esm-js/embed.js', 'export default async function embed(batch) { return BODY; }', '{"type": "module"}'],
  ])('a batch function module: %s', (_name, file, source, pkg) => {
    const target = path.join(dir, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (pkg) fs.writeFileSync(path.join(path.dirname(target), 'package.json'), pkg);
    fs.writeFileSync(target, `${source.replace('BODY', "batch.map((t) => [t.length, [...t].reduce((a, c) => a + c.charCodeAt(0), 0) / 100])")}\n`);
    const r = run([target, '--samples', texts, '--batch-sizes', '1,2,4']);
    expect([r.status, r.stdout.split('\n')[0], r.stderr]).toEqual([0, `${target}: invariant`, '']);
  });

  // Standard output takes one thing: a module that logs (a pipeline saying it loads) must not
  // break the JSON or the page printed there; its lines go to stderr. Without --json they stay.
  test('--json - and --html -: what the module prints goes to stderr, the JSON and the page stay whole', () => {
    const noisy = path.join(dir, 'noisy.mjs');
    fs.writeFileSync(noisy, `console.log('loading the model');
export default async (batch) => { console.log('batch of', batch.length); process.stdout.write('raw write\\n'); return batch.map((t) => [t.length, t.charCodeAt(0)]); };\n`);
    for (const [command, flags] of [['check', ['--batch-sizes', '1,2', '--json', '-']], ['check', ['--batch-sizes', '1,2', '--json', '/dev/stdout']], ['determinism', ['--json']]] as const) {
      const r = spawnSync(process.execPath, [bin, command, noisy, '--samples', texts, ...flags], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ model: { path: noisy } });
      expect(r.stderr).toMatch(/^loading the model\nbatch of 1\nraw write\n/);
    }
    const page = spawnSync(process.execPath, [bin, 'check', noisy, '--samples', texts, '--batch-sizes', '1,2', '--html', '-'], { encoding: 'utf8' });
    expect([page.status, page.stdout.startsWith('<!doctype html>')]).toEqual([0, true]);
    expect(page.stderr).toMatch(/loading the model/);
    // Control: the report for people shares stdout with the module's lines, as before.
    const text = spawnSync(process.execPath, [bin, 'check', noisy, '--samples', texts, '--batch-sizes', '1,2'], { encoding: 'utf8' });
    expect(text.stdout).toMatch(/^loading the model\n[^]*: invariant$/m);
    expect(text.stderr).toBe('');
  });

  // Named as the user gave them, relative paths included: not <function embed>, not 'floats'.
  test('a report names the module and the samples file as given', () => {
    const here = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: dir });
    const r = here(['check', 'embed.mjs', '--samples', 'texts.txt', '--batch-sizes', '1,2', '--json', 'named.json']);
    expect([r.status, r.stdout.split('\n')[0]]).toEqual([0, 'embed.mjs: invariant']);
    expect(r.stdout).toMatch(/^inputs: samples from texts\.txt, each passed to the function as it is$/m);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'named.json'), 'utf8'));
    expect([json.model.path, json.model.inputs[0].synthesis]).toEqual(['embed.mjs', { kind: 'user', source: 'texts.txt', role: 'samples' }]);
    expect(here(['determinism', 'embed.mjs', '--samples', 'texts.txt']).stdout.split('\n')[0]).toBe('embed.mjs: deterministic');
  });

  // Node 20 runs no TypeScript by itself (22.18+ strips types): compile it, or a loader runs it.
  test('a TypeScript module: one line saying to compile it or run under a loader, where Node cannot run it', () => {
    const ts = path.join(dir, 'embed.ts');
    fs.writeFileSync(ts, 'export default async (batch: string[]) => batch.map((t) => [t.length, t.charCodeAt(0)]);\n');
    const r = run([ts, '--samples', texts, '--batch-sizes', '1,2']);
    if ((process.features as { typescript?: unknown }).typescript) {
      expect([r.status, r.stdout.split('\n')[0]]).toEqual([0, `${ts}: invariant`]);
    } else {
      expect([r.status, r.stdout, r.stderr.trim()]).toEqual([2, '', `batchproof: ${ts}: a TypeScript module, which Node ${process.version} does not run by itself: compile it to JavaScript first (tsc) and check the .js, or run batchproof under a TypeScript loader, e.g. NODE_OPTIONS='--import tsx' npx batchproof ...`]);
    }
  });

  test('a module that throws while loading: one line, exit 2', () => {
    const broken = path.join(dir, 'broken.js');
    fs.writeFileSync(broken, "throw new Error('no model file here');\n");
    const r = run([broken, '--samples', texts]);
    expect([r.status, r.stderr.trim()]).toEqual([2, expect.stringMatching(/^batchproof: .*broken\.js: the module failed to load \(line 1\): no model file here$/)]);
    // The line in the user's file, where the stack names one: a throw further down an ES module, a CommonJS syntax error.
    const deep = path.join(dir, 'deep.mjs');
    fs.writeFileSync(deep, "const a = 1;\n\nthrow new Error('no tokenizer');\nexport default () => a;\n");
    const syntax = path.join(dir, 'syntax.cjs');
    fs.writeFileSync(syntax, '\nmodule.exports = (batch) => batch.map((t) => [t.length, );\n');
    for (const [file, line, message] of [[deep, 3, 'no tokenizer'], [syntax, 2, "Unexpected token '\\)'"]] as const) {
      const t = run([file, '--samples', texts]);
      expect([t.status, t.stdout, t.stderr.trim()]).toEqual([2, '', expect.stringMatching(new RegExp(`^batchproof: .*${path.basename(file).replace('.', '\\.')}: the module failed to load \\(line ${line}\\): ${message}$`))]);
    }
  });

  // A promise nothing can settle would let Node's event loop run empty and the process end with
  // exit 0 and no report: a silent pass. It is one line and exit 2 instead; a slow function that
  // is still working (a timer pending) is waited for.
  test('a function or module whose promise never settles: one line, exit 2; a slow one is waited for', () => {
    const never = path.join(dir, 'never.mjs');
    // Answers its first two calls, then returns a promise nothing resolves.
    fs.writeFileSync(never, 'let n = 0;\nexport default function embed(batch) { if (++n <= 2) return batch.map((t) => [t.length, t.charCodeAt(0)]); return new Promise(() => {}); }\n');
    const r = run([never, '--samples', texts, '--batch-sizes', '1,2,4']);
    expect([r.status, r.stdout, r.stderr.trim()]).toEqual([2, '', expect.stringMatching(/^batchproof: the batch function never finished on a batch of \d+: its promise neither resolved nor rejected, and it was waiting on nothing .*; resolve or reject it$/)]);
    const awaits = path.join(dir, 'awaits.mjs');
    fs.writeFileSync(awaits, 'await new Promise(() => {});\nexport default (batch) => batch.map((t) => [t.length]);\n');
    const m = run([awaits, '--samples', texts]);
    expect([m.status, m.stderr.trim()]).toEqual([2, expect.stringMatching(/^batchproof: .*awaits\.mjs: the module never finished loading: a top-level await neither resolved nor rejected/)]);
    const slow = path.join(dir, 'slow.mjs');
    fs.writeFileSync(slow, 'export default async function embed(batch) { await new Promise((r) => setTimeout(r, 20)); return batch.map((t) => [t.length, t.charCodeAt(0)]); }\n');
    const s = run([slow, '--samples', texts, '--batch-sizes', '1,2']);
    expect([s.status, s.stdout.split('\n')[0], s.stderr]).toEqual([0, `${slow}: invariant`, '']);
  });

  // A setInterval (or any timer, socket) keeps Node alive: the lost promise is ended by --call-timeout.
  test('--call-timeout: a call or a module load still pending while something keeps Node alive is one line, exit 2', () => {
    const interval = path.join(dir, 'hang-interval.js');
    fs.writeFileSync(interval, 'setInterval(() => {}, 1000);\nmodule.exports = (batch) => new Promise(() => {});\n');
    const timer = path.join(dir, 'hang-timer.js');
    fs.writeFileSync(timer, 'let n = 0;\nmodule.exports = (batch) => new Promise((resolve) => setTimeout(() => resolve(batch.map((t) => [t.length])), ++n > 1 ? 1e9 : 0));\n');
    const late = (size: number) => new RegExp(`^batchproof: the batch function did not settle within 300 ms on a batch of ${size}: its promise neither resolved nor rejected; make it settle, or raise callTimeoutMs \\(CLI --call-timeout\\) if a call takes longer$`);
    const started = Date.now();
    const r = run([interval, '--samples', texts, '--budget', '5s', '--call-timeout', '300ms']);
    expect([r.status, r.stdout, r.stderr.trim()]).toEqual([2, '', expect.stringMatching(late(1))]);
    const d = spawnSync(process.execPath, [bin, 'determinism', timer, '--samples', texts, '--batch-size', '3', '--call-timeout', '300ms'], { encoding: 'utf8' });
    expect([d.status, d.stdout, d.stderr.trim()]).toEqual([2, '', expect.stringMatching(late(3))]);
    const loading = path.join(dir, 'hang-load.mjs');
    fs.writeFileSync(loading, 'setInterval(() => {}, 1000);\nawait new Promise(() => {});\nexport default (batch) => batch.map((t) => [t.length]);\n');
    const m = run([loading, '--samples', texts, '--call-timeout', '300ms']);
    expect([m.status, m.stderr.trim()]).toEqual([2, expect.stringMatching(/^batchproof: .*hang-load\.mjs: the module did not finish loading within 300 ms: a top-level await neither resolved nor rejected; make it settle, or raise --call-timeout if loading takes longer$/)]);
    expect(Date.now() - started).toBeLessThan(15000);
    const model = path.join(__dirname, '..', '..', 'examples', 'models', 'embedding_cnn.onnx');
    expect([run([model, '--call-timeout', '1s']).status, run(['--call-timeout', '0', model]).stderr.trim()]).toEqual([2, 'batchproof: --call-timeout 0: expected a duration such as 30s, 2m, 1h or 500ms, or none for no limit']);
  });

  // Hours for a pipeline that downloads its weights on a slow link; none: no limit at all (the API's Infinity).
  test('--call-timeout takes hours (h) and none; anything else is one line', () => {
    const interval = path.join(dir, 'hang-hours.js');
    fs.writeFileSync(interval, 'setInterval(() => {}, 1000);\nmodule.exports = (batch) => new Promise(() => {});\n');
    // 0.0001h is 360 ms: read as hours, not seconds or minutes.
    const r = run([interval, '--samples', texts, '--call-timeout', '0.0001h']);
    expect([r.status, r.stderr.trim()]).toEqual([2, expect.stringMatching(/did not settle within 360 ms on a batch of 1/)]);
    const slow = path.join(dir, 'slow-none.mjs');
    fs.writeFileSync(slow, 'export default async function embed(batch) { await new Promise((r) => setTimeout(r, 20)); return batch.map((t) => [t.length, t.charCodeAt(0)]); }\n');
    for (const limit of ['none', 'NONE', '1h', '2.5h']) {
      const s = run([slow, '--samples', texts, '--batch-sizes', '1,2', '--call-timeout', limit]);
      expect([limit, s.status, s.stdout.split('\n')[0], s.stderr]).toEqual([limit, 0, `${slow}: invariant`, '']);
    }
    for (const bad of ['soon', '5d', '-1s', '1e3', 'nonee', 'Infinity', '0h', '']) {
      const b = run([slow, '--samples', texts, '--call-timeout', bad]);
      expect([bad, b.status, b.stdout, b.stderr.trim()]).toEqual([bad, 2, '', `batchproof: --call-timeout ${bad}: expected a duration such as 30s, 2m, 1h or 500ms, or none for no limit`]);
    }
    // none is for a limit that may be lifted: a budget stays a duration.
    const budget = run([slow, '--samples', texts, '--budget', 'none']);
    expect([budget.status, budget.stderr.trim()]).toEqual([2, 'batchproof: --budget none: expected a duration such as 30s, 2m, 1h or 500ms']);
  });

  test('--call-timeout none is no limit: Infinity, as callTimeoutMs takes it from the API', () => {
    const { duration } = require('../../src/cli/parse') as typeof import('../../src/cli/parse');
    expect([duration('--call-timeout', { none: true })('none'), duration('--call-timeout', { none: true })('1.5h'), duration('--budget')('90m')]).toEqual([{ seconds: Infinity }, { seconds: 5400 }, { seconds: 5400 }]);
  });

  // The README's word on it: the timeout ends a pending promise; a synchronous loop holds the
  // thread the timer would run on, so nothing in the process can end it but a signal.
  test('a function that blocks synchronously is not ended by --call-timeout, as the README says; a signal ends it', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8').replace(/\s+/g, ' ');
    expect([/The timeout covers asynchronous calls only \(a promise still pending\): a function that blocks synchronously \(`while \(true\) \{\}`, a long synchronous loop\) holds the one thread the check runs on, and nothing on that thread can interrupt it, neither `callTimeoutMs` nor Jest's test timeout/,
      /\| `callTimeoutMs` \|[^|]*\|[^|]*\| a batch function only: the longest one asynchronous call .*a function that blocks synchronously \(`while \(true\) \{\}`\) cannot be interrupted/,
    ].map((said) => said.test(readme))).toEqual([true, true]);
    const spin = path.join(dir, 'spin.cjs');
    fs.writeFileSync(spin, 'module.exports = (batch) => { if (batch.length > 1) while (true) {} return batch.map((t) => [t.length, t.charCodeAt(0)]); };\n');
    // A 300 ms timeout would have ended a pending call long before the 3 s the process is given.
    const r = spawnSync(process.execPath, [bin, 'check', spin, '--samples', texts, '--call-timeout', '300ms'], { encoding: 'utf8', timeout: 3000, killSignal: 'SIGINT' });
    expect([r.signal, r.status, r.stdout]).toEqual(['SIGINT', null, '']);
  });

  // process.exit(0) from the user's code would end the run with exit 0 and no report: a silent pass.
  test('a function or module that ends the process (process.exit): one line, exit 2, no report written', () => {
    const line = (file: string, command: string) => new RegExp(`^batchproof: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(its batch function or its top-level code\\) ended the process \\(exit code 0, as process\\.exit does\\) before ${command} finished, so nothing was checked and no report written; return the batch's outputs \\(or throw to fail\\) instead of exiting$`);
    const later = path.join(dir, 'exit-later.js');
    fs.writeFileSync(later, 'module.exports = async (batch) => { if (batch.length > 1) process.exit(0); return batch.map((t) => [t.length, t.charCodeAt(0)]); };\n');
    const json = path.join(dir, 'exit-later.json');
    const r = run([later, '--samples', texts, '--batch-sizes', '1,2', '--json', json]);
    expect([r.status, r.stdout, r.stderr.trim()]).toEqual([2, '', expect.stringMatching(line(later, 'check'))]);
    expect(fs.existsSync(json)).toBe(false);
    const top = path.join(dir, 'exit-top.js');
    fs.writeFileSync(top, 'process.exit(0);\n');
    for (const command of ['check', 'determinism']) {
      const t = spawnSync(process.execPath, [bin, command, top, '--samples', texts], { encoding: 'utf8' });
      expect([t.status, t.stdout, t.stderr.trim()]).toEqual([2, '', expect.stringMatching(line(top, command))]);
    }
  });

  test('a function that throws outside its call (a timer): one line, exit 2, no stack trace', () => {
    const thrower = path.join(dir, 'throws-later.js');
    fs.writeFileSync(thrower, "module.exports = async (batch) => { if (batch.length > 2) { setTimeout(() => { throw new Error('boom'); }); await new Promise((r) => setTimeout(r, 50)); } return batch.map((t) => [t.length, t.charCodeAt(0)]); };\n");
    const r = run([thrower, '--samples', texts, '--batch-sizes', '1,2,4']);
    expect([r.status, r.stdout, r.stderr.trim()]).toEqual([2, '', expect.stringMatching(/^batchproof: .*throws-later\.js \(its batch function or its top-level code\) threw outside a call of the function \(a timer, an event, a promise no one awaited\) before check finished: boom; nothing was checked; make the function throw or reject within its call$/)]);
  });

  test('the API in a plain Node script: checkBatchInvariance rejects with a BadInputError instead of the script ending silently', () => {
    const script = path.join(dir, 'api-never.js');
    const entry = path.join(__dirname, '..', '..', 'dist', 'src');
    fs.writeFileSync(script, `const { checkBatchInvariance, BadInputError } = require(${JSON.stringify(entry)});
checkBatchInvariance(() => new Promise(() => {}), { samples: ['a', 'bb', 'ccc'] }).then(
  () => console.log('resolved'),
  (e) => console.log(e instanceof BadInputError, e.message),
);\n`);
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    expect([r.status, r.stdout.trim()]).toEqual([0, expect.stringMatching(/^true the batch function never finished on a batch of 1: /)]);
    // A check leaves no 'beforeExit' listener on the user's process, whether its calls settled or stalled.
    const listeners = path.join(dir, 'api-listeners.js');
    fs.writeFileSync(listeners, `const { checkBatchInvariance } = require(${JSON.stringify(entry)});
(async () => {
  const before = process.listenerCount('beforeExit');
  await checkBatchInvariance(async (b) => b.map((t) => [t.length, t.charCodeAt(0)]), { samples: ['a', 'bb', 'ccc', 'dddd'], batchSizes: [1, 2, 4] });
  console.log(before, process.listenerCount('beforeExit'));
})();\n`);
    expect(spawnSync(process.execPath, [listeners], { encoding: 'utf8' }).stdout.trim()).toBe('0 0');
  });

  test('determinism of a function module: --samples as for check; exit 1 for one whose answers change run to run', () => {
    const det = (file: string) => spawnSync(process.execPath, [bin, 'determinism', file, '--samples', texts], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') } });
    const same = det(module);
    expect([same.status, same.stdout.split('\n')[0]]).toEqual([0, `${module}: deterministic`]);
    const noisy = path.join(dir, 'noisy.mjs');
    fs.writeFileSync(noisy, 'export default async function embed(batch) { return batch.map((t) => [t.length + Math.random() * 1e-3]); }\n');
    const r = det(noisy);
    expect([r.status, r.stdout.split('\n')[0]]).toEqual([1, `${noisy}: nondeterministic`]);
  });

  test('locate, stats, compare and recalibrate of a function module: it needs an ONNX model, one line, exit 2', () => {
    for (const args of [['locate', module], ['stats', module], ['compare', module], ['recalibrate', module, '--data', texts, '-o', path.join(dir, 'out.onnx')]]) {
      const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
      expect([r.status, r.stdout, r.stderr.trim()]).toEqual([2, '', expect.stringMatching(new RegExp(`^batchproof: .*embed\\.mjs: [a-z ]+ needs an ONNX model \\(.*\\), and this is a batch function's module; check the function itself with batchproof check .*embed\\.mjs --samples texts\\.json, or give the ONNX model it runs$`))]);
    }
    expect(fs.existsSync(path.join(dir, 'out.onnx'))).toBe(false);
    // With check's --samples (copied from the check line), not a misspelt flag: the same reason.
    for (const command of ['compare', 'locate', 'stats']) {
      const r = spawnSync(process.execPath, [bin, command, module, '--samples', texts], { encoding: 'utf8' });
      expect([r.status, r.stdout, r.stderr.trim()]).toEqual([2, '', `batchproof: ${module}: ${command} needs an ONNX model, and this is a batch function's module (--samples is for check and determinism); check the function itself with batchproof check ${module} --samples ${texts}, or give the ONNX model it runs`]);
    }
  });

  test('--provider, --threads and the other session and input flags are refused for a function module', () => {
    // --padding off is padding: false, which the API takes; as a flag it is refused with the others.
    // The line names the option and its flag, not the API function (checkBatchInvariance) a CLI user never called.
    for (const flags of [['--provider', 'wasm'], ['--threads', '2'], ['--pad-axis', 'sequence'], ['--padding', 'off'], ['--padding', 'auto']]) {
      const r = run([module, '--samples', texts, ...flags]);
      expect([r.status, r.stdout, r.stderr.trim()]).toEqual([2, '', expect.stringMatching(new RegExp(`^batchproof: [a-z]+ \\([^)]*${flags[0]}[,)].* sets up a model's session or input tensors`))]);
    }
  });

  test('--filler: a sample for a function module (even an empty one); zeros or last for a model', () => {
    const json = path.join(dir, 'padded.json');
    const r = run([module, '--samples', texts, '--batch-sizes', '1,2,4', '--pad-to', '4', '--filler', '', '--json', json]);
    expect(r.status).toBe(0);
    expect(JSON.parse(fs.readFileSync(json, 'utf8')).recipe).toMatchObject({ padTo: 4, filler: 'sample', verified: true });
    const model = path.join(__dirname, '..', '..', 'examples', 'models', 'embedding_cnn.onnx');
    const bad = run([model, '--pad-to', '4', '--filler', 'pad']);
    expect([bad.status, bad.stderr.trim()]).toEqual([2, expect.stringMatching(/^batchproof: --filler 'pad': use zeros or last for a model/)]);
  });

  // Windows editors write a byte order mark; a text file's first line may well start with '['.
  test('samples files: a byte order mark, a .txt whose first line starts with [, CRLF; empty ones are one line each', () => {
    const strict = path.join(dir, 'strict.mjs');
    fs.writeFileSync(strict, "export default (batch) => batch.map((t) => { if (/^\\uFEFF|\\r/.test(t)) throw new Error('got ' + JSON.stringify(t)); return [t.length, t.charCodeAt(0)]; });\n");
    const write = (name: string, text: string) => (fs.writeFileSync(path.join(dir, name), text), path.join(dir, name));
    for (const file of [write('bom.json', '\uFEFF["a cat", "the dog", "hello world"]'), write('bom.txt', '\uFEFFa cat\nthe dog\nhello world\n'), write('cls.txt', '[CLS] a cat\n[CLS] the dog\nhello world\n'), write('crlf.txt', 'a cat\r\nthe dog\r\n\r\nhello world\r\n')]) {
      const r = run([strict, '--samples', file, '--batch-sizes', '1,2']);
      expect([path.basename(file), r.status, r.stderr]).toEqual([path.basename(file), 0, '']);
    }
    for (const [name, text, message] of [['none.txt', '', /none\.txt: is empty \(or blank lines only\); give a JSON array/], ['blank.txt', ' \n\r\n\n', /blank\.txt: is empty \(or blank lines only\)/], ['none.json', '', /none\.json: is empty; give a JSON array/], ['zero.json', '[]', /zero\.json: holds an empty array; give a JSON array of samples$/]] as const) {
      const r = run([strict, '--samples', write(name, text)]);
      expect([r.status, r.stdout, r.stderr.trim()]).toEqual([2, '', expect.stringMatching(message)]);
    }
  });

  // Samples that are not texts are padded with a value of their kind: the flag's text is JSON.
  test('--filler for JSON samples that are not texts is JSON; text samples take it as it is', () => {
    const vec = path.join(dir, 'vec.mjs');
    fs.writeFileSync(vec, "export default (batch) => batch.map((v) => { if (!Array.isArray(v)) throw new Error('not a vector: ' + JSON.stringify(v)); return [v[0] + v[1], v[0] * v[1]]; });\n");
    const nums = path.join(dir, 'nums.json');
    fs.writeFileSync(nums, '[[1, 2], [3, 4], [5, 6], [7, 9], [2, 2]]');
    const json = path.join(dir, 'vec.json');
    const r = run([vec, '--samples', nums, '--batch-sizes', '1,2,4', '--pad-to', '4', '--filler', '[0, 0]', '--json', json]);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(JSON.parse(fs.readFileSync(json, 'utf8')).recipe).toMatchObject({ padTo: 4, filler: 'sample', verified: true });
    const bad = run([vec, '--samples', nums, '--pad-to', '4', '--filler', 'zeros']);
    expect([bad.status, bad.stderr.trim()]).toEqual([2, expect.stringMatching(/^batchproof: --filler 'zeros': the samples in .*nums\.json are JSON values, not all texts, so the filler is one too, written as JSON/)]);
  });

  test('a function that changes its samples in place (JSON objects): one line naming the sample, exit 2', () => {
    const pushes = path.join(dir, 'pushes.cjs');
    fs.writeFileSync(pushes, 'module.exports = (batch) => { batch.forEach((s) => s.tokens.push(0)); return batch.map((s) => [s.tokens.length, s.tokens[0]]); };\n');
    const objects = path.join(dir, 'objects.json');
    fs.writeFileSync(objects, JSON.stringify([[1, 2], [3], [4, 5, 6], [7], [8, 9]].map((tokens) => ({ tokens }))));
    for (const command of ['check', 'determinism']) {
      const r = spawnSync(process.execPath, [bin, command, pushes, '--samples', objects], { encoding: 'utf8' });
      expect([r.status, r.stdout, r.stderr.trim()]).toEqual([2, '', expect.stringMatching(/^batchproof: the batch function changed sample 0 in place in its first call \(sample 0 alone\): .*; copy the sample inside the function before changing it [^\n]*$/)]);
    }
  });

  // A module that builds its function asynchronously and exports the promise of it (no top-level await).
  test('a module exporting a promise of its function: the function it resolves to; other promises are one line each', () => {
    const write = (name: string, source: string) => (fs.writeFileSync(path.join(dir, name), `${source}\n`), path.join(dir, name));
    const make = "async function make() { await new Promise((r) => setTimeout(r, 10)); return (batch) => batch.map((t) => [t.length, t.charCodeAt(0)]); }\n";
    for (const file of [write('promise-default.mjs', `${make}export default make();`), write('promise-embed.cjs', `${make}exports.embed = make();`), write('promise-exports.cjs', `${make}module.exports = make();`), write('promise-named.mjs', `${make}export const embed = make();`)]) {
      const r = run([file, '--samples', texts, '--batch-sizes', '1,2']);
      expect([path.basename(file), r.status, r.stdout.split('\n')[0], r.stderr]).toEqual([path.basename(file), 0, `${file}: invariant`, '']);
    }
    const line = (file: string, message: RegExp) => {
      const r = run([file, '--samples', texts, '--call-timeout', '300ms']);
      expect([path.basename(file), r.status, r.stdout, r.stderr.trim()]).toEqual([path.basename(file), 2, '', expect.stringMatching(message)]);
    };
    line(write('promise-42.cjs', 'module.exports = Promise.resolve(42);'), /^batchproof: .*promise-42\.cjs: exports no batch function; export one as the default export or as 'embed': .* \(its exported promise resolved to 42, not a function\)$/);
    line(write('promise-rejects.mjs', "export default Promise.reject(new Error('weights missing'));"), /^batchproof: .*promise-rejects\.mjs: its exported promise rejected: weights missing$/);
    line(write('promise-never.mjs', 'export default new Promise(() => {});'), /^batchproof: .*promise-never\.mjs: its exported promise never settled: it neither resolved nor rejected, and it was waiting on nothing/);
    line(write('promise-late.cjs', 'setInterval(() => {}, 1000);\nexports.embed = new Promise(() => {});'), /^batchproof: .*promise-late\.cjs: its exported promise did not settle within 300 ms of loading: .*raise --call-timeout if loading takes longer$/);
    // Exports that are nothing at all are the same line, not an internal error.
    line(write('exports-null.cjs', 'module.exports = null;'), /^batchproof: .*exports-null\.cjs: exports no batch function; /);
  });

  test('bad input: no --samples, a module without a function, samples that are not an array', () => {
    expect(run([module]).stderr).toMatch(/a batch function needs samples: add --samples/);
    const empty = path.join(dir, 'none.mjs');
    fs.writeFileSync(empty, 'export const x = 1;\n');
    const r = run([empty, '--samples', texts]);
    expect([r.status, r.stderr]).toEqual([2, expect.stringMatching(/exports no batch function/)]);
    const obj = path.join(dir, 'obj.json');
    fs.writeFileSync(obj, '{"a": 1}');
    expect(run([module, '--samples', obj]).stderr).toMatch(/not an array; give a JSON array of samples/);
  });
});

test("a batch function's handle, titled by its module's path, is never read as a model", async () => {
  const fs = await import('fs');
  const os = await import('os');
  const path = await import('path');
  const { loadBatchFunction, functionHandle } = await import('../../src/runtime/function');
  const { graphOf, modelBytesOf, modelSourceOf } = await import('../../src/runtime/handle');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-fnsource-'));
  try {
    const file = path.join(dir, 'embed.cjs');
    fs.writeFileSync(file, 'module.exports = async (b) => b.map((t) => [String(t).length, 1]);\n');
    const fn = await loadBatchFunction(file);
    const handle = await functionHandle(fn, ['a', 'bb', 'ccc']);
    expect(handle.source).toBe(file);
    expect(modelSourceOf(handle)).toBeNull();
    expect(modelBytesOf(handle)).toBeNull();
    expect(graphOf(handle)).toBeNull();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// A cosine distance of 2 (an output pointing the other way) no cosine tolerance passes, and
// cosine=2 is refused: the minimum line must not offer it.
test('an output that flips sign in a batch: the minimum line offers no cosine tolerance, and the others it offers pass', async () => {
  const fn = (batch: unknown[]) => (batch as number[]).map((x) => (batch.length === 1 ? [x, 2 * x] : [-x, -2 * x]));
  const r = await checkBatchInvariance(fn, { samples: [1, 2, 3, 4, 5, 6, 7], ...sweep });
  expect(r.verdict).toBe('violated');
  expect(r.minimumTolerance.cosine).toBeGreaterThanOrEqual(2);
  const text = formatReport(r);
  expect(text).toMatch(/minimum tolerance that passes: atol=\S+ \(rtol=0\), or rtol=\S+ \(atol=0\), or ulp=\S+, no cosine tolerance \(a sample points the opposite way: cosine distance 2\)/);
  expect(text).not.toMatch(/cosine=2/);
  const again = await checkBatchInvariance(fn, { samples: [1, 2, 3, 4, 5, 6, 7], ...sweep, tolerance: { atol: r.minimumTolerance.atol, rtol: 0 } });
  expect(again.verdict).toBe('within-tolerance');
});
