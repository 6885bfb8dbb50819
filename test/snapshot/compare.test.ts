import { compareEmbeddings, fingerprintDifference, memorySource } from '../../src/snapshot/compare';
import { embeddingsFrom, Embeddings } from '../../src/snapshot/embeddings';
import { formatEmbeddingReport } from '../../src/snapshot/text';
import { checkNeighborOption } from '../../src/snapshot/neighbors';
import { fingerprintFor } from '../../src/runtime/fingerprint';
import { embeddings, nudged } from './support';

const compare = (a: Embeddings, b: Embeddings, options = {}) => compareEmbeddings(memorySource(a), memorySource(b), options);
const base = embeddings(200, 32);

describe('compareEmbeddings', () => {
  test('identical: bitwise equal, nothing moved', () => {
    const r = compare(base, { ...base, data: base.data.slice() });
    expect(r).toMatchObject({ verdict: 'identical', pass: true, rows: 200, movedRows: 0, changedRows: 0, worst: [], shapeMismatch: null });
    expect(r.tolerance).toBe('cosine distance<=1e-6');
  });

  test('drift within the default cosine tolerance passes and is counted', () => {
    const r = compare(base, nudged(base, [3, 50, 51], 1e-6));
    expect(r).toMatchObject({ verdict: 'within-tolerance', pass: true, movedRows: 0, changedRows: 3 });
    expect(r.minimumTolerance.cosine).toBeLessThan(1e-6);
    expect(r.minimumTolerance.ulp).toBeGreaterThan(0);
  });

  test('drift beyond: how many rows moved, the worst first (index, cosine distance, max abs, ULP)', () => {
    const r = compare(base, nudged(nudged(base, [7], 0.5), [9, 120], 0.05));
    expect(r).toMatchObject({ verdict: 'changed', pass: false, movedRows: 3, changedRows: 3 });
    expect(r.worst.map((w) => w.row)).toEqual([7, expect.any(Number), expect.any(Number)]);
    expect(r.worst[0].cosineDistance).toBeGreaterThan(r.worst[1].cosineDistance);
    expect(r.worst[0]).toMatchObject({ pass: false, maxAbs: expect.any(Number), maxUlp: expect.any(Number) });
    const text = formatEmbeddingReport(r, { color: false });
    expect(text).toMatch(/^changed: 3 of 200 rows moved beyond cosine distance<=1e-6/);
    expect(text).toMatch(/worst rows:\n\s+row\s+cosine distance\s+max abs\s+max ULP\s+within\n\s+7\s/);
    expect(text).toMatch(/smallest tolerance that passes: cosine=/);
  });

  test('a row pointing the opposite way: the smallest tolerance line offers no cosine one (cosine=2 is refused)', () => {
    const flipped = { ...base, data: base.data.slice() };
    for (let i = 0; i < 32; i++) flipped.data[5 * 32 + i] = -flipped.data[5 * 32 + i];
    const r = compare(base, flipped);
    expect(r.minimumTolerance.cosine).toBeGreaterThanOrEqual(2);
    expect(formatEmbeddingReport(r, { color: false })).toMatch(/smallest tolerance that passes: no cosine tolerance \(a sample points the opposite way: cosine distance 2\) \| atol=/);
  });

  test('at most five worst rows, failing rows before passing ones', () => {
    const many = nudged(nudged(base, [1, 2, 3, 4, 5, 6, 7, 8], 1e-7), [100], 0.01);
    const r = compare(base, many);
    expect(r.worst).toHaveLength(5);
    expect(r.worst[0]).toMatchObject({ row: 100, pass: false });
    expect(r.worst.slice(1).every((w) => w.pass)).toBe(true);
  });

  test('every tolerance kind: exact, atol/rtol, ulp, cosine', () => {
    const near = nudged(base, [5], 1e-6);
    expect(compare(base, near, { tolerance: 'exact' }).pass).toBe(false);
    expect(compare(base, near, { tolerance: { atol: 1e-3 } }).pass).toBe(true);
    expect(compare(base, near, { tolerance: { atol: 0, rtol: 1e-9 } }).pass).toBe(false);
    const ulp = compare(base, near).minimumTolerance.ulp;
    expect(compare(base, near, { tolerance: { ulp } }).pass).toBe(true);
    expect(compare(base, near, { tolerance: { ulp: ulp - 1 } }).pass).toBe(false);
    expect(compare(base, near, { tolerance: { cosine: 0 } }).pass).toBe(false);
  });

  test('NaN rows: reported on each side; NaN matches nothing, not even NaN at the same place', () => {
    const withNaN = { ...base, data: base.data.slice() };
    withNaN.data[4 * 32 + 3] = NaN;
    withNaN.data[11 * 32] = NaN;
    const same = compare(withNaN, { ...withNaN, data: withNaN.data.slice() });
    expect(same).toMatchObject({ pass: false, verdict: 'changed', movedRows: 2, nonFiniteRows: 2, changedRows: 0 });
    expect(same.baseline).toMatchObject({ nanRows: 2, nanRowIndices: [4, 11] });
    const appeared = compare(base, withNaN);
    expect(appeared).toMatchObject({ pass: false, movedRows: 2 });
    expect(appeared.current.nanRowIndices).toEqual([4, 11]);
    expect(appeared.baseline.nanRows).toBe(0);
    expect(Number.isNaN(appeared.worst[0].cosineDistance)).toBe(true);
    expect(formatEmbeddingReport(appeared, { color: false })).toMatch(/rows with NaN or ±Inf .*: baseline none; now 2 rows \(rows 4, 11; 2 NaN\)/);
  });

  test('a different shape or dtype: no rows compared, one clear line', () => {
    const r = compare(base, embeddings(201, 32));
    expect(r).toMatchObject({ pass: false, verdict: 'changed', rows: 0, shapeMismatch: 'the baseline is 200 x 32, the embeddings are 201 x 32' });
    const f64 = embeddingsFrom({ data: Float64Array.from(base.data), dims: [200, 32] });
    expect(compare(base, f64).shapeMismatch).toBe('the baseline is float32, the embeddings are float64');
    expect(formatEmbeddingReport(r, { color: false })).toBe('changed: the baseline is 200 x 32, the embeddings are 201 x 32; no rows compared');
  });

  test('float64 rows past 1e154 or below 1e-154: the cosine is computed, not NaN or 1', () => {
    const at = (scale: number) => embeddingsFrom({ data: Float64Array.from(base.data, (x) => x * scale), dims: [200, 32] });
    const expected = compare(at(1), nudged(at(1), [4], -2)).worst[0].cosineDistance;
    for (const scale of [1e200, 1e-200]) {
      const a = at(scale);
      const close = compare(a, nudged(a, [4], 1e-9));
      expect(close).toMatchObject({ verdict: 'within-tolerance', pass: true, movedRows: 0, changedRows: 1 });
      expect(close.minimumTolerance.cosine).toBeLessThan(1e-12);
      const far = compare(a, nudged(a, [4], -2));
      expect(far).toMatchObject({ verdict: 'changed', movedRows: 1 });
      expect(far.worst[0].cosineDistance).toBeGreaterThan(1e-3);
      expect(far.worst[0].cosineDistance / expected).toBeCloseTo(1, 9);
    }
  });

  test('streams: tiny chunks give the same report as one chunk', () => {
    const other = nudged(nudged(base, [0, 199], 0.3), [77], 1e-7);
    const whole = compare(base, other, { chunkBytes: 1 << 30 });
    const chunked = compare(base, other, { chunkBytes: 1 });
    // All but the wall time, which two runs need not share (1 ms and 0 ms made this flaky).
    expect({ ...chunked, timing: null }).toEqual({ ...whole, timing: null });
    expect(chunked.timing).toEqual({ totalMs: expect.any(Number), inferenceMs: 0 });
  });
});

