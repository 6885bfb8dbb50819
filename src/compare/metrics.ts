import { countNonFinite, elementAsNumber, isFloatDtype, TypedArray } from '../inputs/arrays';
import { scanFloat32, type Scan } from '../kernels';
import type { ResolvedTolerance } from './tolerance';

/** How one sample's output compares with its reference. */
export interface Comparison {
  /** Bitwise equal (NaN equals NaN at the same place). */
  bitExact: boolean;
  maxAbs: number;
  /** max |actual - expected| / |expected|; Infinity where expected is 0 and actual is not. */
  maxRel: number;
  /** Largest distance in units in the last place (float32/float16/float64 bits). */
  maxUlp: number;
  /** Sum of |actual - expected|: the forum's "L1 per embedding". */
  l1: number;
  /** Cosine similarity of the two vectors (1 when both are zero). */
  cosine: number;
  /** Elements where one side is NaN and the other is not. */
  nanMismatches: number;
  /** Non-finite values (NaN or Inf) in the actual output. */
  nonFinite: number;
  /** The element with the largest difference, flat index into the sample's slice. */
  worstIndex: number;
  expected: number;
  actual: number;
  /** Within the tolerance. */
  pass: boolean;
}

/** Which 32-bit word of a float64 holds its sign and exponent: the machine's byte order. */
const HIGH_WORD = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 1 : 0;

/**
 * IEEE bits mapped to integers that increase with the value, so ULP distance is a subtraction:
 * `hi[i] + lo[i]`. float64's 64-bit patterns do not fit a double's 53 bits (1 and the next
 * double would read 0 ULP apart), so they are kept as a high half times 2^32 and a low half,
 * each exact, as are their differences: the distance rounds only past 2^53 ULP.
 * Computed once per array: one tight loop, instead of a call per element.
 */
function orderedBits(data: TypedArray, dtype: string): { hi: Float64Array; lo: Float64Array | null } | null {
  const out = new Float64Array(data.length);
  if (dtype === 'float16') {
    const bits = data as Uint16Array;
    for (let i = 0; i < bits.length; i++) out[i] = bits[i] & 0x8000 ? -(bits[i] & 0x7fff) : bits[i];
  } else if (dtype === 'float32') {
    const bits = new Int32Array(data.buffer, data.byteOffset, data.length);
    for (let i = 0; i < bits.length; i++) out[i] = bits[i] < 0 ? -(bits[i] & 0x7fffffff) : bits[i];
  } else if (dtype === 'float64') {
    const words = new Uint32Array(data.buffer, data.byteOffset, 2 * data.length);
    const lo = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const high = words[2 * i + HIGH_WORD];
      const low = words[2 * i + 1 - HIGH_WORD];
      const negative = high >= 0x80000000;
      out[i] = (negative ? -(high - 0x80000000) : high) * 4294967296;
      lo[i] = negative ? -low : low;
    }
    return { hi: out, lo };
  } else {
    return null;
  }
  return { hi: out, lo: null };
}

/** Values as JS numbers: float32/float64 as they are, the rest decoded once. */
function asNumbers(data: TypedArray, dtype: string): ArrayLike<number> {
  if (dtype === 'float32' || dtype === 'float64') return data as Float32Array;
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = elementAsNumber(data, dtype, i);
  return out;
}

/** Bitwise equality of two arrays, compared natively. */
export function sameBytes(a: TypedArray, b: TypedArray): boolean {
  return (
    a.byteLength === b.byteLength &&
    Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0
  );
}

/**
 * Two tensors bitwise equal: the same type, dims and bytes (strings compared as strings), as the
 * comparison scans read bits: a NaN equals any NaN at the same place, whatever its sign and
 * payload (only where the bytes differ is that looked at). Otherwise a batch whose NaNs change
 * sign run to run read "not bitwise repeatable" beside a comparison that found it identical.
 */
export function sameTensor(a: { type: string; dims: readonly number[]; data: unknown }, b: { type: string; dims: readonly number[]; data: unknown }): boolean {
  if (a.type !== b.type || a.dims.join() !== b.dims.join()) return false;
  if (a.type === 'string') return (a.data as string[]).every((v, i) => v === (b.data as string[])[i]);
  const x = a.data as TypedArray, y = b.data as TypedArray;
  if (sameBytes(x, y)) return true;
  return isFloatDtype(a.type) && x.length === y.length && compareDiffering(x, y, a.type, { kind: 'exact' }).bitExact;
}

