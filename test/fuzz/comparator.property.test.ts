// The element comparator decides every pass/fail and every "minimum tolerance that passes": here
// every path of it (the WebAssembly kernel, its JavaScript twin, the generic scan) is held to a
// plain oracle written from the definitions (README and src/compare/tolerance.ts), on random
// arrays of every dtype with the values that matter: NaN (payloads and signs too), ±Inf, ±0,
// subnormals, the largest finite, neighbours a few ULP apart and values rounded differently.
// A failure prints fast-check's seed and the shrunk counterexample; BATCHPROOF_FC_SEED reruns
// another seed.
import fc from 'fast-check';
import * as metricsWasm from '../../src/compare/metrics';
import { ComparisonSummary } from '../../src/compare/summary';
import { resolveTolerance, type ResolvedTolerance, type Tolerance } from '../../src/compare/tolerance';
import type { TypedArray } from '../../src/inputs/arrays';
import { kernelsBackend } from '../../src/kernels';

const SEED = Number(process.env.BATCHPROOF_FC_SEED ?? 24);

/** The same module with the JavaScript twins (BATCHPROOF_KERNELS=js, read when the kernels first load). */
function loadJsTwin(): { m: typeof metricsWasm; backend: string } {
  const old = process.env.BATCHPROOF_KERNELS;
  process.env.BATCHPROOF_KERNELS = 'js';
  try {
    let out: { m: typeof metricsWasm; backend: string } | undefined;
    jest.isolateModules(() => {
      /* eslint-disable @typescript-eslint/no-require-imports */
      const m = require('../../src/compare/metrics') as typeof metricsWasm;
      const k = require('../../src/kernels') as typeof import('../../src/kernels');
      /* eslint-enable @typescript-eslint/no-require-imports */
      out = { m, backend: k.kernelsBackend() };
    });
    return out!;
  } finally {
    if (old === undefined) delete process.env.BATCHPROOF_KERNELS;
    else process.env.BATCHPROOF_KERNELS = old;
  }
}
const jsTwin = loadJsTwin();

// ---------------------------------------------------------------------------------------------
// The oracle: element by element, from the definitions, sharing no code with src/.
// ---------------------------------------------------------------------------------------------

const FLOATS = ['float16', 'float32', 'float64'];

function decodeHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return exp === 0 ? sign * frac * 2 ** -24 : sign * (1024 + frac) * 2 ** (exp - 25);
}

/** Element i's raw bits (floats) or exact value (integers), as a BigInt. */
function rawOf(data: TypedArray, dtype: string, i: number): bigint {
  if (dtype === 'float32') return BigInt(new Uint32Array(data.buffer, data.byteOffset, data.length)[i]);
  if (dtype === 'float64') return new BigUint64Array(data.buffer, data.byteOffset, data.length)[i];
  const v = data[i];
  return typeof v === 'bigint' ? v : BigInt(v as number);
}

function valueOf(data: TypedArray, dtype: string, i: number): number {
  if (dtype === 'float16') return decodeHalf((data as Uint16Array)[i]);
  const v = data[i];
  return typeof v === 'bigint' ? Number(v) : (v as number);
}

/** Sign-magnitude bits to an integer that increases with the value (+0 and -0 both 0). */
function ordered(bits: bigint, dtype: string): bigint {
  const width = dtype === 'float16' ? 16n : dtype === 'float32' ? 32n : 64n;
  const sign = 1n << (width - 1n);
  return bits & sign ? -(bits & (sign - 1n)) : bits;
}

interface Element {
  /** Both NaN: equal, left out of every metric. */
  skip: boolean;
  nanMismatch: boolean;
  /** |a - e| as a double (Infinity past the largest double). */
  abs: number;
  /** |a - e| / 2, finite for any two finite doubles: for allclose and rel where abs overflows. */
  half: number;
  rel: number;
  ulp: number;
  e: number;
  a: number;
}

