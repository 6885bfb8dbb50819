import * as fc from 'fast-check';
import { outputKeyer, sameOutput } from '../../src/invariance/row-identity';
import type { OutputLayout, ProbeRow } from '../../src/invariance/run';
import { compareArrays } from '../../src/compare/metrics';
import { resolveTolerance } from '../../src/compare/tolerance';

// Which probe rows are bitwise equal decides a check's verdict (invariant or not), its classes
// and its recipe: the checksum shortcut must agree, on every input, with bitwise equality as the
// comparison scans read it (-0 is not +0; a NaN equals any NaN, whatever its sign and payload).

/** Bitwise equality as the scans read it, for floats of `width` bytes (machine order). */
const scanEqual = (a: ArrayBufferView, b: ArrayBufferView, width: 2 | 4 | 8) => {
  if (a.byteLength !== b.byteLength) return false;
  const bits = (v: ArrayBufferView) =>
    width === 2 ? new Uint16Array(v.buffer, v.byteOffset, v.byteLength / 2) : width === 4 ? new Uint32Array(v.buffer, v.byteOffset, v.byteLength / 4) : new BigUint64Array(v.buffer, v.byteOffset, v.byteLength / 8);
  const isNaN = (x: number | bigint) =>
    width === 2 ? ((x as number) & 0x7fff) > 0x7c00 : width === 4 ? ((x as number) & 0x7fffffff) > 0x7f800000 : ((x as bigint) & 0x7fffffffffffffffn) > 0x7ff0000000000000n;
  const x = bits(a), y = bits(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i] && !(isNaN(x[i]) && isNaN(y[i]))) return false;
  return true;
};

// Floats where bits and values part ways: -0 and +0, NaNs of either sign and other payloads
// (a signalling one too), one ULP apart.
const BITS: Record<2 | 4 | 8, (number | bigint)[]> = {
  2: [0, 0x8000, 0x3c00, 0x3c01, 0xbc00, 0x7c00, 0xfc00, 0x7e00, 0xfe00, 0x7e01, 0x7c01],
  4: [0, 0x80000000, 0x3f800000, 0x3f800001, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fc00001, 0x7f800001],
  8: [0n, 0x8000000000000000n, 0x3ff0000000000000n, 0x3ff0000000000001n, 0x7ff0000000000000n, 0x7ff8000000000000n, 0xfff8000000000000n, 0x7ff8000000000001n, 0x7ff0000000000001n],
};
const DTYPE = { 2: 'float16', 4: 'float32', 8: 'float64' } as const;
const row = (width: 2 | 4 | 8, n: number) => fc.array(fc.oneof(fc.constantFrom(...BITS[width]), width === 8 ? fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) : fc.nat(width === 2 ? 0xffff : 0xffffffff)), { minLength: n, maxLength: n });
/** The bits as the typed array onnxruntime gives for the dtype, at `offset` elements into a larger buffer. */
const typed = (width: 2 | 4 | 8, bits: (number | bigint)[], offset: number) => {
  if (width === 8) {
    const backing = new BigUint64Array(offset + bits.length);
    backing.set(bits as bigint[], offset);
    return new Float64Array(backing.buffer, 8 * offset, bits.length);
  }
  const backing = width === 2 ? new Uint16Array(offset + bits.length) : new Uint32Array(offset + bits.length);
  backing.set(bits as number[], offset);
  return width === 2 ? backing.subarray(offset) : new Float32Array(backing.buffer, 4 * offset, bits.length);
};

test.each([2, 4, 8] as const)('sameOutput is bitwise equality with NaN equal to NaN (floats of %i bytes): payloads, signs, -0 and +0, views at an offset', (width) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 40 }).chain((n) => fc.tuple(row(width, n), row(width, n), fc.boolean(), fc.nat(3), fc.nat(3))), ([x, y, copy, o1, o2]) => {
      // Half the time the second row is the first, its NaNs (the last four patterns) given other bits.
      const nans = BITS[width].slice(-4);
      const other = copy ? x.map((v, i) => (nans.includes(v) ? nans[i % 4] : v)) : y;
      const a = typed(width, x, o1);
      const b = typed(width, other, o2);
      const want = scanEqual(a, b, width);
      // The table's own reading: the comparison scan's bitExact.
      expect(compareArrays(a, b, DTYPE[width], resolveTolerance('exact', DTYPE[width])).bitExact).toBe(want);
      expect(sameOutput(a, b, DTYPE[width])).toBe(want);
      // Asked again (now from the cache), and the other way round.
      expect(sameOutput(b, a, DTYPE[width])).toBe(want);
    }),
    { numRuns: 300 },
  );
});

test('sameOutput: -0 is not +0, other lengths differ, integers compare as their bytes', () => {
  expect(sameOutput(Float32Array.of(0), Float32Array.of(-0), 'float32')).toBe(false);
  expect(sameOutput(Float32Array.of(1, 2), Float32Array.of(1, 2, 0), 'float32')).toBe(false);
  expect(sameOutput(new Float32Array(0), new Float32Array(0), 'float32')).toBe(true);
  // uint16 bits that would be a float16 NaN are two different integers.
  expect(sameOutput(Uint16Array.of(0x7e00), Uint16Array.of(0x7e01), 'uint16')).toBe(false);
  expect(sameOutput(Uint16Array.of(0x7e00), Uint16Array.of(0x7e01), 'float16')).toBe(true);
  expect(sameOutput(Int32Array.of(0x7fc00000), Int32Array.of(0x7fc00001), 'int32')).toBe(false);
});

test('outputKeyer: the same key exactly for rows whose outputs are all bitwise equal (NaN equal to NaN)', () => {
  const layouts: OutputLayout[] = [
    { name: 'a', dtype: 'float32', batchAxis: 0, sampleDims: [1, 2] },
    { name: 'b', dtype: 'int64', batchAxis: 0, sampleDims: [1, 1] },
  ];
  const row = (a: number[], b: bigint): ProbeRow => ({ purpose: 'batch', size: 2, probe: 0, position: 0, outputs: { a: new Float32Array(Uint32Array.from(a).buffer), b: BigInt64Array.of(b) } });
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom(0, 0x80000000, 0x3f800000, 0x7fc00000, 0xffc00000, 0x7fc00001), fc.constantFrom(0, 0x3f800000), fc.constantFrom(0n, 1n)), { minLength: 1, maxLength: 30 }), (specs) => {
      const rows = specs.map(([x, y, z]) => row([x, y], z));
      const keyOf = outputKeyer(layouts);
      const keys = rows.map(keyOf);
      rows.forEach((r, i) =>
        rows.forEach((s, j) => {
          const equal = scanEqual(r.outputs.a, s.outputs.a, 4) && scanEqual(r.outputs.b, s.outputs.b, 8) && r.outputs.b[0] === s.outputs.b[0];
          expect(keys[i] === keys[j]).toBe(equal);
        }),
      );
    }),
    { numRuns: 200 },
  );
});
