/**
 * The tiny text models of test/helpers/text-models.ts behave as their doc comments say, checked
 * with plain onnxruntime runs (no batchproof check involved), so the padding and diagnosis tests
 * that use them as controls rest on facts: each control really is broken, or really is not.
 */
import * as ort from 'onnxruntime-node';
import { openModel, type ModelHandle } from '../../src/runtime/handle';
import {
  TEXT_DIM,
  TEXT_VOCAB,
  batchMeanCentringModel,
  dynamicQuantizedTextModel,
  maskedAttentionModel,
  maskedPoolingModel,
  unmaskedPoolingModel,
} from '../helpers/text-models';

/** Token ids of a few texts of different lengths (no pad id 0 inside a text). */
const TEXTS = [
  [7, 12, 3],
  [41, 5, 9, 30, 2],
  [18, 44, 1, 26, 33, 11, 49],
];

/** Texts padded to `length` (right side unless told), as a server batches them. */
function feeds(texts: number[][], length: number, options: { side?: 'left' | 'right'; padId?: number; typeIds?: number } = {}) {
  const n = texts.length;
  const ids = new BigInt64Array(n * length).fill(BigInt(options.padId ?? 0));
  const mask = new BigInt64Array(n * length);
  const types = new BigInt64Array(n * length);
  texts.forEach((t, r) => {
    const start = options.side === 'left' ? length - t.length : 0;
    t.forEach((id, j) => {
      ids[r * length + start + j] = BigInt(id);
      mask[r * length + start + j] = 1n;
      types[r * length + start + j] = BigInt(options.typeIds ?? 0);
    });
  });
  const dims = [n, length];
  return {
    input_ids: new ort.Tensor('int64', ids, dims),
    attention_mask: new ort.Tensor('int64', mask, dims),
    token_type_ids: new ort.Tensor('int64', types, dims),
  };
}

async function pooled(model: ModelHandle, texts: number[][], length: number, options?: Parameters<typeof feeds>[2]): Promise<number[][]> {
  const out = await model.session.run(feeds(texts, length, options));
  const y = out.y as ort.Tensor;
  expect(y.dims).toEqual([texts.length, TEXT_DIM]);
  const data = Array.from(y.data as Float32Array);
  for (const v of data) expect(Number.isFinite(v)).toBe(true);
  return texts.map((_, r) => data.slice(r * TEXT_DIM, (r + 1) * TEXT_DIM));
}

const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - (b[i] as number))));

/** The last text alone at its own length, and padded to 12 beside the others. */
async function aloneVsPaddedInBatch(model: ModelHandle): Promise<number> {
  const text = TEXTS[2] as number[];
  const [alone] = await pooled(model, [text], text.length);
  const batch = await pooled(model, TEXTS, 12);
  return maxDiff(alone as number[], batch[2] as number[]);
}

const opened: ModelHandle[] = [];
async function open(bytes: Uint8Array): Promise<ModelHandle> {
  const m = await openModel(bytes, { threads: 1 });
  opened.push(m);
  return m;
}
afterAll(async () => {
  for (const m of opened) await m.close();
});

test('every model opens with the Hugging Face signature and runs a batch of mixed lengths', async () => {
  for (const bytes of [maskedPoolingModel(), unmaskedPoolingModel(), batchMeanCentringModel(), dynamicQuantizedTextModel(), maskedAttentionModel(true), maskedAttentionModel(false)]) {
    const m = await open(bytes);
    expect(m.inputs).toEqual([
      { name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
      { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] },
      { name: 'token_type_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
    ]);
    await pooled(m, TEXTS, 7);
    // The last token id and token type 1 are in range (the tables have TEXT_VOCAB and 2 rows).
    await pooled(m, [[TEXT_VOCAB - 1, 1]], 4, { typeIds: 1 });
  }
});

test('masked pooling: pads and pad ids change nothing, on either side', async () => {
  const m = await open(maskedPoolingModel());
  expect(await aloneVsPaddedInBatch(m)).toBeLessThan(1e-6);
  const right = await pooled(m, TEXTS, 10);
  const left = await pooled(m, TEXTS, 10, { side: 'left' });
  const otherPads = await pooled(m, TEXTS, 10, { padId: 17 });
  for (let r = 0; r < TEXTS.length; r++) {
    expect(maxDiff(right[r] as number[], left[r] as number[])).toBeLessThan(1e-6);
    expect(maxDiff(right[r] as number[], otherPads[r] as number[])).toBeLessThan(1e-6);
  }
});

test('unmasked pooling: pad tokens count as text', async () => {
  const m = await open(unmaskedPoolingModel());
  expect(await aloneVsPaddedInBatch(m)).toBeGreaterThan(1e-2);
});

test('batch-mean centring: the same padding, other batch-mates, another embedding', async () => {
  const m = await open(batchMeanCentringModel());
  const a = await pooled(m, TEXTS, 7);
  const b = await pooled(m, [TEXTS[0] as number[], [8, 8, 8], TEXTS[2] as number[]], 7);
  expect(maxDiff(a[2] as number[], b[2] as number[])).toBeGreaterThan(1e-2);
});

test('dynamic quantization: an outlier batch-mate moves the others; pads alone do not', async () => {
  const m = await open(dynamicQuantizedTextModel());
  const text = TEXTS[0] as number[];
  const [alone] = await pooled(m, [text], text.length);
  const [padded] = await pooled(m, [text], 9);
  expect(maxDiff(alone as number[], padded as number[])).toBeLessThan(1e-6);
  // A batch-mate with another value range changes the tensor-wide scale.
  const [, withMate] = await pooled(m, [[2, 2, 2, 2], text], 4);
  expect(maxDiff(alone as number[], withMate as number[])).toBeGreaterThan(1e-3);
});

test('attention with the additive mask: a text is the same alone and padded, hidden states too', async () => {
  const m = await open(maskedAttentionModel(true));
  expect(await aloneVsPaddedInBatch(m)).toBeLessThan(1e-5);
  const text = TEXTS[1] as number[];
  const alone = (await m.session.run(feeds([text], text.length))).hidden as ort.Tensor;
  const padded = (await m.session.run(feeds(TEXTS, 11))).hidden as ort.Tensor;
  expect(padded.dims).toEqual([3, 11, TEXT_DIM]);
  const a = Array.from(alone.data as Float32Array);
  const p = Array.from((padded.data as Float32Array).subarray(1 * 11 * TEXT_DIM, 1 * 11 * TEXT_DIM + text.length * TEXT_DIM));
  expect(maxDiff(a, p)).toBeLessThan(1e-5);
});

test('attention without the mask: pads reach the real tokens though pooling is masked', async () => {
  const m = await open(maskedAttentionModel(false));
  expect(await aloneVsPaddedInBatch(m)).toBeGreaterThan(1e-3);
});