/** Compares one output slice with its reference, element by element, in one pass. */
export function compareArrays(expected: TypedArray, actual: TypedArray, dtype: string, tolerance: ResolvedTolerance): Comparison {
  // Counted in a small function of its own: a loop here made V8 optimize all of compareArrays
  // (about 29 ms of a background thread on the text embedder's check, on 2 cores shared with
  // onnxruntime's threads). float16 is counted from its bits, the same values as decoded.
  const nonFiniteCount = countNonFinite(actual, dtype);
  // Most rows are bitwise equal: one native byte comparison settles those.
  if (sameBytes(expected, actual)) {
    const first = actual.length > 0 ? asNumbers(actual, dtype)[0] : NaN;
    return { bitExact: true, maxAbs: 0, maxRel: 0, maxUlp: 0, l1: 0, cosine: 1, nanMismatches: 0, nonFinite: nonFiniteCount, worstIndex: 0, expected: first, actual: first, pass: true };
  }
  return { ...compareDiffering(expected, actual, dtype, tolerance), nonFinite: nonFiniteCount };
}

/**
 * compareArrays without its shortcut for equal bytes and without the count of non-finite values
 * (the same metrics otherwise, for any two slices): for a caller that has compared the bytes
 * already and counts non-finite values once a row (the check: invariance/row-identity.ts).
 */
export function compareDiffering(expected: TypedArray, actual: TypedArray, dtype: string, tolerance: ResolvedTolerance): Omit<Comparison, 'nonFinite'> {
  const values = asNumbers(actual, dtype);
  const reference = asNumbers(expected, dtype);
  const atol = tolerance.kind === 'allclose' ? tolerance.atol : 0;
  const rtol = tolerance.kind === 'allclose' ? tolerance.rtol : 0;
  const s =
    dtype === 'float32' && expected.length === actual.length
      ? scanFloat32(expected as Float32Array, actual as Float32Array, atol, rtol)
      : scanAny(expected, actual, reference, values, dtype, atol, rtol);
  // Equal as the scan reads them (NaN equals NaN whatever its payload): the same direction, as
  // compareArrays's shortcut for equal bytes says, even where an infinity leaves no cosine to compute.
  const same = s.bitExact && expected.length === actual.length;
  const cosine = same ? 1 : s.nanMismatches > 0 ? NaN : cosineOf(s, reference, values);
  let pass: boolean;
  switch (tolerance.kind) {
    case 'exact': pass = s.bitExact; break;
    case 'allclose': pass = s.allcloseOk && s.nanMismatches === 0; break;
    case 'ulp': pass = s.maxUlp <= tolerance.ulp; break;
    case 'cosine': pass = s.nanMismatches === 0 && 1 - cosine <= tolerance.cosine; break;
  }
  if (expected.length !== actual.length) pass = false;
  const worst = Math.max(s.worstIndex, 0);
  const n = Math.min(expected.length, actual.length);
  return {
    bitExact: s.bitExact && expected.length === actual.length,
    maxAbs: s.maxAbs,
    maxRel: s.maxRel,
    maxUlp: s.maxUlp,
    // The scan sums finite differences only; NaN or Infinity against another value is infinitely far.
    l1: s.maxAbs === Infinity ? Infinity : s.l1,
    cosine,
    nanMismatches: s.nanMismatches,
    worstIndex: worst,
    expected: n > 0 ? reference[worst] : NaN,
    actual: n > 0 ? values[worst] : NaN,
    pass,
  };
}

/**
 * The cosine from the scan's sums. float64 values past about 1e154 overflow their squares (a
 * NaN cosine for rows a hair apart) and below about 1e-154 vanish (orthogonal rows read as
 * both zero, cosine 1): such rows are summed again, each side scaled by its own largest value
 * (scaled by the larger of the two, a side far smaller than the other vanished: [1e-200, 2e-200]
 * against [1, 2] read cosine 0). float32 values never leave the safe range, so their cosine is
 * the plain one.
 */
