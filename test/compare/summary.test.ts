import { compareArrays } from '../../src/compare/metrics';
import { ComparisonSummary, indexInSample, SampleLayout, WorstDetail } from '../../src/compare/summary';
import { resolveTolerance } from '../../src/compare/tolerance';

const f32 = (...v: number[]) => new Float32Array(v);
const compare = (a: Float32Array | Int32Array, b: Float32Array | Int32Array, dtype = 'float32') => compareArrays(a, b, dtype, resolveTolerance('default', dtype));
const layout = (sampleDims: number[], batchAxis = 0, dtype = 'float32'): SampleLayout => ({ name: 'y', dtype, batchAxis, sampleDims });

describe('indexInSample: the index within one sample, the same for check and compare', () => {
  test('the batch axis is left out when it holds one row per sample', () => {
    expect(indexInSample(46, layout([1, 64]))).toEqual([46]);
    expect(indexInSample(4, layout([2, 1, 3], 1))).toEqual([1, 1]);
  });

  test('kept when a sample has several rows on it, and for outputs compared whole', () => {
    expect(indexInSample(70, layout([2, 64]))).toEqual([1, 6]);
    expect(indexInSample(70, layout([8, 64], -1))).toEqual([1, 6]);
    expect(indexInSample(0, layout([], -1))).toEqual([]);
  });
});

describe('ComparisonSummary', () => {
  test('minimum tolerance is the largest of each metric; worst is the largest abs difference, with where it was', () => {
    const s = new ComparisonSummary<WorstDetail & { sample: number }>();
    const small = compare(f32(1, 2, 3, 4), f32(1, 2, 3.0001, 4));
    const large = compare(f32(1, 2, 3, 4), f32(1, 2.01, 3, 4));
    const exact = compare(f32(1, 2, 3, 4), f32(1, 2, 3, 4));
    s.add(layout([1, 4]), small, (d) => ({ sample: 0, ...d }));
    s.add(layout([1, 4]), large, (d) => ({ sample: 1, ...d }));
    s.add(layout([1, 4]), exact, (d) => ({ sample: 2, ...d }));
    expect(s.minimum.atol).toBe(large.maxAbs);
    expect(s.minimum.rtol).toBeGreaterThanOrEqual(Math.max(small.maxRel, large.maxRel));
    expect(s.minimum.rtol).toBeCloseTo(Math.max(small.maxRel, large.maxRel), 14);
    expect(s.minimum.ulp).toBe(Math.max(small.maxUlp, large.maxUlp));
    expect(s.minimum.cosine).toBeCloseTo(Math.max(1 - small.cosine, 1 - large.cosine), 12);
    expect(s.worst).toEqual({ sample: 1, index: [1], expected: 2, actual: large.actual, absDiff: large.maxAbs, ulp: large.maxUlp });
  });

  // rel = abs / |e| given back as rtol: rtol * |e| rounds below abs for many values, and the
  // "minimum tolerance that passes" failed when a test used it.
  test('the minimum rtol that passes does pass, for every pair of values (float64 and float32)', () => {
    let seed = 1;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647) * 200 - 100;
    for (const dtype of ['float64', 'float32']) {
      const make = dtype === 'float64' ? Float64Array : Float32Array;
      let rounded = 0;
      for (let i = 0; i < 400; i++) {
        const e = make.of(random()), a = make.of(random());
        const c = compareArrays(e, a, dtype, resolveTolerance('default', dtype));
        const s = new ComparisonSummary<WorstDetail>();
        s.add(layout([1, 1], 0, dtype), c, (d) => d);
        if (c.maxRel * Math.abs(e[0]) < c.maxAbs) rounded++;
        expect([i, compareArrays(e, a, dtype, resolveTolerance({ atol: 0, rtol: s.minimum.rtol }, dtype)).pass]).toEqual([i, true]);
      }
      // The case the fix is for occurs in these samples.
      expect(rounded).toBeGreaterThan(0);
    }
  });

  test('integers: equal ones pass any tolerance, a difference passes none and is never the worst element; dims that differ pass none', () => {
    const none = { atol: Infinity, rtol: Infinity, ulp: Infinity, cosine: Infinity };
    const s = new ComparisonSummary<WorstDetail>();
    s.add(layout([1, 2], 0, 'int32'), compare(new Int32Array([1, 2]), new Int32Array([1, 2]), 'int32'), (d) => d);
    expect(s.minimum).toEqual({ atol: 0, rtol: 0, ulp: 0, cosine: 0 });
    s.add(layout([1, 2], 0, 'int32'), compare(new Int32Array([1, 2]), new Int32Array([1, 5]), 'int32'), (d) => d);
    expect(s.minimum).toEqual(none);
    expect(s.worst).toBeNull();
    const dims = new ComparisonSummary<WorstDetail>();
    dims.unpassable();
    expect(dims.minimum).toEqual(none);
  });

  test('a NaN where the reference has a number: no cosine tolerance passes', () => {
    const s = new ComparisonSummary<WorstDetail>();
    s.add(layout([1, 2]), compare(f32(1, 2), f32(1, NaN)), (d) => d);
    expect(s.minimum.cosine).toBe(Infinity);
    expect(s.worst).toMatchObject({ index: [1], absDiff: Infinity });
  });
});
