// Determinism and provider comparison refuse outputs with nothing finite, as the check does, and
// say in a note what partly NaN or constant outputs cannot show.
import { checkBatchInvariance, checkDeterminism, compareProviders, BadInputError } from '../../src';
import { buildModel, invariantModel } from '../helpers/models';

/** y = op(x, k) with a scalar constant k: x·NaN (all NaN), Log(x) (NaN where x < 0), x·0 (constant). */
const scalarModel = (op: 'Mul' | 'Log', k = 1) =>
  buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    initializers: op === 'Mul' ? [{ name: 'k', dtype: 'float32', dims: [], data: [k] }] : [],
    nodes: [{ op, inputs: op === 'Mul' ? ['x', 'k'] : ['x'], outputs: ['y'] }],
  });
const sides = [{ provider: 'cpu' as const, threads: 1 }, { provider: 'cpu' as const, threads: 2 }];

describe('every value NaN: refused, never a pass', () => {
  test.each([
    ['checkBatchInvariance', () => checkBatchInvariance(scalarModel('Mul', NaN), { batchSizes: [1, 2] })],
    ['checkDeterminism', () => checkDeterminism(scalarModel('Mul', NaN))],
    ['compareProviders', () => compareProviders(scalarModel('Mul', NaN), sides)],
    ['checkDeterminism on a function', () => checkDeterminism(async (b: unknown[]) => b.map(() => [NaN, NaN]), { samples: ['a', 'bb', 'ccc'] })],
  ])('%s', async (_name, call) => {
    const e = await call().then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(BadInputError);
    expect((e as Error).message).toBe("every output value is NaN or Infinity for these samples ('y'): NaN compared with NaN proves nothing; check the model on these inputs, or give other samples".replace("'y'", _name.includes('function') ? "'output'" : "'y'"));
  });

  test('a first run all NaN and a later one finite is nondeterminism, not bad input', async () => {
    let calls = 0;
    // Call 1 learns the outputs; call 2 is determinism's first run.
    const flaky = async (b: unknown[]) => {
      const nan = ++calls === 2;
      return b.map((t) => (nan ? [NaN, NaN] : [String(t).length, 1]));
    };
    const r = await checkDeterminism(flaky, { samples: ['a', 'bb', 'ccc'] });
    expect(r.verdict).toBe('nondeterministic');
  });

  test('the matchers fail on it with that line', async () => {
    await expect(expect(scalarModel('Mul', NaN)).toBeDeterministic()).rejects.toThrow(/every output value is NaN or Infinity/);
    await expect(expect(scalarModel('Mul', NaN)).toMatchAcrossProviders(sides)).rejects.toThrow(/every output value is NaN or Infinity/);
  });
});

describe('notes on what the outputs cannot show', () => {
  test('partly NaN: the count, in determinism and comparison reports', async () => {
    const d = await checkDeterminism(scalarModel('Log'));
    expect(d.verdict).toBe('deterministic');
    expect(d.notes.join('\n')).toMatch(/^NaN or Inf in 'y' \(\d+ of 128 values\): NaN is compared as equal to NaN/);
    const c = await compareProviders(scalarModel('Log'), sides);
    expect(c.notes.join('\n')).toMatch(/NaN or Inf in 'y' \(\d+ of 64 values\)/);
  });

  test('one value throughout the batch: named', async () => {
    const d = await checkDeterminism(scalarModel('Mul', 0));
    expect(d.notes).toEqual(["'y' (0) holds one value throughout the 16 samples: the output does not depend on the sample here, so only that value was compared; check with samples that change the output"]);
    const c = await compareProviders(scalarModel('Mul', 0), sides);
    expect(c.notes.join('\n')).toMatch(/'y' \(0\) holds one value throughout the 8 samples/);
  });

  test('a function: one value throughout is named for distinct samples, not for copies of one', async () => {
    const constant = async (b: unknown[]) => b.map(() => [1, 1]);
    expect((await checkDeterminism(constant, { samples: ['a', 'bb', 'ccc'] })).notes.join('\n')).toMatch(/'output' \(\d\) holds one value throughout the 3 samples/);
    expect((await checkDeterminism(constant, { samples: ['same', 'same', 'same'] })).notes).toEqual([]);
  });

  test("a model's samples given as copies of one: one value throughout is no news, and no note", async () => {
    const row = Array.from({ length: 8 }, (_, i) => (i - 3.5) / 4);
    const copies = { x: { dtype: 'float32', dims: [6, 8], data: new Float32Array(Array(6).fill(row).flat()) } };
    const varied = { x: { dtype: 'float32', dims: [6, 8], data: new Float32Array(Array.from({ length: 48 }, (_, i) => Math.sin(i))) } };
    expect((await checkDeterminism(scalarModel('Mul', 0), { samples: copies as never })).notes).toEqual([]);
    expect((await checkDeterminism(scalarModel('Mul', 0), { samples: varied as never })).notes.join('\n')).toMatch(/holds one value throughout the 6 samples/);
  });

  test('negative control: an ordinary model gets no such note', async () => {
    expect((await checkDeterminism(invariantModel())).notes).toEqual([]);
    expect((await compareProviders(invariantModel(), sides)).notes).toEqual([]);
  });
});

describe('an outputs option that names nothing', () => {
  test('names the option as the API calls it, and what a function returns', async () => {
    await expect(checkBatchInvariance(invariantModel(), { outputs: ['nope'] })).rejects.toThrow(/^outputs \(CLI --outputs\) names 'nope', which the model does not have; its outputs are: y$/);
    await expect(checkDeterminism(invariantModel(), { outputs: ['nope'] })).rejects.toThrow(/^outputs \(CLI --outputs\) names 'nope'/);
    const fn = async (b: unknown[]) => ({ a: b.map((t) => [String(t).length, 1]) });
    await expect(checkBatchInvariance(fn, { samples: ['a', 'bb', 'ccc', 'dddd'], outputs: ['b'] })).rejects.toThrow(/^outputs \(CLI --outputs\) names 'b', which the function does not return; it returns: a$/);
    for (const call of [checkBatchInvariance(fn, { samples: ['a', 'bb', 'ccc', 'dddd'], outputTolerances: { b: 'exact' } }), checkDeterminism(fn, { samples: ['a', 'bb', 'ccc', 'dddd'], outputTolerances: { b: 'exact' } })]) {
      await expect(call).rejects.toThrow(/^outputTolerances \(CLI --output-tolerance\) names output 'b', which the function does not return; it returns: a$/);
    }
  });
});