describe('neighbours: { k }', () => {
  // Rows on a circle: each row's nearest neighbours are its ring neighbours, in a known order.
  const ring = (n: number, shift: (i: number) => number = () => 0): Embeddings => {
    const data = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      const angle = (2 * Math.PI * (i * i)) / (n * n) + shift(i);
      data[i * 2] = Math.cos(angle);
      data[i * 2 + 1] = Math.sin(angle);
    }
    return embeddingsFrom({ data, dims: [n, 2] });
  };

  test('unchanged order passes and says so', () => {
    const r = compare(ring(30), ring(30), { neighbors: { k: 3 }, tolerance: { cosine: 1 } });
    expect(r.neighbors).toEqual({ k: 3, changedRows: 0, comparedRows: 30, examples: [] });
    expect(formatEmbeddingReport(r, { color: false })).toMatch(/neighbours \(k=3\): unchanged for all 30 rows/);
  });

  test('a row moving past another changes neighbour order: fails even within the cosine tolerance', () => {
    const moved = ring(30, (i) => (i === 10 ? 0.02 : 0));
    const r = compare(ring(30), moved, { neighbors: { k: 2 }, tolerance: { cosine: 1 } });
    expect(r.movedRows).toBe(0);
    expect(r.neighbors!.changedRows).toBeGreaterThan(0);
    expect(r.pass).toBe(false);
    expect(r.verdict).toBe('changed');
    expect(formatEmbeddingReport(r, { color: false })).toMatch(/neighbours \(k=2\): order changed for \d+ of 30 rows\n  row \d+: baseline \[\d+, \d+\], now \[\d+, \d+\]/);
  });

  test('ties in the baseline (duplicate rows) are not a change', () => {
    const data = new Float64Array([1, 0, 0.9, 0.1, 0.9, 0.1, 0, 1]);
    const swapped = new Float64Array([1, 0, 0.9, 0.1 + 1e-13, 0.9, 0.1, 0, 1]);
    const r = compare(embeddingsFrom({ data, dims: [4, 2] }), embeddingsFrom({ data: swapped, dims: [4, 2] }), { neighbors: { k: 2 }, tolerance: { cosine: 1 } });
    expect(r.neighbors!.changedRows).toBe(0);
  });

  test('float64 rows at any magnitude: huge ones are not left out, tiny ones are not all ties', () => {
    for (const scale of [1e200, 1e-200]) {
      const scaled = (e: Embeddings) => ({ ...e, data: e.data.map((x) => x * scale) });
      const same = compare(scaled(ring(30)), scaled(ring(30)), { neighbors: { k: 2 }, tolerance: { cosine: 1 } });
      expect(same.neighbors).toMatchObject({ changedRows: 0, comparedRows: 30 });
      const moved = compare(scaled(ring(30)), scaled(ring(30, (i) => (i === 10 ? 0.02 : 0))), { neighbors: { k: 2 }, tolerance: { cosine: 1 } });
      expect(moved.neighbors!.comparedRows).toBe(30);
      expect(moved.neighbors!.changedRows).toBeGreaterThan(0);
      expect(moved.pass).toBe(false);
    }
  });

  test('NaN rows are left out of neighbour lists', () => {
    const a = ring(10);
    const b = { ...a, data: a.data.slice() };
    b.data[0] = NaN;
    const r = compare(a, b, { neighbors: { k: 2 } });
    expect(r.neighbors!.comparedRows).toBe(9);
  });

  test('bad k: one line', () => {
    expect(() => compare(base, base, { neighbors: { k: 0 } })).toThrow('neighbors must be { k } with k a positive whole number, got {"k":0}');
    expect(() => compare(base, base, { neighbors: { k: 200 } })).toThrow('neighbors.k (CLI --neighbors) 200 needs more than 200 rows; the set has 200: give a k of at most 199');
    expect(() => checkNeighborOption({ k: 5 }, 20_001)).toThrow(/^neighbors \(CLI --neighbors\) compares every pair of rows: 20001 rows is too many \(at most 20000\)/);
  });
});

