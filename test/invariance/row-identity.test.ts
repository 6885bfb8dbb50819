import * as fc from 'fast-check';
import { outputKeyer, sameOutput } from '../../src/invariance/row-identity';
import type { OutputLayout, ProbeRow } from '../../src/invariance/run';

// Which probe rows are bitwise equal decides a check's verdict (invariant or not), its classes
// and its recipe: the checksum shortcut must agree with a plain byte comparison on every input.

const bytesEqual = (a: ArrayBufferView, b: ArrayBufferView) =>
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

// Floats where bits and values part ways: -0 and +0, NaNs with other payloads, one ULP apart.
const tricky = [0, -0, NaN, 1, 1 + 2 ** -23, -1, Infinity, -Infinity];
const floats = (n: number) => fc.array(fc.oneof(fc.constantFrom(...tricky), fc.float()), { minLength: n, maxLength: n });
const withNaNPayload = (values: number[]) => {
  const out = Float32Array.from(values);
  const bits = new Uint32Array(out.buffer);
  values.forEach((v, i) => {
    if (Number.isNaN(v) && i % 2) bits[i] = 0x7fc00001; // another NaN, other bits
  });
  return out;
};

test('sameOutput is bitwise equality: NaN payloads, -0 and +0, views at an offset, other lengths', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 40 }).chain((n) => fc.tuple(floats(n), floats(n), fc.boolean(), fc.nat(3))), ([x, y, copy, offset]) => {
      const a = withNaNPayload(x);
      // Half the time the second row is the first's bytes, in another buffer at an offset.
      const backing = new Float32Array(offset + a.length);
      backing.set(copy ? a : withNaNPayload(y), offset);
      const b = backing.subarray(offset);
      expect(sameOutput(a, b)).toBe(bytesEqual(a, b));
      // Asked again (now from the cache), and the other way round.
      expect(sameOutput(b, a)).toBe(bytesEqual(a, b));
    }),
    { numRuns: 400 },
  );
  expect(sameOutput(Float32Array.of(0), Float32Array.of(-0))).toBe(false);
  expect(sameOutput(Float32Array.of(1, 2), Float32Array.of(1, 2, 0))).toBe(false);
  expect(sameOutput(new Float32Array(0), new Float32Array(0))).toBe(true);
});

test('outputKeyer: the same key exactly for rows whose outputs are all bitwise equal', () => {
  const layouts: OutputLayout[] = [
    { name: 'a', dtype: 'float32', batchAxis: 0, sampleDims: [1, 2] },
    { name: 'b', dtype: 'int64', batchAxis: 0, sampleDims: [1, 1] },
  ];
  const row = (a: number[], b: bigint): ProbeRow => ({ purpose: 'batch', size: 2, probe: 0, position: 0, outputs: { a: Float32Array.from(a), b: BigInt64Array.of(b) } });
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom(0, -0, 1, NaN), fc.constantFrom(0, 1), fc.constantFrom(0n, 1n)), { minLength: 1, maxLength: 30 }), (specs) => {
      const rows = specs.map(([x, y, z]) => row([x, y], z));
      const keyOf = outputKeyer(layouts);
      const keys = rows.map(keyOf);
      rows.forEach((r, i) =>
        rows.forEach((s, j) => {
          const equal = bytesEqual(r.outputs.a, s.outputs.a) && bytesEqual(r.outputs.b, s.outputs.b);
          expect(keys[i] === keys[j]).toBe(equal);
        }),
      );
    }),
    { numRuns: 200 },
  );
});
