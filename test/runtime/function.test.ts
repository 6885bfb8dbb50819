// The user's own batch function as the thing checked: the same plan, causes and report as a
// model (issue 11). The functions here run a real onnxruntime session on the texts they get.
import * as ort from 'onnxruntime-node';
import { BadInputError, checkBatchInvariance, checkDeterminism } from '../../src';
import { maskedPoolingModel, unmaskedPoolingModel } from '../helpers/text-models';

const texts = ['a cat', 'the dog barks', 'hello', 'batch invariance matters', 'one two three four', 'x', 'quiet night', 'embedding search'];
const sweep = { batchSizes: [1, 2, 4] };

/** A tiny "pipeline": tokenize (chars to ids), pad to the longest text in the batch, run the model. */
async function pipeline(modelBytes: Uint8Array) {
  const session = await ort.InferenceSession.create(modelBytes);
  return async (batch: unknown[]) => {
    const ids = (batch as string[]).map((t) => [...t].map((ch) => 1 + (ch.charCodeAt(0) % 49)));
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
});

test('number[][] and several outputs; determinism', async () => {
  const fn = (batch: unknown[]) => ({ a: (batch as number[]).map((x) => [x, x * 2]), b: { dims: [batch.length, 1], data: Float32Array.from(batch as number[], (x) => x + 1) } });
  const r = await checkBatchInvariance(fn, { samples: [1, 2, 3, 4, 5, 6, 7], ...sweep });
  expect(r.verdict).toBe('invariant');
  expect(r.model.outputs.map((o) => o.name)).toEqual(['a', 'b']);
  const d = await checkDeterminism(fn, { samples: [1, 2, 3, 4], repeats: 2 });
  expect(d.verdict).toBe('deterministic');
});

describe('bad functions and samples are one clear line', () => {
  const run = async (fn: (b: unknown[]) => unknown, samples: unknown = [1, 2, 3, 4, 5], extra = {}) => {
    const e = await checkBatchInvariance(fn as never, { samples, ...sweep, ...extra } as never).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(BadInputError);
    expect((e as Error).message).not.toMatch(/\n/);
    return (e as Error).message;
  };
  test.each([
    ['throws', () => { throw new Error('tokenizer not loaded'); }, /the batch function threw on a batch of 1: tokenizer not loaded/],
    ['wrong row count', (b: unknown[]) => [[1], ...b.map(() => [1])], /returned 2 rows for 'output' on a batch of 1 sample/],
    ['not numeric', (b: unknown[]) => b.map(() => ['x']), /is not numeric/],
    ['shapes change with the batch', (b: unknown[]) => b.map(() => Array(b.length).fill(1)), /only the first axis may follow the batch/],
    ['returns a string', () => 'hi', /returned "hi" for 'output'/],
  ])('%s', async (_name, fn, message) => {
    expect(await run(fn as never)).toMatch(message);
  });
  test('samples missing, empty, identical; padTo', async () => {
    const fn = (b: unknown[]) => b.map(() => [1]);
    expect(await run(fn, null)).toMatch(/a batch function needs samples: an array/);
    expect(await run(fn, [])).toMatch(/a batch function needs samples/);
    expect(await run(fn, 'abc')).toMatch(/a batch function needs samples/);
    expect(await run(fn, ['same', 'same', 'same'])).toMatch(/all the same: identical batch-mates cannot show leakage/);
    expect(await run(fn, [1, 2, 3], { padTo: 4 })).toMatch(/padTo adds filler rows, which a batch function cannot take/);
  });
});