function cosineOf(s: Scan, reference: ArrayLike<number>, values: ArrayLike<number>): number {
  const product = s.normE * s.normA;
  // The scan's sums leave out elements infinitely apart (an infinity against another value): such
  // rows take the loop below, which finds the infinity (no cosine) instead of the rest's cosine.
  if (product > 1e-290 && s.normE > 1e-290 && s.normA > 1e-290 && product < Infinity && Number.isFinite(s.dot) && s.maxAbs < Infinity) return s.dot / Math.sqrt(product);
  if (s.normE === 0 && s.normA === 0 && s.maxAbs === 0) return 1;
  const n = Math.min(reference.length, values.length);
  let maxE = 0, maxA = 0;
  for (let i = 0; i < n; i++) {
    const e = reference[i];
    const a = values[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue; // left out by the scan too
    if (!Number.isFinite(e) || !Number.isFinite(a)) return NaN; // an infinity: no cosine, as before
    maxE = Math.max(maxE, Math.abs(e));
    maxA = Math.max(maxA, Math.abs(a));
  }
  if (maxE === 0 || maxA === 0) return maxE === maxA ? 1 : 0;
  let dot = 0, normE = 0, normA = 0;
  for (let i = 0; i < n; i++) {
    const e = reference[i] / maxE;
    const a = values[i] / maxA;
    if (Number.isNaN(e)) continue;
    dot += a * e;
    normE += e * e;
    normA += a * a;
  }
  return Math.min(1, Math.max(-1, dot / (Math.sqrt(normE) * Math.sqrt(normA))));
}

/** Every other dtype (and arrays of different lengths): values as numbers, ULP from ordered bits. */
function scanAny(expected: TypedArray, actual: TypedArray, reference: ArrayLike<number>, values: ArrayLike<number>, dtype: string, atol: number, rtol: number): Scan {
  const float = isFloatDtype(dtype);
  const ordE = float ? orderedBits(expected, dtype) : null;
  const ordA = float ? orderedBits(actual, dtype) : null;
  const big = dtype === 'int64' || dtype === 'uint64';
  let bitExact = expected.length === actual.length;
  let maxAbs = 0, maxRel = 0, maxUlp = 0, l1 = 0, dot = 0, normE = 0, normA = 0;
  let nanMismatches = 0, worstIndex = -1, worstAbs = -1, allcloseOk = true;
  const n = Math.min(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    const e = reference[i];
    const a = values[i];
    let abs: number;
    let ulp = 0;
    // Two finite float64 values more than the largest double apart: their difference overflows.
    let overflow = false;
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) && Number.isNaN(a)) continue;
      nanMismatches++;
      abs = Infinity;
      ulp = Infinity;
    } else if (big) {
      // Past 2^53 the doubles round: the integers' own difference (2^60 and 2^60 + 1 are 1 apart, not 0).
      const d = (actual[i] as bigint) - (expected[i] as bigint);
      abs = Number(d < 0n ? -d : d);
    } else if (e === a) {
      // Equal floats differ in bits only as +0 and -0 (NaN is handled above).
      if (float ? !Object.is(e, a) : expected[i] !== actual[i]) bitExact = false;
      abs = 0;
    } else {
      abs = Math.abs(a - e);
      if (Number.isNaN(abs)) abs = Infinity;
      overflow = abs === Infinity && Number.isFinite(a) && Number.isFinite(e);
      ulp = abs === Infinity && !overflow ? Infinity : ordE && ordA ? Math.abs(ordA.hi[i] - ordE.hi[i] + (ordA.lo && ordE.lo ? ordA.lo[i] - ordE.lo[i] : 0)) : 0;
    }
    if (abs > 0 || ulp > 0) bitExact = false;
    // As scanFloat32's: an infinity against another value is infinitely far, beyond any tolerance.
    // An overflowed difference is finite at half scale, where rel and allclose are worked out.
    const rel = abs === 0 ? 0 : e === 0 ? Infinity : overflow ? Math.abs(a / 2 - e / 2) / Math.abs(e / 2) : abs === Infinity ? Infinity : abs / Math.abs(e);
    if (abs > maxAbs) maxAbs = abs;
    if (rel > maxRel) maxRel = rel;
    if (ulp > maxUlp) maxUlp = ulp;
    if (abs > worstAbs) {
      worstAbs = abs;
      worstIndex = i;
    }
    if (overflow ? Math.abs(a / 2 - e / 2) > atol / 2 + rtol * (Math.abs(e) / 2) : abs === Infinity || abs > atol + rtol * Math.abs(e)) allcloseOk = false;
    if (Number.isFinite(abs)) {
      l1 += abs;
      dot += a * e;
      normE += e * e;
      normA += a * a;
    }
  }
  return { bitExact, maxAbs, maxRel, maxUlp, l1, dot, normE, normA, nanMismatches, worstIndex, allcloseOk };
}