interface Truth {
  bitExact: boolean;
  maxAbs: number;
  maxRel: number;
  /** |expected| at the element of the largest rel (rtol's rounding matters below the normal doubles). */
  relAtAbs: number;
  maxUlp: number;
  l1: number;
  cosine: number;
  nanMismatches: number;
  nonFinite: number;
  worstIndex: number;
  elements: Element[];
  float: boolean;
}

function truth(expected: TypedArray, actual: TypedArray, dtype: string): Truth {
  const float = FLOATS.includes(dtype);
  const n = expected.length;
  let bitExact = expected.byteLength === actual.byteLength;
  const elements: Element[] = [];
  let maxAbs = 0, maxRel = 0, relAtAbs = 0, maxUlp = 0, l1 = 0, nanMismatches = 0, nonFinite = 0, worstIndex = -1, worstAbs = -1;
  for (let i = 0; i < n; i++) {
    const re = rawOf(expected, dtype, i);
    const ra = rawOf(actual, dtype, i);
    const e = valueOf(expected, dtype, i);
    const a = valueOf(actual, dtype, i);
    // Bitwise, but NaN equals NaN at the same place whatever its sign and payload (every scan
    // reads it so; only a byte comparison tells such NaNs apart: see the report's ambiguity).
    if (re !== ra && !(Number.isNaN(e) && Number.isNaN(a))) bitExact = false;
    if (!Number.isFinite(a) && float) nonFinite++;
    const el: Element = { skip: false, nanMismatch: false, abs: 0, half: 0, rel: 0, ulp: 0, e, a };
    if (Number.isNaN(e) && Number.isNaN(a)) el.skip = true;
    else if (Number.isNaN(e) || Number.isNaN(a)) Object.assign(el, { nanMismatch: true, abs: Infinity, half: Infinity, rel: Infinity, ulp: Infinity });
    // The same value (the same infinity too), or +0 and -0 (equal values, not bitwise equal): 0 apart.
    else if (re === ra || (e === a && float)) el.abs = 0;
    else if (!Number.isFinite(e) || !Number.isFinite(a)) Object.assign(el, { abs: Infinity, half: Infinity, rel: Infinity, ulp: Infinity });
    else {
      // Integers exactly (int64 past 2^53 too); floats as doubles, halved where the difference overflows.
      el.abs = float ? Math.abs(a - e) : Number(ra > re ? ra - re : re - ra);
      el.half = float ? Math.abs(a / 2 - e / 2) : el.abs / 2;
      el.rel = e === 0 ? Infinity : el.abs === Infinity ? el.half / Math.abs(e / 2) : el.abs / Math.abs(e);
      const d = float ? ordered(ra, dtype) - ordered(re, dtype) : 0n;
      el.ulp = Number(d < 0n ? -d : d);
    }
    elements.push(el);
    if (el.skip) continue;
    if (el.abs > maxAbs) maxAbs = el.abs;
    if (el.rel > maxRel) { maxRel = el.rel; relAtAbs = Math.abs(e); }
    if (el.ulp > maxUlp) maxUlp = el.ulp;
    if (el.abs > worstAbs) { worstAbs = el.abs; worstIndex = i; }
    l1 += el.abs;
  }
  if (expected.length !== actual.length) bitExact = false;
  nanMismatches = elements.filter((x) => x.nanMismatch).length;
  return { bitExact, maxAbs, maxRel, relAtAbs, maxUlp, l1, cosine: cosineTruth(elements, nanMismatches), nanMismatches, nonFinite, worstIndex: Math.max(worstIndex, 0), elements, float };
}

/**
 * Σ a·e / (|a| |e|) over the elements not NaN on both sides: undefined (NaN) where one side is
 * NaN or either holds an infinity; 1 where both are zero, 0 where one is. Each side scaled by
 * its own largest magnitude first, so no square overflows or vanishes.
 */
