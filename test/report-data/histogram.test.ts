import { DecadeHistogram, emptyHistogram, type LogHistogram } from '../../src/compare/histogram';

const total = (h: LogHistogram) => h.zero + h.nonFinite + h.counts.reduce((a, b) => a + b, 0);

/** The decade a value lies in, found by walking powers of ten: independent of the histogram's log10. */
function decadeOf(v: number): number {
  let k = -330;
  while (Number(`1e${k + 1}`) <= v) k++;
  return k;
}

describe('DecadeHistogram: errors by decade', () => {
  test('edges are the powers of ten spanning the data; each value lands in [edges[k], edges[k+1])', () => {
    const values = [3e-8, 1e-7, 9.99e-7, 1e-6, 2.5e-6, 4e-3, 0.999, 1, 7];
    const h = new DecadeHistogram();
    values.forEach((v) => h.add(v));
    const r = h.result();
    expect(r.edges).toEqual([1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10]);
    expect(r.counts).toHaveLength(r.edges.length - 1);
    const expected = r.counts.map(() => 0);
    for (const v of values) expected[decadeOf(v) - decadeOf(r.edges[0])]++;
    expect(r.counts).toEqual(expected);
    expect(r.counts).toEqual([1, 2, 2, 0, 0, 1, 0, 1, 2]); // empty decades inside the span kept
    expect(r).toMatchObject({ zero: 0, nonFinite: 0 });
  });

  test('exact powers of ten open their own decade (log10 rounding is settled)', () => {
    for (let k = -40; k <= 300; k += 7) {
      const v = Number(`1e${k}`);
      const h = new DecadeHistogram();
      h.add(v);
      expect(h.result().edges).toEqual([v, Number(`1e${k + 1}`)]);
      // The largest double below the power lies in the decade below.
      const below = new DecadeHistogram();
      below.add(v * (1 - 2 ** -52));
      expect(below.result().edges[1]).toBe(v);
    }
  });

  test('pairs of arrays: equal elements (NaN with NaN, +0 with -0, Inf with Inf) are zero, NaN or Inf differences nonFinite', () => {
    const e = new Float32Array([1, 2, NaN, 0, Infinity, Infinity, 5, 1, -3]);
    const a = new Float32Array([1, 2.5, NaN, -0, Infinity, -Infinity, NaN, 1.001, -3.00001]);
    const h = new DecadeHistogram();
    h.addDifferences(e, a, 'float32');
    const r = h.result();
    expect(r.zero).toBe(4); // 1, NaN, 0 and Inf
    expect(r.nonFinite).toBe(2); // Inf - -Inf, NaN - 5
    expect(r.counts.reduce((x, y) => x + y, 0)).toBe(3);
    expect(total(r)).toBe(e.length);
    // |-3.00001 - -3| in float32 is about 1.9e-5, |2.5 - 2| is 0.5.
    expect(r.edges[0]).toBe(1e-5);
    expect(r.edges[r.edges.length - 1]).toBe(1);
  });

  test('integer and float16 outputs are compared as numbers', () => {
    const h = new DecadeHistogram();
    h.addDifferences(new BigInt64Array([1n, 5n, 7n]), new BigInt64Array([1n, 6n, 107n]), 'int64');
    expect(h.result()).toEqual({ zero: 1, nonFinite: 0, edges: [1, 10, 100, 1000], counts: [1, 0, 1] });
    const half = new DecadeHistogram();
    half.addDifferences(new Uint16Array([0x3c00, 0x3c00]), new Uint16Array([0x3c00, 0x3c01]), 'float16'); // 1 and 1 + 2^-10
    expect(half.result()).toEqual({ zero: 1, nonFinite: 0, edges: [1e-4, 1e-3], counts: [1] });
  });

  test('the extremes of the doubles stay finite edges (JSON has no Infinity)', () => {
    const h = new DecadeHistogram();
    h.add(Number.MIN_VALUE);
    h.add(Number.MAX_VALUE);
    const r = h.result();
    expect(r.edges[0]).toBe(Number.MIN_VALUE);
    expect(r.edges[r.edges.length - 1]).toBe(Number.MAX_VALUE);
    expect(r.edges.every(Number.isFinite)).toBe(true);
    expect(total(r)).toBe(2);
  });

  test('nothing above zero: no edges; nothing at all: the empty histogram', () => {
    const h = new DecadeHistogram();
    h.addZeros(4);
    h.add(0);
    h.add(NaN);
    expect(h.result()).toEqual({ zero: 5, nonFinite: 1, edges: [], counts: [] });
    expect(new DecadeHistogram().result()).toEqual(emptyHistogram());
  });
});
