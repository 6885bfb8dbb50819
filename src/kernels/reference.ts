/**
 * The kernels in JavaScript: the definition of what each computes, run where WebAssembly is not
 * (node --jitless, BATCHPROOF_KERNELS=js) and for arrays too large to copy into its memory.
 * kernels.wat gives the same results bit for bit; test/kernels holds the two to that.
 */

/** What one pass over two float arrays finds; compareArrays (compare/metrics.ts) draws the verdict from it. */
export interface Scan {
  bitExact: boolean;
  maxAbs: number;
  maxRel: number;
  maxUlp: number;
  l1: number;
  dot: number;
  normE: number;
  normA: number;
  nanMismatches: number;
  /** -1 when every element was NaN on both sides. */
  worstIndex: number;
  allcloseOk: boolean;
}

/**
 * Uniform numbers in [lo, hi) from mulberry32, a small fast PRNG, written straight into `out`:
 * the same seed gives the same samples on every machine.
 */
export function fillUniformJs(out: Float32Array | Float64Array, seed: number, lo = 0, hi = 1): Float32Array | Float64Array {
  const scale = (hi - lo) / 4294967296;
  let a = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + scale * ((t ^ (t >>> 14)) >>> 0);
  }
  return out;
}

/** How many values are NaN or Infinity. */
export function countNonFiniteJs(data: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) n++;
  return n;
}

/**
 * float32 pairs, expected against actual, in one pass: small and of one element type, so V8
 * optimizes it quickly where it runs as JavaScript.
 */
export function scanFloat32Js(e: Float32Array, a: Float32Array, atol: number, rtol: number): Scan {
  // Bits through views, allocating nothing per row.
  const be = new Int32Array(e.buffer, e.byteOffset, e.length);
  const ba = new Int32Array(a.buffer, a.byteOffset, a.length);
  let bitExact = true, maxAbs = 0, maxRel = 0, maxUlp = 0, l1 = 0, dot = 0, normE = 0, normA = 0;
  let nanMismatches = 0, worstIndex = -1, worstAbs = -1, allcloseOk = true;
  for (let i = 0; i < e.length; i++) {
    const x = e[i];
    const y = a[i];
    let abs = 0;
    let ulp = 0;
    if (x !== x || y !== y) {
      if (x !== x && y !== y) continue;
      nanMismatches++;
      abs = Infinity;
      ulp = Infinity;
    } else if (x !== y) {
      abs = Math.abs(y - x);
      const oe = be[i] < 0 ? -(be[i] & 0x7fffffff) : be[i];
      const oa = ba[i] < 0 ? -(ba[i] & 0x7fffffff) : ba[i];
      ulp = Math.abs(oa - oe);
    }
    // Equal values differ in bits only as +0 and -0.
    if (be[i] !== ba[i]) bitExact = false;
    const rel = abs === 0 ? 0 : x === 0 ? Infinity : abs / Math.abs(x);
    if (abs > maxAbs) maxAbs = abs;
    if (rel > maxRel) maxRel = rel;
    if (ulp > maxUlp) maxUlp = ulp;
    if (abs > worstAbs) {
      worstAbs = abs;
      worstIndex = i;
    }
    if (abs > atol + rtol * Math.abs(x)) allcloseOk = false;
    if (abs !== Infinity) {
      l1 += abs;
      dot += y * x;
      normE += x * x;
      normA += y * y;
    }
  }
  return { bitExact, maxAbs, maxRel, maxUlp, l1, dot, normE, normA, nanMismatches, worstIndex, allcloseOk };
}