function cosineTruth(elements: Element[], nanMismatches: number): number {
  const kept = elements.filter((x) => !x.skip);
  if (nanMismatches > 0 || kept.some((x) => !Number.isFinite(x.e) || !Number.isFinite(x.a))) return NaN;
  const se = Math.max(0, ...kept.map((x) => Math.abs(x.e)));
  const sa = Math.max(0, ...kept.map((x) => Math.abs(x.a)));
  if (se === 0 || sa === 0) return se === sa ? 1 : 0;
  let dot = 0, ne = 0, na = 0;
  for (const x of kept) {
    const e = x.e / se, a = x.a / sa;
    dot += a * e;
    ne += e * e;
    na += a * a;
  }
  return Math.max(-1, Math.min(1, dot / (Math.sqrt(ne) * Math.sqrt(na))));
}

/** |a - e| <= atol + rtol * |e| for every element (README), NaN equal only to NaN. */
function allcloseTruth(t: Truth, atol: number, rtol: number): boolean {
  return t.elements.every((x) => {
    if (x.skip) return true;
    if (x.nanMismatch) return false;
    if (x.abs === 0) return true;
    if (!Number.isFinite(x.e) || !Number.isFinite(x.a)) return false;
    if (x.abs === Infinity) return x.half <= atol / 2 + rtol * (Math.abs(x.e) / 2);
    return x.abs <= atol + rtol * Math.abs(x.e);
  });
}

/** Whether the oracle passes; undefined where a cosine lies within rounding of its bound. */
function passTruth(t: Truth, tol: ResolvedTolerance, sameLength: boolean): boolean | undefined {
  if (!sameLength) return false;
  switch (tol.kind) {
    case 'exact': return t.bitExact;
    case 'allclose': return allcloseTruth(t, tol.atol, tol.rtol);
    case 'ulp': return t.maxUlp <= tol.ulp;
    case 'cosine': {
      if (t.bitExact) return true;
      if (Number.isNaN(t.cosine)) return false;
      const d = 1 - t.cosine;
      return Math.abs(d - tol.cosine) <= 1e-12 ? undefined : d <= tol.cosine;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Generators: bit patterns, so every NaN, zero and subnormal can occur.
// ---------------------------------------------------------------------------------------------

interface Spec {
  dtype: string;
  width: number;
  specials: bigint[];
  any: fc.Arbitrary<bigint>;
  float: boolean;
}

const f64bits = (x: number) => new BigUint64Array(Float64Array.of(x).buffer)[0];
const f32bits = (x: number) => BigInt(new Uint32Array(Float32Array.of(x).buffer)[0]);
/** The nearest float16 (ties to even), by binary search over the ordered positive patterns. */
const f16bits = (x: number): bigint => {
  if (Number.isNaN(x)) return 0x7e00n;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const m = Math.abs(x);
  if (m >= 65520) return BigInt(sign | 0x7c00);
  let lo = 0, hi = 0x7bff;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (decodeHalf(mid) <= m) lo = mid;
    else hi = mid - 1;
  }
  const up = Math.min(lo + 1, 0x7bff);
  const dl = m - decodeHalf(lo), du = decodeHalf(up) - m;
  return BigInt(sign | (du < dl || (du === dl && (up & 1) === 0) ? up : lo));
};

const SPECS: Spec[] = [
  {
    dtype: 'float32', width: 32, float: true,
    specials: [0x7fc00000n, 0xffc00000n, 0x7f800001n, 0x7f800000n, 0xff800000n, 0n, 0x80000000n, 1n, 0x80000001n, 0x007fffffn, 0x00800000n, 0x7f7fffffn, 0xff7fffffn, 0x3f800000n, 0xbf800000n, f32bits(0.1), f32bits(-1e-30), f32bits(1e30)],
    any: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }), fc.double({ min: -1e3, max: 1e3, noNaN: true }).map(f32bits)),
  },
  {
    dtype: 'float64', width: 64, float: true,
    specials: [0x7ff8000000000000n, 0xfff8000000000000n, 0x7ff0000000000001n, 0x7ff0000000000000n, 0xfff0000000000000n, 0n, 1n << 63n, 1n, (1n << 63n) | 1n, 0x000fffffffffffffn, 0x0010000000000000n, 0x7fefffffffffffffn, 0xffefffffffffffffn, f64bits(1), f64bits(-1), f64bits(0.1), f64bits(1e200), f64bits(-1e-200)],
    any: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.double({ min: -1e3, max: 1e3, noNaN: true }).map(f64bits)),
  },
  {
    dtype: 'float16', width: 16, float: true,
    specials: [0x7e00n, 0xfe00n, 0x7c01n, 0x7c00n, 0xfc00n, 0n, 0x8000n, 1n, 0x8001n, 0x03ffn, 0x0400n, 0x7bffn, 0xfbffn, 0x3c00n, 0xbc00n],
    any: fc.bigInt({ min: 0n, max: 0xffffn }),
  },
  ...(
    [
      ['int8', 8, true], ['int16', 16, true], ['int32', 32, true], ['int64', 64, true],
      ['uint8', 8, false], ['uint16', 16, false], ['uint32', 32, false], ['uint64', 64, false],
    ] as const
  ).map(([dtype, width, signed]): Spec => {
    const min = signed ? -(1n << BigInt(width - 1)) : 0n;
    const max = signed ? (1n << BigInt(width - 1)) - 1n : (1n << BigInt(width)) - 1n;
    return { dtype, width, float: false, specials: [min, max, 0n, 1n, ...(signed ? [-1n] : []), 2n ** 53n > max ? max - 1n : 2n ** 53n, 2n ** 53n + 1n > max ? max : 2n ** 53n + 1n], any: fc.bigInt({ min, max }) };
  }),
  { dtype: 'bool', width: 8, float: false, specials: [0n, 1n], any: fc.constantFrom(0n, 1n) },
];

