import * as fc from 'fast-check';
import * as path from 'path';
import { countNonFiniteFloats, fillUniform, kernelsBackend, scanFloat32 } from '../../src/kernels';
import { countNonFiniteJs, fillUniformJs, scanFloat32Js } from '../../src/kernels/reference';
import { KERNELS_WASM } from '../../src/kernels/wasm-bytes';

// The WebAssembly kernels against their JavaScript twins (the definition), bit for bit: a kernel
// that drifts by one rounding changes synthesized samples (and so every snapshot made from them)
// or a reported metric.

test('the kernels run as WebAssembly here, from the bytes that kernels.wat compiles to', async () => {
  expect(kernelsBackend()).toBe('wasm');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { compileKernels } = require(path.join(__dirname, '..', '..', 'scripts', 'build-wasm.js')) as { compileKernels(): Promise<Buffer> };
  expect((await compileKernels()).toString('base64')).toBe(KERNELS_WASM);
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