describe('fingerprint difference', () => {
  const here = fingerprintFor({});
  test('names only the parts that differ', () => {
    expect(fingerprintDifference(here, { ...here })).toBeNull();
    expect(fingerprintDifference({ ...here, provider: 'webgpu', threads: 16 }, { ...here, provider: 'cpu', threads: 2 })).toEqual({
      baseline: 'webgpu, 16 threads',
      current: 'cpu, 2 threads',
    });
  });

  test('session config, provider options and wasm SIMD count: sessions apart only there do not agree', () => {
    const fast = fingerprintFor({ extra: { mlas: { enable_gemm_fastmath_arm64_bfloat16: '1' } } });
    expect(fingerprintDifference(here, fast)).toEqual({ baseline: 'no session config', current: 'mlas.enable_gemm_fastmath_arm64_bfloat16=1' });
    const gpu = (deviceId: number) => fingerprintFor({ provider: 'cuda', providerOptions: { deviceId } }, 'NVIDIA H100');
    expect(fingerprintDifference(gpu(0), gpu(1))).toEqual({ baseline: 'cuda {deviceId=0} (NVIDIA H100)', current: 'cuda {deviceId=1} (NVIDIA H100)' });
    const wasm = fingerprintFor({ provider: 'wasm' });
    expect(fingerprintDifference(wasm, { ...wasm, wasm: { ...wasm.wasm!, simd: 'relaxed' } })).toEqual({ baseline: 'wasm (SIMD)', current: 'wasm (SIMD relaxed)' });
    // Deterministic compute is its own part, not repeated as a session config entry.
    expect(fingerprintDifference(here, fingerprintFor({ deterministic: true }))).toEqual({ baseline: 'default compute', current: 'deterministic compute' });
  });

  test('unknown on either side: no difference to show', () => {
    expect(fingerprintDifference(null, here)).toBeNull();
  });

  test('shown in the report for people', () => {
    const r = compareEmbeddings(memorySource(base), memorySource(nudged(base, [1], 0.5)), {
      baselineFingerprint: { ...here, provider: 'webgpu', threads: 16 },
      currentFingerprint: { ...here, threads: 2 },
    });
    expect(formatEmbeddingReport(r, { color: false })).toMatch(/fingerprint differs: baseline: webgpu, 16 threads; now: cpu, 2 threads/);
  });
});