/** Raw patterns (or integer values) into the typed array onnxruntime gives for the dtype. */
function build(dtype: string, raw: bigint[]): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(Uint32Array.from(raw, Number).buffer);
    case 'float64': return new Float64Array(BigUint64Array.from(raw).buffer);
    case 'float16': return Uint16Array.from(raw, Number);
    case 'int8': return Int8Array.from(raw, Number);
    case 'int16': return Int16Array.from(raw, Number);
    case 'int32': return Int32Array.from(raw, Number);
    case 'int64': return BigInt64Array.from(raw);
    case 'uint8': case 'bool': return Uint8Array.from(raw, Number);
    case 'uint16': return Uint16Array.from(raw, Number);
    case 'uint32': return Uint32Array.from(raw, Number);
    case 'uint64': return BigUint64Array.from(raw);
  }
  throw new Error(dtype);
}

function bitsOf(spec: Spec, x: number): bigint {
  return spec.dtype === 'float32' ? f32bits(x) : spec.dtype === 'float64' ? f64bits(x) : f16bits(x);
}

/** One element pair: independent, equal, a few steps apart, or the same value rounded from a nearby one. */
function pairOf(spec: Spec): fc.Arbitrary<[bigint, bigint]> {
  const one = fc.oneof({ arbitrary: fc.constantFrom(...spec.specials), weight: 1 }, { arbitrary: spec.any, weight: 2 });
  const mask = (1n << BigInt(spec.width)) - 1n;
  const wrap = (x: bigint) => (spec.float ? x & mask : x);
  const inRange = (x: bigint) => {
    if (spec.float) return x;
    const [lo, hi] = spec.dtype === 'bool' ? [0n, 1n] : spec.specials.slice(0, 2);
    return x < lo ? lo : x > hi ? hi : x;
  };
  const arbs: fc.Arbitrary<[bigint, bigint]>[] = [
    fc.tuple(one, one),
    one.map((x) => [x, x] as [bigint, bigint]),
    fc.tuple(one, fc.integer({ min: -3, max: 3 })).map(([x, k]) => [x, inRange(wrap(x + BigInt(k)))] as [bigint, bigint]),
  ];
  if (spec.float) {
    // Values a relative hair apart, each rounded to the dtype on its own: ties and near-ties.
    arbs.push(
      fc.tuple(fc.double({ min: -1e4, max: 1e4, noNaN: true }), fc.constantFrom(1e-3, 1e-6, -3e-7, 6e-8, 1e-12, 1e-16)).map(
        ([x, d]) => [bitsOf(spec, x), bitsOf(spec, x * (1 + d))] as [bigint, bigint],
      ),
    );
  }
  return fc.oneof(...arbs);
}

