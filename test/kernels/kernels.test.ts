import * as fc from 'fast-check';
import * as path from 'path';
import { countNonFiniteFloats, fillUniform, kernelsBackend, scanFloat32 } from '../../src/kernels';
import { checksum, checksumNumber } from '../../src/kernels/checksum';
import { checksumJs, countNonFiniteJs, fillUniformJs, scanFloat32Js } from '../../src/kernels/reference';
import * as fs from 'fs';

// The WebAssembly kernels against their JavaScript twins (the definition), bit for bit: a kernel
// that drifts by one rounding changes synthesized samples (and so every snapshot made from them)
// or a reported metric.

test('the kernels run as WebAssembly here, from the bytes that kernels.wat and checksum.wat compile to', async () => {
  expect(kernelsBackend()).toBe('wasm');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { compileAll, bytesModule } = require(path.join(__dirname, '..', '..', 'scripts', 'build-wasm.js')) as { compileAll(): Promise<unknown>; bytesModule(c: unknown): string };
  expect(fs.readFileSync(path.join(__dirname, '..', '..', 'src', 'kernels', 'wasm-bytes.ts'), 'utf8')).toBe(bytesModule(await compileAll()));
});

test('kernels compiled ahead (the CLI starts that at launch) give the same results; BATCHPROOF_KERNELS=js still picks the twins', async () => {
  const e = Float32Array.from({ length: 300 }, (_, i) => Math.sin(i));
  const a = e.map((x, i) => (i % 7 === 0 ? x + 1e-6 : x));
  for (const env of [undefined, 'js']) {
    const old = process.env.BATCHPROOF_KERNELS;
    if (env) process.env.BATCHPROOF_KERNELS = env;
    try {
      let k: typeof import('../../src/kernels') | undefined;
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        k = require('../../src/kernels');
      });
      await k!.precompileKernels();
      expect(k!.kernelsBackend()).toBe(env ? 'js' : 'wasm');
      expect(k!.scanFloat32(e, a, 1e-5, 1e-5)).toEqual(scanFloat32Js(e, a, 1e-5, 1e-5));
      expect(k!.fillUniform(new Float32Array(64), 7, -1, 1)).toEqual(fillUniformJs(new Float32Array(64), 7, -1, 1));
    } finally {
      if (old === undefined) delete process.env.BATCHPROOF_KERNELS;
      else process.env.BATCHPROOF_KERNELS = old;
    }
  }
});

const twin = (data: Uint8Array) => {
  const [a, b] = checksumJs(data);
  const out = Buffer.alloc(8);
  out.writeUInt32BE(a, 0);
  out.writeUInt32BE(b, 4);
  return out;
};

test('checksum: the same 64 bits as the JavaScript twin, any bytes, any length, any offset', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(7), (bytes, offset) => {
      // A view at an odd offset into a larger buffer, as a cache file's data is.
      const data = new Uint8Array(offset + bytes.length);
      data.set(bytes, offset);
      const view = data.subarray(offset);
      expect(checksum(view).equals(twin(view))).toBe(true);
    }),
    { numRuns: 500 },
  );
  // Larger than the kernel's first page of memory, and fixed: a cache written by one version is read by the next.
  const big = new Uint8Array(200_000).map((_, i) => (i * 2654435761) >>> 24);
  expect(checksum(big).equals(twin(big))).toBe(true);
  expect(checksum(new Uint8Array(0)).toString('hex')).toBe(twin(new Uint8Array(0)).toString('hex'));
  expect(checksum(Buffer.from('batchproof')).toString('hex')).toMatchInlineSnapshot(`"ee22bbc4f282e835"`);
});

test('checksum: any one flipped bit, any changed word, and a byte added or cut change it', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), fc.nat(7), fc.integer({ min: 1, max: 0xffffffff }), (bytes, at, bit, xor) => {
      const data = Buffer.from(bytes);
      const sum = checksum(data);
      const i = at % data.length;
      const flipped = Buffer.from(data);
      flipped[i] ^= 1 << bit;
      expect(checksum(flipped).equals(sum)).toBe(false);
      // A whole 32-bit word changed: each lane step is a bijection of the word.
      if (data.length >= 4) {
        const word = Buffer.from(data);
        const w = 4 * Math.floor((i % (data.length - 3)) / 4);
        word.writeUInt32LE((word.readUInt32LE(w) ^ xor) >>> 0, w);
        expect(checksum(word).equals(sum)).toBe(false);
      }
      // Zeros appended (the kernel pads with zeros: the length tells them apart) or a byte cut.
      expect(checksum(Buffer.concat([data, Buffer.alloc(1)])).equals(sum)).toBe(false);
      expect(checksum(data.subarray(0, data.length - 1)).equals(sum)).toBe(false);
    }),
    { numRuns: 500 },
  );
});

