import * as fc from 'fast-check';
import * as path from 'path';
import { countNonFiniteFloats, fillUniform, kernelsBackend, scanFloat32 } from '../../src/kernels';
import { checksum, checksumNumber, floatsChecksumNumber } from '../../src/kernels/checksum';
import { canonicalNaNsJs, checksumJs, countNonFiniteJs, fillUniformJs, scanFloat32Js } from '../../src/kernels/reference';
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

test('floatsChecksumNumber (probe rows\' keys): canon_nan gives the twin\'s bytes with every NaN as one pattern, and their checksum', () => {
  const nans: Record<2 | 4 | 8, number[]> = { 2: [0x7e00, 0xfe00, 0x7c01, 0xffff], 4: [0x7fc00000, 0xffc00000, 0x7f800001, 0xffffffff], 8: [0x7ff80000, 0xfff80000, 0x7ff00000, 0xffffffff] };
  const canon = { 2: 0x7e00, 4: 0x7fc00000, 8: 0x7ff80000 } as const;
  fc.assert(
    fc.property(fc.constantFrom(2, 4, 8), fc.nat(70), fc.nat(1 << 30), fc.nat(7), (width: 2 | 4 | 8, n, seed, offset) => {
      // Floats (as bit patterns in the machine's order) where about one in four is some NaN.
      const bytes = new Uint8Array(offset * width + n * width);
      const view = bytes.subarray(offset * width);
      const words = width === 2 ? new Uint16Array(view.buffer, view.byteOffset, n) : new Uint32Array(view.buffer, view.byteOffset, (n * width) / 4);
      for (let i = 0; i < words.length; i++) words[i] = (seed * (i + 1) * 2654435761) >>> (width === 2 ? 16 : 0);
      for (let i = 0; i < n; i++) {
        if ((seed >> i % 30) % 4) continue;
        const bits = nans[width][(seed + i) % 4];
        if (width === 8) new DataView(view.buffer, view.byteOffset).setUint32(8 * i + 4, bits, true);
        else words[i] = bits;
      }
      const twin = canonicalNaNsJs(view, width);
      const got = floatsChecksumNumber(view, width);
      const want = twin ?? view;
      const [hi, lo] = checksumJs(want);
      expect(got.sum).toBe(hi * 2 ** 21 + (lo >>> 11));
      expect(Buffer.from(got.canonical ?? view).equals(Buffer.from(want))).toBe(true);
      // Every NaN reads as the one pattern; every other value keeps its bits.
      const out = got.canonical ?? view;
      for (let i = 0; i < n; i++) {
        const dv = new DataView(out.buffer, out.byteOffset);
        const v = width === 2 ? dv.getUint16(2 * i, true) : width === 4 ? dv.getUint32(4 * i, true) : dv.getUint32(8 * i + 4, true);
        const was = width === 2 ? new DataView(view.buffer, view.byteOffset).getUint16(2 * i, true) : new DataView(view.buffer, view.byteOffset).getUint32(width === 4 ? 4 * i : 8 * i + 4, true);
        const isNaN = width === 2 ? (was & 0x7fff) > 0x7c00 : width === 4 ? (was & 0x7fffffff) > 0x7f800000 : (was & 0x7fffffff) > 0x7ff00000 || ((was & 0x7fffffff) === 0x7ff00000 && new DataView(view.buffer, view.byteOffset).getUint32(8 * i, true) !== 0);
        expect(v).toBe(isNaN ? canon[width] : was);
      }
    }),
    { numRuns: 400 },
  );
  // The input is never changed, and bytes with no NaN are their own.
  const plain = new Uint8Array(Float32Array.of(1, -0, Infinity).buffer);
  expect(floatsChecksumNumber(plain, 4).canonical).toBeNull();
  expect(floatsChecksumNumber(plain, 4).sum).toBe(checksumNumber(plain));
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