/** Tolerances of every kind: fixed ones, small random ones and ones taken from the data's own differences. */
function toleranceOf(): fc.Arbitrary<Tolerance> {
  return fc.oneof(
    fc.constantFrom<Tolerance>('exact', 'default', 0, { atol: 0, rtol: 0 }, { ulp: 0 }, { ulp: 1 }, { cosine: 0 }, { cosine: 1e-6 }, { cosine: 1.5 }),
    fc.double({ min: 0, max: 1e-2, noNaN: true }),
    fc.record({ atol: fc.double({ min: 0, max: 1, noNaN: true }), rtol: fc.double({ min: 0, max: 1, noNaN: true }) }),
    fc.integer({ min: 0, max: 2 ** 31 }).map((ulp) => ({ ulp })),
    fc.double({ min: 0, max: 1.999, noNaN: true }).map((cosine) => ({ cosine })),
  );
}

// ---------------------------------------------------------------------------------------------
// The paths under test.
// ---------------------------------------------------------------------------------------------

type Compared = Omit<metricsWasm.Comparison, 'nonFinite'> & { nonFinite?: number };

/** Every path over one pair: compareArrays and compareDiffering, with WebAssembly and with the twins. */
function paths(e: TypedArray, a: TypedArray, dtype: string, tol: ResolvedTolerance): [string, Compared][] {
  return [
    ['compareArrays (wasm)', metricsWasm.compareArrays(e, a, dtype, tol)],
    ['compareArrays (js twin)', jsTwin.m.compareArrays(e, a, dtype, tol)],
    ['compareDiffering (wasm)', metricsWasm.compareDiffering(e, a, dtype, tol)],
    ['compareDiffering (js twin)', jsTwin.m.compareDiffering(e, a, dtype, tol)],
  ];
}

const close = (x: number, y: number, eps: number) => (Number.isNaN(x) ? Number.isNaN(y) : x === y || Math.abs(x - y) <= eps * Math.max(1, Math.abs(x)));

/** Each path's metrics and verdict against the oracle's; a list of what differs (empty when all agree). */
function disagreements(e: TypedArray, a: TypedArray, dtype: string, tol: ResolvedTolerance): string[] {
  const t = truth(e, a, dtype);
  const want = passTruth(t, tol, e.length === a.length);
  const out: string[] = [];
  for (const [name, c] of paths(e, a, dtype, tol)) {
    // compareDiffering is for slices whose bytes differ (its callers compared them): there an
    // equal infinity has no cosine, where compareArrays's shortcut reads bitwise equal as 1.
    const shortcut = name.startsWith('compareArrays') || !t.bitExact;
    const fields: [string, unknown, unknown, boolean][] = [
      ['bitExact', c.bitExact, t.bitExact, c.bitExact === t.bitExact],
      ['maxAbs', c.maxAbs, t.maxAbs, Object.is(c.maxAbs, t.maxAbs) || (c.maxAbs === 0 && t.maxAbs === 0)],
      ['maxRel', c.maxRel, t.maxRel, Object.is(c.maxRel, t.maxRel)],
      ['maxUlp', c.maxUlp, t.maxUlp, c.maxUlp === t.maxUlp],
      ['l1', c.l1, t.l1, close(c.l1, t.l1, 1e-12)],
      ['nanMismatches', c.nanMismatches, t.nanMismatches, c.nanMismatches === t.nanMismatches],
    ];
    // The worst element of a bitwise-equal pair is never read (ComparisonSummary): the shortcut names the first.
    if (!t.bitExact) {
      fields.push(
        ['worstIndex', c.worstIndex, t.worstIndex, c.worstIndex === t.worstIndex],
        ['expected', c.expected, valueOf(e, dtype, t.worstIndex), e.length === 0 || Object.is(c.expected, valueOf(e, dtype, t.worstIndex))],
        ['actual', c.actual, valueOf(a, dtype, t.worstIndex), a.length === 0 || Object.is(c.actual, valueOf(a, dtype, t.worstIndex))],
      );
    }
    const cosine = t.bitExact ? 1 : t.cosine;
    if (shortcut) fields.push(['cosine', c.cosine, cosine, close(c.cosine, cosine, 1e-12)]);
    if (c.nonFinite !== undefined) fields.push(['nonFinite', c.nonFinite, t.nonFinite, c.nonFinite === t.nonFinite]);
    if (want !== undefined && (shortcut || tol.kind !== 'cosine')) fields.push(['pass', c.pass, want, c.pass === want]);
    for (const [field, got, expected, ok] of fields) if (!ok) out.push(`${name} ${field}: got ${String(got)}, the definition gives ${String(expected)}`);
  }
  return out;
}

