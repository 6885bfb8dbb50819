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
      // An infinity against another value is no number of steps apart: no ulp tolerance passes it.
      ulp = abs === Infinity ? Infinity : Math.abs(oa - oe);
    }
    // Equal values differ in bits only as +0 and -0.
    if (be[i] !== ba[i]) bitExact = false;
    // An infinite difference (an infinity against another value) is infinitely far, relatively
    // too (inf / inf is NaN), and beyond any tolerance (atol + rtol * inf would let it pass).
    const rel = abs === 0 ? 0 : x === 0 || abs === Infinity ? Infinity : abs / Math.abs(x);
    if (abs > maxAbs) maxAbs = abs;
    if (rel > maxRel) maxRel = rel;
    if (ulp > maxUlp) maxUlp = ulp;
    if (abs > worstAbs) {
      worstAbs = abs;
      worstIndex = i;
    }
    if (abs === Infinity || abs > atol + rtol * Math.abs(x)) allcloseOk = false;
    if (abs !== Infinity) {
      l1 += abs;
      dot += y * x;
      normE += x * x;
      normA += y * y;
    }
  }
  return { bitExact, maxAbs, maxRel, maxUlp, l1, dot, normE, normA, nanMismatches, worstIndex, allcloseOk };
}

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));
/** murmur3's 32-bit finalizer. */
function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The 64-bit checksum of cache files as two unsigned 32-bit halves: four lanes, lane j over the
 * little-endian 32-bit words 4i + j of the bytes (padded with zeros to a multiple of 16), each
 * step h = rotl(h ^ w * C1, 15) * C2; then lanes 0 and 1 fold into the first half, 2 and 3 into
 * the second, each with the length, through murmur3's finalizer. Each step is a bijection of the
 * lane for a fixed word and of the word for a fixed lane, so any change to one word always
 * changes the sum.
 */
export function checksumJs(data: Uint8Array): [number, number] {
  const n = data.length;
  const h = [0x9e3779b9 | 0, 0x85ebca6b | 0, 0xc2b2ae35 | 0, 0x27d4eb2f | 0];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let p = 0; p < n; p += 4) {
    let w = 0;
    if (p + 4 <= n) w = view.getInt32(p, true);
    else for (let k = 0; p + k < n; k++) w |= data[p + k] << (8 * k);
    const j = (p >> 2) & 3;
    h[j] = Math.imul(rotl(h[j] ^ Math.imul(w, 0xcc9e2d51), 15), 0x1b873593);
  }
  // The zero words that pad the last block.
  for (let p = (n + 3) & ~3; p & 15; p += 4) {
    const j = (p >> 2) & 3;
    h[j] = Math.imul(rotl(h[j], 15), 0x1b873593);
  }
  return [fmix(h[0] ^ rotl(h[1], 16) ^ n), fmix(h[2] ^ rotl(h[3], 16) ^ n)];
}

/**
 * The bytes of `data` read as floats of `width` bytes (2: float16, 4: float32, 8: float64, in
 * the machine's byte order) with every NaN as one pattern (0x7e00, 0x7fc00000,
 * 0x7ff8000000000000), as the comparison scans read NaN: equal to NaN whatever its sign and
 * payload. A copy when a NaN had other bits, else null (`data`'s own bytes are those). The
 * WebAssembly twin: checksum.wat canon_nan.
 */
export function canonicalNaNsJs(data: Uint8Array, width: 2 | 4 | 8): Uint8Array | null {
  const n = Math.floor(data.length / width);
  const aligned = data.byteOffset % width === 0;
  // A view at an odd offset cannot be read as floats in place: a copy, which is aligned.
  const source = aligned ? data : data.slice();
  let out: Uint8Array | null = null;
  if (width === 2) {
    const h = new Uint16Array(source.buffer, source.byteOffset, n);
    for (let i = 0; i < n; i++) {
      if ((h[i] & 0x7fff) > 0x7c00 && h[i] !== 0x7e00) {
        out ??= data.slice();
        new Uint16Array(out.buffer, 0, n)[i] = 0x7e00;
      }
    }
  } else if (width === 4) {
    const f = new Float32Array(source.buffer, source.byteOffset, n);
    const bits = new Uint32Array(source.buffer, source.byteOffset, n);
    for (let i = 0; i < n; i++) {
      if (f[i] !== f[i] && bits[i] !== 0x7fc00000) {
        out ??= data.slice();
        new Uint32Array(out.buffer, 0, n)[i] = 0x7fc00000;
      }
    }
  } else {
    // As 64-bit integers: a NaN read into a JavaScript number and written back may change its bits.
    const bits = new BigUint64Array(source.buffer, source.byteOffset, n);
    for (let i = 0; i < n; i++) {
      const b = bits[i];
      if ((b & 0x7fffffffffffffffn) > 0x7ff0000000000000n && b !== 0x7ff8000000000000n) {
        out ??= data.slice();
        new BigUint64Array(out.buffer, 0, n)[i] = 0x7ff8000000000000n;
      }
    }
  }
  return out;
}
