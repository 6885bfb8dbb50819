import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { compareEmbeddings, diffBaselines, embeddingsFrom, fingerprintFor, writeBaseline } from '../../src';
import { memorySource } from '../../src/snapshot/compare';
import type { Embeddings } from '../../src/snapshot/embeddings';
import type { LogHistogram } from '../../src/compare/histogram';
import { seededFloats } from '../helpers/models';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-report-data-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const total = (h: LogHistogram) => h.zero + h.nonFinite + h.counts.reduce((a, b) => a + b, 0);

function decadeOf(v: number): number {
  let k = -330;
  while (Number(`1e${k + 1}`) <= v) k++;
  return k;
}

/** Each row's cosine distance, computed here in float64. */
function distances(a: Embeddings, b: Embeddings): number[] {
  return Array.from({ length: a.rows }, (_, r) => {
    let dot = 0, na = 0, nb = 0;
    for (let i = r * a.dim; i < (r + 1) * a.dim; i++) {
      dot += a.data[i] * b.data[i];
      na += a.data[i] * a.data[i];
      nb += b.data[i] * b.data[i];
    }
    return Math.max(0, 1 - dot / Math.sqrt(na * nb));
  });
}

/** The histogram's count for each row's decade matches the rows computed here. */
function expectMatches(h: LogHistogram, d: number[], equalRows: number): void {
  expect(h.zero).toBe(equalRows);
  const first = decadeOf(h.edges[0]);
  const expected = h.counts.map(() => 0);
  for (const x of d.filter((x) => x > 0)) expected[decadeOf(x) - first]++;
  expect(h.counts).toEqual(expected);
}

function nudge(e: Embeddings, rows: Record<number, number>): Embeddings {
  const data = e.data.slice();
  for (const [r, by] of Object.entries(rows)) data[Number(r) * e.dim] += by;
  return { ...e, data };
}

const base = embeddingsFrom({ data: seededFloats(100 * 16, 9), dims: [100, 16] });
// Rows 3 and 4 barely, 7 a little, 50 and 90 a lot: three decades of cosine distance apart.
const moved = nudge(base, { 3: 1e-6, 4: 2e-6, 7: 1e-3, 50: 0.5, 90: 0.7 });

describe('snapshot and diff report data: the per-row cosine distance histogram', () => {
  test('known moved rows: zero holds the untouched rows, each moved row lands in its decade', () => {
    const r = compareEmbeddings(memorySource(base), memorySource(moved));
    const h = r.cosineHistogram;
    expect(total(h)).toBe(100);
    expect(h.zero).toBe(95);
    expect(r.changedRows).toBe(5);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(5);
    expect(h.counts.length).toBeGreaterThanOrEqual(4); // the nudges span several decades
    expectMatches(h, distances(base, moved), 95);
    // The last edge lies above the worst row's distance, the first at or below the smallest.
    expect(h.edges[h.edges.length - 1]).toBeGreaterThan(r.worst[0].cosineDistance);
    expect(h.edges[0]).toBeLessThanOrEqual(Math.min(...distances(base, moved).filter((x) => x > 0)));
  });

  test('identical sets (negative control): every row in zero, no decades; a NaN row in nonFinite', () => {
    const same = compareEmbeddings(memorySource(base), memorySource({ ...base, data: base.data.slice() }));
    expect(same.cosineHistogram).toEqual({ zero: 100, nonFinite: 0, edges: [], counts: [] });
    const data = base.data.slice();
    data[5 * 16 + 2] = NaN;
    const nan = compareEmbeddings(memorySource(base), memorySource({ ...base, data }));
    expect(nan.cosineHistogram).toEqual({ zero: 99, nonFinite: 1, edges: [], counts: [] });
  });

  test('batchproof diff of two baseline files, read in chunks: the same histogram', () => {
    const write = (name: string, e: Embeddings) => {
      const file = path.join(dir, name);
      writeBaseline(file, e, { format: 1, tolerance: { kind: 'cosine', cosine: 1e-6 }, fingerprint: fingerprintFor({}), created: '2025-01-01T00:00:00.000Z', key: name });
      return file;
    };
    const r = diffBaselines(write('a.emb', base), write('b.emb', moved), { chunkBytes: 16 * 4 * 7 });
    expect(r.cosineHistogram).toEqual(compareEmbeddings(memorySource(base), memorySource(moved)).cosineHistogram);
    expect(r.movedRows).toBe(2); // 50 and 90 beyond 1e-6 (7 within: about 1e-7)
  });

  test("a real model's embeddings, each row alone against the batch of 8 (the training-mode BatchNorm CNN): every row counted", async () => {
    const model = path.join(__dirname, '..', '..', 'examples', 'models', 'embedding_cnn_train_bn.onnx');
    const s = await ort.InferenceSession.create(model);
    const x = seededFloats(8 * 3 * 32 * 32, 4);
    const batch = (await s.run({ input: new ort.Tensor('float32', x, [8, 3, 32, 32]) })).embedding.data as Float32Array;
    const alone = new Float32Array(8 * 64);
    for (let i = 0; i < 8; i++) {
      const one = (await s.run({ input: new ort.Tensor('float32', x.slice(i * 3072, (i + 1) * 3072), [1, 3, 32, 32]) })).embedding.data as Float32Array;
      alone.set(one, i * 64);
    }
    await s.release();
    const a = embeddingsFrom({ data: alone, dims: [8, 64] });
    const b = embeddingsFrom({ data: batch, dims: [8, 64] });
    const r = compareEmbeddings(memorySource(a), memorySource(b));
    expect(r.movedRows).toBeGreaterThan(0);
    expect(total(r.cosineHistogram)).toBe(8);
    expectMatches(r.cosineHistogram, distances(a, b), 8 - r.changedRows);
  });
});
