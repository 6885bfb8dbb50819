// blockAllocator: many small arrays as views of shared blocks, each its own, 8-byte aligned.
import { blockAllocator } from '../../src/inputs/arrays';
import { synthesizedPool } from '../../src/inputs/samples';

test('views do not overlap, start 8-byte aligned, are zeroed, and large arrays get their own buffer', () => {
  const alloc = blockAllocator(1024);
  const a = alloc('int64', 3) as BigInt64Array;
  const b = alloc('uint8', 5) as Uint8Array;
  const c = alloc('float32', 7) as Float32Array;
  const d = alloc('int64', 2) as BigInt64Array;
  expect([a, b, c, d].map((x) => x.byteOffset % 8)).toEqual([0, 0, 0, 0]);
  expect(a.buffer).toBe(d.buffer);
  a.fill(-1n);
  b.fill(255);
  c.fill(1.5);
  d.fill(7n);
  expect([...a]).toEqual([-1n, -1n, -1n]);
  expect([...b]).toEqual([255, 255, 255, 255, 255]);
  expect([...c]).toEqual(Array(7).fill(1.5));
  expect([...d]).toEqual([7n, 7n]);
  // More than an eighth of a block: an array of its own.
  const big = alloc('float32', 200);
  expect(big.buffer).not.toBe(a.buffer);
  expect(big.byteOffset).toBe(0);
  // A full block starts another.
  const views = Array.from({ length: 20 }, () => alloc('float64', 16));
  expect(new Set(views.map((v) => v.buffer)).size).toBeGreaterThan(1);
  expect(views.every((v) => v.every((x) => x === 0))).toBe(true);
});

test('synthesized samples that share blocks are each their own: distinct, in range, not overlapping', () => {
  const spec = { name: 'input_ids', dtype: 'int64', declared: ['batch', 16], batchAxis: 0, sampleDims: [1, 16] };
  const pool = synthesizedPool({}, { input_ids: { kind: 'ids', low: 0, high: 100, table: null } });
  const samples = Array.from({ length: 300 }, (_, i) => pool.sample(spec, i) as BigInt64Array);
  expect(new Set(samples.map((s) => s.buffer)).size).toBeLessThan(300); // shared blocks
  const drawn = samples.map((s) => Array.from(s));
  expect(drawn.every((row) => row.length === 16 && row.every((x) => x >= 0n && x < 100n))).toBe(true);
  expect(new Set(drawn.map((row) => row.join())).size).toBe(300);
  // Writing each sample its own value leaves every other one as it was: no two overlap.
  samples.forEach((s, i) => s.fill(BigInt(i)));
  expect(samples.every((s, i) => s.every((x) => x === BigInt(i)))).toBe(true);
});
