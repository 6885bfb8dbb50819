import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { availableProvidersSync, compareProviders } from '../../src';
import type { LogHistogram } from '../../src/compare/histogram';
import { invariantModel, seededFloats } from '../helpers/models';

const transformer = path.join(__dirname, '..', '..', 'examples', 'models', 'transformer_encoder.onnx');
const works = (name: string) => availableProvidersSync().find((p) => p.name === name)?.available ?? false;
const total = (h: LogHistogram) => h.zero + h.nonFinite + h.counts.reduce((a, b) => a + b, 0);

/** The decade of v > 0, by walking powers of ten (not the histogram's own log10). */
function decadeOf(v: number): number {
  let k = -50;
  while (Number(`1e${k + 1}`) <= v) k++;
  return k;
}

/** The same histogram computed here from two runs made with onnxruntime directly. */
function histogramOf(a: Float32Array, b: Float32Array): { zero: number; byDecade: Map<number, number> } {
  let zero = 0;
  const byDecade = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(b[i] - a[i]);
    if (d === 0) zero++;
    else byDecade.set(decadeOf(d), (byDecade.get(decadeOf(d)) ?? 0) + 1);
  }
  return { zero, byDecade };
}

describe('compare report data: the element error histogram', () => {
  // 8 samples of [16, 64] given by the test, so it can run them itself.
  const samples = { dtype: 'float32', dims: [8, 16, 64], data: seededFloats(8 * 16 * 64, 5) };

  test("optimization 'disabled' against 'all' on the transformer: every element counted, in the decades onnxruntime's own outputs give", async () => {
    const sides = [{ provider: 'cpu' as const, threads: 1, optimization: 'disabled' as const }, { provider: 'cpu' as const, threads: 1, optimization: 'all' as const }];
    const report = await compareProviders(transformer, sides, { samples });
    const o = report.comparisons[0].outputs[0];
    const h = o.errorHistogram;
    expect(total(h)).toBe(8 * 64);
    expect(h.nonFinite).toBe(0);
    expect(h.counts).toHaveLength(h.edges.length - 1);
    // Consecutive powers of ten, exactly as written in decimal (1e-7, 1e-6, ...).
    const k0 = decadeOf(h.edges[0]);
    expect(h.edges).toEqual(h.edges.map((_, i) => Number(`1e${k0 + i}`)));
    // Fusions change the rounding: some elements differ, and the largest lies in the last decade.
    expect(o.maxAbs).toBeGreaterThan(0);
    expect(h.counts[h.counts.length - 1]).toBeGreaterThan(0);
    expect(h.edges[h.edges.length - 2]).toBeLessThanOrEqual(o.maxAbs);
    expect(h.edges[h.edges.length - 1]).toBeGreaterThan(o.maxAbs);

    // The same two runs made here with onnxruntime-node: the same counts, decade by decade.
    const feeds = { input: new ort.Tensor('float32', samples.data, samples.dims) };
    const outputs: Float32Array[] = [];
    for (const graphOptimizationLevel of ['disabled', 'all'] as const) {
      const s = await ort.InferenceSession.create(transformer, { executionProviders: ['cpu'], intraOpNumThreads: 1, graphOptimizationLevel });
      outputs.push((await s.run(feeds)).output.data as Float32Array);
      await s.release();
    }
    const mine = histogramOf(outputs[0], outputs[1]);
    expect(h.zero).toBe(mine.zero);
    const first = decadeOf(h.edges[0]);
    expect(h.counts.map((_, k) => mine.byDecade.get(first + k) ?? 0)).toEqual(h.counts);
    expect([...mine.byDecade.values()].reduce((a, b) => a + b, 0)).toBe(h.counts.reduce((a, b) => a + b, 0));
  });

  test('bitwise equal sides (negative control): every element in zero, no decades', async () => {
    const report = await compareProviders(invariantModel(), [{ provider: 'cpu', threads: 1 }, { provider: 'cpu', threads: 2 }]);
    expect(report.verdict).toBe('identical');
    expect(report.comparisons[0].outputs[0].errorHistogram).toEqual({ zero: 8 * 4, nonFinite: 0, edges: [], counts: [] });
  });

  (works('wasm') ? test : test.skip)('cpu against wasm on the transformer: counts + zero + nonFinite = the elements', async () => {
    const report = await compareProviders(transformer, ['cpu', 'wasm']);
    const o = report.comparisons[0].outputs[0];
    expect(total(o.errorHistogram)).toBe(report.samples.batchSize * 64);
    if (o.maxAbs > 0) expect(o.errorHistogram.edges[o.errorHistogram.edges.length - 1]).toBeGreaterThan(o.maxAbs);
    else expect(o.errorHistogram.zero).toBe(report.samples.batchSize * 64);
  });
});