const sameBits = (a: Float32Array | Float64Array, b: Float32Array | Float64Array) =>
  a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

test('fillUniform: the same stream as the JavaScript twin, float32 and float64, any seed and range', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer(), fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.boolean(), (n, seed, lo, hi, wide) => {
      const make = () => (wide ? new Float64Array(n) : new Float32Array(n));
      expect(sameBits(fillUniform(make(), seed, lo, hi), fillUniformJs(make(), seed, lo, hi))).toBe(true);
    }),
    { numRuns: 300 },
  );
  // The stream itself is fixed: samples synthesized from a seed never change between versions.
  expect([...fillUniform(new Float32Array(3), 0, -1, 1)]).toEqual([-0.4671415686607361, -0.9993405342102051, -0.5534559488296509]);
  expect([...fillUniform(new Float64Array(2), 7)]).toEqual([0.011704753153026104, 0.06195825757458806]);
});

/** Floats with the cases that matter: NaN, ±Inf, ±0, subnormals, the largest and any other. */
const float32 = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, 1.4e-45, -1.4e-45, 3.4028234663852886e38, 1, -1),
  fc.float({ noDefaultInfinity: false }),
);

test('countNonFiniteFloats: the count of NaN and Inf, float32 and float64', () => {
  fc.assert(
    fc.property(fc.array(float32, { maxLength: 500 }), (values) => {
      expect(countNonFiniteFloats(Float32Array.from(values))).toBe(countNonFiniteJs(Float32Array.from(values)));
      expect(countNonFiniteFloats(Float64Array.from(values))).toBe(countNonFiniteJs(Float64Array.from(values)));
    }),
    { numRuns: 300 },
  );
  expect(countNonFiniteFloats(Float32Array.of(1, NaN, Infinity, -Infinity, 0))).toBe(3);
});

test('scanFloat32: every field the same as the JavaScript twin (NaN and -0 included)', () => {
  // Pairs: independent values, or the same value nudged, so equal, close and far pairs all occur.
  const pair = fc.oneof(
    fc.tuple(float32, float32),
    float32.map((x) => [x, x] as [number, number]),
    fc.tuple(float32, fc.integer({ min: -3, max: 3 })).map(([x, k]) => {
      const bits = new Int32Array(Float32Array.of(x).buffer);
      bits[0] += k;
      return [x, new Float32Array(bits.buffer)[0]] as [number, number];
    }),
  );
  fc.assert(
    fc.property(fc.array(pair, { maxLength: 400 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (pairs, atol, rtol) => {
      const e = Float32Array.from(pairs.map((p) => p[0]));
      const a = Float32Array.from(pairs.map((p) => p[1]));
      const wasm = scanFloat32(e, a, atol, rtol);
      const js = scanFloat32Js(e, a, atol, rtol);
      for (const key of Object.keys(js) as (keyof typeof js)[]) expect([key, Object.is(wasm[key], js[key])]).toEqual([key, true]);
    }),
    { numRuns: 300 },
  );
});

test('kernels whose memory grows between calls (their cached views made again) give the twins\' results', () => {
  // Small, then larger than the memory has (it grows and its old buffer is detached), then small.
  for (const n of [8, 40_000, 3, 300_000, 5]) {
    const e = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const a = e.map((x, i) => (i % 3 === 0 ? x * (1 + 1e-6) : x));
    expect(scanFloat32(e, a, 1e-7, 1e-7)).toEqual(scanFloat32Js(e, a, 1e-7, 1e-7));
    const bytes = new Uint8Array(e.buffer);
    const [hi, lo] = checksumJs(bytes);
    expect(checksum(bytes).equals(twin(bytes))).toBe(true);
    // The number: the sum's top 53 bits.
    expect(checksumNumber(bytes)).toBe(hi * 2 ** 21 + (lo >>> 11));
  }
});

test('the CLI gives the same report with the JavaScript twins (BATCHPROOF_KERNELS=js) as with WebAssembly', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const root = path.join(__dirname, '..', '..');
  const report = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, [path.join(root, 'dist', 'src', 'cli', 'bin.js'), 'check', path.join(root, 'examples', 'models', 'text_embedder.onnx'), '--batch-sizes', '1,2,3', '--json'], { encoding: 'utf8', env: { ...process.env, ...env } });
    const { timing: _t, ...rest } = JSON.parse(r.stdout) as Record<string, unknown>;
    return rest;
  };
  const wasm = report({});
  expect(wasm).toMatchObject({ verdict: expect.stringMatching(/invariant|within-tolerance/) });
  expect(report({ BATCHPROOF_KERNELS: 'js' })).toEqual(wasm);
});
