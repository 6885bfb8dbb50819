import { BadInputError, parseTolerance } from '../../src';
import { compareArrays } from '../../src/compare/metrics';
import { resolveTolerance } from '../../src/compare/tolerance';
import { floatToHalf } from '../../src/inputs/arrays';
import { scanFloat32Js } from '../../src/kernels/reference';

const exact = resolveTolerance('exact', 'float32');
const next = (x: number) => {
  const f = new Float32Array([x]);
  new Int32Array(f.buffer)[0] += 1;
  return f[0];
};

describe('compareArrays', () => {
  test('ULP distance counts representable floats between, across zero too', () => {
    const one = compareArrays(new Float32Array([1]), new Float32Array([next(next(1))]), 'float32', exact);
    expect(one.maxUlp).toBe(2);
    expect(one.bitExact).toBe(false);
    const acrossZero = compareArrays(new Float32Array([-1e-45]), new Float32Array([1e-45]), 'float32', exact);
    expect(acrossZero.maxUlp).toBe(2);
  });

  test('float64 ULP distance is exact: its 64-bit patterns do not fit a double (1 and the next double read 0 ULP apart)', () => {
    const ulp0 = resolveTolerance({ ulp: 0 }, 'float64');
    const cases: [number, number, number][] = [
      [1, 1 + 2 ** -52, 1],
      [1, 1 + 600 * 2 ** -52, 600],
      [-1, -(1 + 3 * 2 ** -52), 3],
      [2 ** 1000, 2 ** 1000 * (1 + 4 * 2 ** -52), 4],
      [-5e-324, 5e-324, 2],
      [2, 1, 2 ** 52],
    ];
    for (const [e, a, ulps] of cases) {
      const c = compareArrays(Float64Array.of(e, 0.5), Float64Array.of(a, 0.5), 'float64', ulp0);
      expect([e, a, c.maxUlp, c.pass]).toEqual([e, a, ulps, false]);
      expect(compareArrays(Float64Array.of(e), Float64Array.of(a), 'float64', resolveTolerance({ ulp: ulps }, 'float64')).pass).toBe(true);
    }
  });

  test('+0 and -0 are equal values but not bitwise equal', () => {
    const c = compareArrays(new Float32Array([0]), new Float32Array([-0]), 'float32', exact);
    expect(c.maxAbs).toBe(0);
    expect(c.bitExact).toBe(false);
  });

  test('NaN equals only NaN at the same place', () => {
    expect(compareArrays(new Float32Array([NaN, 1]), new Float32Array([NaN, 1]), 'float32', exact).pass).toBe(true);
    const c = compareArrays(new Float32Array([NaN, 1]), new Float32Array([1, NaN]), 'float32', resolveTolerance(1, 'float32'));
    expect(c.nanMismatches).toBe(2);
    expect(c.pass).toBe(false);
  });

  test('NaN against a NaN of other bits is equal (bitwise, as every scan reads it): every tolerance passes, cosine too where an infinity is present', () => {
    const f32 = (...bits: number[]) => new Float32Array(Uint32Array.from(bits).buffer);
    const f64 = (...bits: bigint[]) => new Float64Array(BigUint64Array.from(bits).buffer);
    const pairs: [Float32Array | Float64Array | Uint16Array, Float32Array | Float64Array | Uint16Array, string][] = [
      [f32(0x7f800000, 0x7fc00000), f32(0x7f800000, 0x7fc00001), 'float32'], // Infinity, NaN against Infinity, another NaN
      [f32(0x3f800000, 0x7fc00000), f32(0x3f800000, 0xffc00000), 'float32'],
      [f64(0x7ff0000000000000n, 0x7ff8000000000000n), f64(0x7ff0000000000000n, 0xfff8000000000000n), 'float64'],
      [Uint16Array.of(0xfc00, 0x7e00), Uint16Array.of(0xfc00, 0xfe00), 'float16'],
    ];
    for (const [e, a, dtype] of pairs) {
      for (const t of ['exact', { cosine: 1e-6 }, { atol: 0 }, { ulp: 0 }] as const) {
        const c = compareArrays(e, a, dtype, resolveTolerance(t, dtype));
        expect([dtype, t, c.bitExact, c.pass, c.cosine]).toEqual([dtype, t, true, true, 1]);
      }
    }
  });

  test('allclose follows torch.testing.assert_close: |a - e| <= atol + rtol * |e|', () => {
    const tol = resolveTolerance('default', 'float32');
    expect(compareArrays(new Float32Array([100]), new Float32Array([100.0001]), 'float32', tol).pass).toBe(true); // 1e-4 <= 1e-5 + 1.3e-4
    expect(compareArrays(new Float32Array([1]), new Float32Array([1.0001]), 'float32', tol).pass).toBe(false); // 1e-4 > 1e-5 + 1.3e-6
  });

  test('an infinity against another value passes no tolerance: rel and ULP infinite too (inf / inf and atol + rtol * inf are NaN and inf)', () => {
    const pairs: [number, number][] = [[-Infinity, -1.88], [Infinity, 3], [Infinity, -Infinity], [2, Infinity]];
    const tolerances = [resolveTolerance('default', 'float32'), resolveTolerance(1e-3, 'float32'), resolveTolerance({ atol: 0, rtol: 0.5 }, 'float32'), resolveTolerance({ ulp: 4e9 }, 'float32')];
    for (const [e, a] of pairs) {
      for (const tol of tolerances) {
        const runs = [
          compareArrays(Float32Array.of(1, e), Float32Array.of(1, a), 'float32', tol), // the wasm kernel
          compareArrays(Float64Array.of(1, e), Float64Array.of(1, a), 'float64', tol), // the generic scan
          { ...scanFloat32Js(Float32Array.of(1, e), Float32Array.of(1, a), tol.kind === 'allclose' ? tol.atol : 0, tol.kind === 'allclose' ? tol.rtol : 0), pass: undefined },
        ];
        for (const c of runs) {
          expect([e, a, tol, c.maxAbs, c.maxRel, c.maxUlp]).toEqual([e, a, tol, Infinity, Infinity, Infinity]);
          if (c.pass !== undefined) expect([e, a, tol, c.pass]).toEqual([e, a, tol, false]);
          else expect([e, a, tol, (c as { allcloseOk: boolean }).allcloseOk]).toEqual([e, a, tol, false]);
        }
      }
    }
    // The same infinity on both sides is equal.
    expect(compareArrays(Float32Array.of(-Infinity), Float32Array.of(-Infinity), 'float32', resolveTolerance('default', 'float32')).pass).toBe(true);
  });

  test('an infinity against another value has no cosine: a cosine tolerance fails it (not the cosine of the other elements)', () => {
    const tol = resolveTolerance({ cosine: 1.5 }, 'float32');
    const rows: [Float32Array | Float64Array | Uint16Array, Float32Array | Float64Array | Uint16Array, string][] = [
      [Float32Array.of(1, Infinity), Float32Array.of(1, 5), 'float32'], // the wasm kernel
      [Float32Array.of(3.4028234663852886e38, 0), Float32Array.of(3.4028234663852886e38, -Infinity), 'float32'],
      [Float64Array.of(1, 0), Float64Array.of(1, Infinity), 'float64'], // the generic scan
      [Uint16Array.of(0, 1), Uint16Array.of(0x7c00, 1), 'float16'],
    ];
    // (The JavaScript twin of the kernel: test/fuzz/comparator.property.test.ts.)
    for (const [e, a, dtype] of rows) {
      for (const [x, y] of [[e, a], [a, e]]) {
        const c = compareArrays(x, y, dtype, tol);
        expect([dtype, c.cosine, c.pass]).toEqual([dtype, NaN, false]);
      }
    }
  });

  test('float16 compares through its bits', () => {
    const a = Uint16Array.from([floatToHalf(1), floatToHalf(2)]);
    const b = Uint16Array.from([floatToHalf(1) + 2, floatToHalf(2)]);
    const c = compareArrays(a, b, 'float16', resolveTolerance('default', 'float16'));
    expect(c.maxUlp).toBe(2);
    expect(c.maxAbs).toBeCloseTo(2 ** -9, 12);
    expect(c.pass).toBe(false); // 1.95e-3 > 1e-5 + 1e-3 * 1
    const oneUlp = compareArrays(a, Uint16Array.from([floatToHalf(1) + 1, floatToHalf(2)]), 'float16', resolveTolerance('default', 'float16'));
    expect(oneUlp.pass).toBe(true);
  });

  test('integers compare exactly whatever the tolerance', () => {
    const c = compareArrays(BigInt64Array.from([1n, 2n]), BigInt64Array.from([1n, 3n]), 'int64', resolveTolerance(10, 'int64'));
    expect(c.pass).toBe(false);
    expect(c.maxAbs).toBe(1);
    // Past 2^53, the integers' own difference, not their rounded doubles' (0 for 2^60 and 2^60 + 1).
    const big = compareArrays(BigInt64Array.of(2n ** 60n, 5n), BigInt64Array.of(2n ** 60n + 1n, 5n), 'int64', resolveTolerance(10, 'int64'));
    expect([big.maxAbs, big.bitExact, big.pass, big.worstIndex]).toEqual([1, false, false, 0]);
    expect(compareArrays(BigUint64Array.of(1n), BigUint64Array.of(2n ** 53n + 1n), 'uint64', resolveTolerance('exact', 'uint64')).maxAbs).toBe(2 ** 53);
  });

  test('cosine tolerance is per-sample cosine distance', () => {
    const tol = resolveTolerance({ cosine: 1e-3 }, 'float32');
    expect(compareArrays(new Float32Array([1, 0]), new Float32Array([2, 0.01]), 'float32', tol).pass).toBe(true);
    expect(compareArrays(new Float32Array([1, 0]), new Float32Array([0, 1]), 'float32', tol).pass).toBe(false);
  });

  test('float64 at any magnitude: squares past 1e154 overflow, below 1e-154 vanish, differences past the largest double overflow', () => {
    const tol = resolveTolerance({ cosine: 1e-6 }, 'float64');
    for (const scale of [1e200, 1e-200, 1e300, 1e-300, 1]) {
      const e = Float64Array.from([0.6, -0.8, 0.25, 0.1], (x) => x * scale);
      const near = e.map((x, i) => (i === 0 ? x * (1 + 1e-9) : x));
      const orthogonal = Float64Array.from([0.8, 0.6, -0.1, 0.25], (x) => x * scale);
      const c = compareArrays(e, near, 'float64', tol);
      expect(1 - c.cosine).toBeLessThan(1e-12);
      expect(c.pass).toBe(true);
      const o = compareArrays(e, orthogonal, 'float64', tol);
      expect(o.cosine).toBeCloseTo(0, 12); // 0.48 - 0.48 - 0.025 + 0.025
      expect(o.pass).toBe(false);
    }
    // Finite values whose difference overflows: the largest double against its negative is
    // 2^64 - 2^53 ULP apart and twice its magnitude relatively, opposite, not infinitely far.
    const max = Number.MAX_VALUE;
    const opposite = compareArrays(Float64Array.of(max, 1), Float64Array.of(-max, 1), 'float64', tol);
    expect([opposite.maxAbs, opposite.maxRel, opposite.maxUlp, opposite.pass]).toEqual([Infinity, 2, 2 ** 64 - 2 ** 53, false]);
    expect(opposite.cosine).toBeCloseTo(-1, 12);
    for (const t of [{ atol: 0, rtol: 2 }, { ulp: 2 ** 64 }]) expect([t, compareArrays(Float64Array.of(max, 1), Float64Array.of(-max, 1), 'float64', resolveTolerance(t, 'float64')).pass]).toEqual([t, true]);
    for (const t of [{ atol: 0, rtol: 1.5 }, { atol: max, rtol: 0 }, { ulp: 2 ** 63 }]) expect([t, compareArrays(Float64Array.of(max, 1), Float64Array.of(-max, 1), 'float64', resolveTolerance(t, 'float64')).pass]).toEqual([t, false]);
    // One side far smaller than the other: its squares vanish at the other's scale (cosine 0, or 0.707 for parallel rows).
    for (const [e, a] of [[[1e-200, 2e-200], [1, 2]], [[1.5717277847026288e-162], [44989137945431970]], [[-6155406.87560113], [-1.6245879764078817e-152]], [[3, 4], [4e-170, -3e-170]]]) {
      const c = compareArrays(Float64Array.from(e), Float64Array.from(a), 'float64', tol);
      const want = e.length === 2 && e[0] === 3 ? 0 : 1;
      expect([e, a, Math.abs(c.cosine - want) < 1e-15]).toEqual([e, a, true]);
      expect(compareArrays(Float64Array.from(a), Float64Array.from(e), 'float64', tol).cosine).toBeCloseTo(want, 15);
    }
    // Both zero still reads as the same direction; one zero side as none in common.
    expect(compareArrays(new Float64Array([0, -0]), new Float64Array([-0, 0]), 'float64', tol).cosine).toBe(1);
    expect(compareArrays(new Float64Array([0, 0]), new Float64Array([1e-300, 0]), 'float64', tol).cosine).toBe(0);
    // An infinity has no cosine, as before.
    expect(compareArrays(new Float64Array([Infinity, 1]), new Float64Array([Infinity, 2]), 'float64', tol).cosine).toBeNaN();
  });
});

describe('parseTolerance', () => {
  test.each([
    ['exact', 'exact'],
    ['1e-6', 1e-6],
    ['atol=1e-5,rtol=0', { atol: 1e-5, rtol: 0 }],
    ['ulp=4', { ulp: 4 }],
    ['cosine=1e-6', { cosine: 1e-6 }],
  ])('%s', (text, parsed) => expect(parseTolerance(text)).toEqual(parsed));

  test.each(['close', 'atol=', 'ulp=1.5', 'atol=1,ulp=2', 'rtol=-1'])('rejects %s with one line', (text) => {
    expect(() => parseTolerance(text)).toThrow(/tolerance/);
  });

  test.each(['cosine=2', 'cosine=5', 'cosine=1e300'])('rejects %s: a cosine distance is at most 2, so it would pass anything', (text) => {
    expect(() => parseTolerance(text)).toThrow(new RegExp(`^--tolerance ${text}: cosine must be below 2, got [\\d.e+]+: the cosine distance \\(1 - cos\\) is at most 2`));
    expect(() => resolveTolerance({ cosine: 2 }, 'float32')).toThrow(BadInputError);
    expect(parseTolerance('cosine=1.99')).toEqual({ cosine: 1.99 });
  });
});