/** An array as code to paste into a regression test; a NaN other than the default one by its bits. */
function show(x: TypedArray): string {
  const name = x.constructor.name;
  const items = Array.from(x as ArrayLike<number | bigint>, (v, i) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (Object.is(v, -0)) return '-0';
    if (Number.isNaN(v) && name === 'Float32Array' && rawOf(x, 'float32', i) !== 0x7fc00000n) return `NaN(0x${rawOf(x, 'float32', i).toString(16)})`;
    if (Number.isNaN(v) && name === 'Float64Array' && rawOf(x, 'float64', i) !== 0x7ff8000000000000n) return `NaN(0x${rawOf(x, 'float64', i).toString(16)})`;
    return String(v);
  });
  return `${name}.of(${items.join(', ')})`;
}

function rowsArb(spec: Spec, maxLength: number) {
  return fc.array(pairOf(spec), { minLength: 0, maxLength }).map((pairs) => [build(spec.dtype, pairs.map((p) => p[0])), build(spec.dtype, pairs.map((p) => p[1]))] as const);
}

test('the comparator runs here as WebAssembly, and the twin module as JavaScript', () => {
  expect(kernelsBackend()).toBe('wasm');
  expect(jsTwin.backend).toBe('js');
});

describe.each(SPECS.map((s) => [s.dtype, s] as const))('%s: every path agrees with the definitions', (_, spec) => {
  const runs = spec.float ? 2000 : 150;

  test('metrics and pass/fail under every tolerance kind, against the oracle', () => {
    fc.assert(
      fc.property(rowsArb(spec, 24), fc.array(toleranceOf(), { minLength: 1, maxLength: 4 }), ([e, a], tols) => {
        for (const t of tols) {
          const tol = resolveTolerance(t, spec.dtype);
          const bad = disagreements(e, a, spec.dtype, tol);
          if (bad.length) throw new Error(`${show(e)} against ${show(a)}, ${JSON.stringify(tol)}:\n  ${bad.join('\n  ')}`);
        }
      }),
      { numRuns: runs, seed: SEED },
    );
  });

  if (spec.dtype === 'float32') {
    test('the generic scan (float32 values as float64) gives the kernel\'s metrics but ULP', () => {
      fc.assert(
        fc.property(rowsArb(spec, 24), fc.array(toleranceOf(), { minLength: 1, maxLength: 3 }), ([e, a], tols) => {
          // NaN payloads do not survive the widening: compare rows whose NaNs are canonical.
          const e64 = Float64Array.from(e as Float32Array), a64 = Float64Array.from(a as Float32Array);
          const e32 = Float32Array.from(e64), a32 = Float32Array.from(a64);
          for (const t of tols) {
            const tol = resolveTolerance(t, 'float64');
            if (tol.kind === 'ulp') continue;
            const k = metricsWasm.compareDiffering(e32, a32, 'float32', tol);
            const g = metricsWasm.compareDiffering(e64, a64, 'float64', tol);
            for (const key of ['bitExact', 'maxAbs', 'maxRel', 'l1', 'nanMismatches', 'worstIndex', 'expected', 'actual', 'pass'] as const) {
              if (!Object.is(k[key], g[key]) && !(k[key] === 0 && g[key] === 0)) throw new Error(`${show(e32)} against ${show(a32)}, ${JSON.stringify(tol)}: ${key} ${String(k[key])} (kernel) vs ${String(g[key])} (generic scan)`);
            }
            if (!close(k.cosine, g.cosine, 1e-12)) throw new Error(`${show(e32)} against ${show(a32)}: cosine ${k.cosine} vs ${g.cosine}`);
          }
        }),
        { numRuns: 800, seed: SEED },
      );
    });
  }

  test('slices of different lengths are never equal and pass no tolerance', () => {
    fc.assert(
      fc.property(rowsArb(spec, 12), fc.nat(12), toleranceOf(), ([e, a], cut, t) => {
        fc.pre(a.length > 0);
        const shorter = a.subarray(0, cut % a.length);
        const tol = resolveTolerance(t, spec.dtype);
        for (const [name, c] of [...paths(e, shorter, spec.dtype, tol), ...paths(shorter, e, spec.dtype, tol)]) {
          expect([name, show(e), show(shorter), c.bitExact, c.pass]).toEqual([name, show(e), show(shorter), false, false]);
        }
      }),
      { numRuns: 100, seed: SEED },
    );
  });

  test('an array against itself (or its copy) is bitwise equal and passes every tolerance, NaN included', () => {
    fc.assert(
      fc.property(rowsArb(spec, 24), toleranceOf(), ([e], t) => {
        const tol = resolveTolerance(t, spec.dtype);
        for (const m of [metricsWasm, jsTwin.m]) {
          for (const other of [e, e.slice()]) {
            const c = m.compareArrays(e, other, spec.dtype, tol);
            expect([show(e), c.bitExact, c.pass, c.maxAbs, c.maxUlp, c.cosine]).toEqual([show(e), true, true, 0, 0, 1]);
            expect(m.compareArrays(e, other, spec.dtype, resolveTolerance('exact', spec.dtype)).pass).toBe(true);
          }
        }
      }),
      { numRuns: 100, seed: SEED },
    );
  });

  test('symmetric metrics: abs, ULP, cosine, NaN mismatches, bitwise equality and the exact, ulp and cosine verdicts', () => {
    fc.assert(
      fc.property(rowsArb(spec, 24), toleranceOf(), ([e, a], t) => {
        const tol = resolveTolerance(t, spec.dtype);
        for (const m of [metricsWasm, jsTwin.m]) {
          const x = m.compareArrays(e, a, spec.dtype, tol);
          const y = m.compareArrays(a, e, spec.dtype, tol);
          const what = `${show(e)} against ${show(a)}, ${JSON.stringify(tol)}`;
          expect([what, x.maxAbs, x.maxUlp, x.nanMismatches, x.bitExact]).toEqual([what, y.maxAbs, y.maxUlp, y.nanMismatches, y.bitExact]);
          expect([what, close(x.cosine, y.cosine, 1e-12)]).toEqual([what, true]);
          const nearBound = tol.kind === 'cosine' && Math.abs(1 - x.cosine - tol.cosine) <= 1e-12;
          if (tol.kind !== 'allclose' && !nearBound) expect([what, x.pass]).toEqual([what, y.pass]);
        }
      }),
      { numRuns: 200, seed: SEED },
    );
  });

  test('the minimum tolerance of each kind passes every comparison when given back, and just below it fails', () => {
    const layout = { name: 'y', dtype: spec.dtype, batchAxis: 0, sampleDims: [1] };
    fc.assert(
      fc.property(fc.array(rowsArb(spec, 16), { minLength: 1, maxLength: 3 }), (rows) => {
        const summary = new ComparisonSummary<unknown>();
        const exact = resolveTolerance('exact', spec.dtype);
        for (const [e, a] of rows) summary.bound(layout, metricsWasm.compareArrays(e, a, spec.dtype, exact));
        const m = { ...summary.minimum };
        const what = `${rows.map(([e, a]) => `${show(e)} against ${show(a)}`).join('; ')}: minimum ${JSON.stringify(m)}`;
        const truths = rows.map(([e, a]) => truth(e, a, spec.dtype));
        const passesAll = (t: Tolerance) => {
          const tol = resolveTolerance(t, spec.dtype);
          const got = rows.map(([e, a]) => metricsWasm.compareArrays(e, a, spec.dtype, tol).pass);
          const want = truths.map((tr) => passTruth(tr, tol, true));
          // The implementation's verdict is the oracle's (where the oracle is sure) ...
          want.forEach((w, i) => { if (w !== undefined && w !== got[i]) throw new Error(`${what}: ${JSON.stringify(t)} on row ${i}: ${got[i]}, the definition gives ${w}`); });
          return got.every(Boolean);
        };
        if (!spec.float) {
          // Integers and bools compare exactly: any difference is passed by no tolerance.
          const same = truths.every((t) => t.bitExact);
          expect([what, Object.values(m)]).toEqual([what, same ? [0, 0, 0, 0] : [Infinity, Infinity, Infinity, Infinity]]);
          return;
        }
        const below = (x: number) => (x > 0 ? x - Math.max(Number.MIN_VALUE, x * 2 ** -40) : -1);
        const fail = (t: Tolerance, why: string) => { if (passesAll(t)) throw new Error(`${what}: ${JSON.stringify(t)} passes ${why}`); };
        const pass = (t: Tolerance, why: string) => { if (!passesAll(t)) throw new Error(`${what}: ${JSON.stringify(t)} fails ${why}`); };
        // atol (rtol 0)
        if (Number.isFinite(m.atol)) {
          pass({ atol: m.atol, rtol: 0 }, 'though it is the minimum atol');
          if (m.atol > 0) fail({ atol: below(m.atol), rtol: 0 }, 'though it is below the minimum atol');
        } else fail({ atol: Number.MAX_VALUE, rtol: 0 }, 'though the minimum atol is Infinity');
        // rtol (atol 0): within 8 ULP above the largest rel; below it fails unless rtol * |expected| is subnormal
        if (Number.isFinite(m.rtol)) {
          pass({ atol: 0, rtol: m.rtol }, 'though it is the minimum rtol');
          const maxRel = Math.max(...truths.map((t) => t.maxRel));
          expect([what, m.rtol >= maxRel && m.rtol <= maxRel * (1 + 2 ** -49)]).toEqual([what, true]);
          const at = truths.find((t) => t.maxRel === maxRel)!;
          if (m.rtol > 0 && at.relAtAbs * m.rtol >= 2 ** -1000) fail({ atol: 0, rtol: m.rtol * (1 - 2 ** -40) }, 'though it is below the minimum rtol');
        } else fail({ atol: 0, rtol: 1e300 }, 'though the minimum rtol is Infinity');
        // ulp
        if (Number.isFinite(m.ulp)) {
          pass({ ulp: m.ulp }, 'though it is the minimum ulp');
          if (m.ulp > 0 && m.ulp <= 2 ** 53) fail({ ulp: m.ulp - 1 }, 'though it is below the minimum ulp');
        } else fail({ ulp: 2 ** 53 }, 'though the minimum ulp is Infinity');
        // cosine: a bound of 2 or more is refused as a tolerance, so it can only be checked below 2
        if (m.cosine < 2) {
          pass({ cosine: m.cosine }, 'though it is the minimum cosine distance');
          if (m.cosine > 0) fail({ cosine: below(m.cosine) }, 'though it is below the minimum cosine distance');
        } else if (m.cosine === Infinity) fail({ cosine: 1.999999 }, 'though the minimum cosine distance is Infinity');
        // The minimum is the oracle's (the largest over the rows).
        expect([what, m.atol, m.ulp]).toEqual([what, Math.max(...truths.map((t) => t.maxAbs)), Math.max(...truths.map((t) => t.maxUlp))]);
      }),
      { numRuns: spec.float ? 800 : 60, seed: SEED },
    );
  });
});
