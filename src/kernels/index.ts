/**
 * The numeric inner loops of a check (synthesizing samples, counting NaN and Inf, comparing an
 * output with its reference) in WebAssembly (kernels.wat), with the JavaScript twins of
 * reference.ts where WebAssembly is not available. Both give the same results, bit for bit.
 *
 * Why: a check runs each loop a few hundred times over a few thousand elements. V8 runs such
 * cold loops in its interpreter (50 to 100 ns an element) until it has optimized them, in a
 * background thread that onnxruntime's threads want too; WebAssembly is compiled once, in well
 * under a millisecond, and runs at machine speed from the first call (bench/RESULTS.md).
 * BATCHPROOF_KERNELS=js runs the JavaScript twins instead.
 */
import { fillUniformJs, countNonFiniteJs, scanFloat32Js, type Scan } from './reference';
import { KERNELS_WASM } from './wasm-bytes';

export type { Scan } from './reference';

/** The little of the WebAssembly API used here (its types come with the DOM library, not Node's). */
interface Memory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
  compile(bytes: Uint8Array): Promise<object>;
}

interface Exports {
  memory: Memory;
  fill_f32(out: number, n: number, seed: number, lo: number, hi: number): void;
  fill_f64(out: number, n: number, seed: number, lo: number, hi: number): void;
  nonfinite_f32(p: number, n: number): number;
  nonfinite_f64(p: number, n: number): number;
  scan_f32(e: number, a: number, n: number, atol: number, rtol: number, out: number): void;
}

/** Larger working sets run as JavaScript (hot enough there to be optimized; the memory never shrinks). */
const MAX_WASM_BYTES = 64 << 20;

let loaded: Exports | null | undefined;
/** The module compiled ahead (precompileKernels), once that has finished. */
let compiled: object | undefined;

function webAssembly(): WebAssemblyApi | undefined {
  const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  return process.env.BATCHPROOF_KERNELS === 'js' ? undefined : api;
}

/**
 * Starts compiling the kernels in the background, for a process that will need them later (the
 * CLI, at start): V8 compiles off the main thread, so the first comparison does not wait the
 * 0.5 to 1 ms a compile takes there. Without it the first use compiles, as before. Resolves
 * once compiled (or failed: the first use then compiles, and a failure there picks the twins).
 */
export function precompileKernels(): Promise<void> {
  const api = webAssembly();
  if (!api || loaded !== undefined || compiled) return Promise.resolve();
  return api.compile(Buffer.from(KERNELS_WASM, 'base64')).then(
    (m) => {
      compiled = m;
    },
    () => undefined,
  );
}

function wasm(): Exports | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  const api = webAssembly();
  if (!api) return loaded;
  try {
    loaded = new api.Instance(compiled ?? new api.Module(Buffer.from(KERNELS_WASM, 'base64'))).exports as Exports;
  } catch {
    // node --jitless and the like: the JavaScript twins.
  }
  return loaded;
}

/** Which implementation runs here: 'wasm', or 'js' (BATCHPROOF_KERNELS=js, or no WebAssembly). */
export function kernelsBackend(): 'wasm' | 'js' {
  return wasm() ? 'wasm' : 'js';
}

/** The kernels' memory, at least `bytes` long, or null when the work should run as JavaScript. */
function memoryFor(bytes: number): { k: Exports; buffer: ArrayBuffer } | null {
  const k = bytes <= MAX_WASM_BYTES ? wasm() : null;
  if (!k) return null;
  const short = bytes - k.memory.buffer.byteLength;
  if (short > 0) k.memory.grow(Math.ceil(short / 65536));
  return { k, buffer: k.memory.buffer };
}

const align8 = (n: number): number => (n + 7) & ~7;

/**
 * Uniform numbers in [lo, hi) from mulberry32 (a small fast PRNG) written into `out`: the same
 * seed gives the same samples on every machine and either implementation.
 */
export function fillUniform(out: Float32Array | Float64Array, seed: number, lo = 0, hi = 1): Float32Array | Float64Array {
  const at = memoryFor(out.byteLength);
  if (!at) return fillUniformJs(out, seed, lo, hi);
  if (out.BYTES_PER_ELEMENT === 4) {
    at.k.fill_f32(0, out.length, seed | 0, lo, hi);
    out.set(new Float32Array(at.buffer, 0, out.length));
  } else {
    at.k.fill_f64(0, out.length, seed | 0, lo, hi);
    out.set(new Float64Array(at.buffer, 0, out.length));
  }
  return out;
}

/** How many values of a float32 or float64 array are NaN or Infinity. */
export function countNonFiniteFloats(data: Float32Array | Float64Array): number {
  const at = memoryFor(data.byteLength);
  if (!at) return countNonFiniteJs(data);
  if (data.BYTES_PER_ELEMENT === 4) {
    new Float32Array(at.buffer, 0, data.length).set(data);
    return at.k.nonfinite_f32(0, data.length);
  }
  new Float64Array(at.buffer, 0, data.length).set(data);
  return at.k.nonfinite_f64(0, data.length);
}

/** Views of the kernels' memory for scanFloat32, made again only when it grew (growing detaches the buffer). */
let scanViews: { buffer: ArrayBuffer; floats: Float32Array; doubles: Float64Array } | undefined;

/** One pass over float32 pairs of the same length, expected against actual (see Scan). */
export function scanFloat32(e: Float32Array, a: Float32Array, atol: number, rtol: number): Scan {
  const n = e.length;
  const second = align8(4 * n);
  const results = align8(second + 4 * n);
  const at = memoryFor(results + 88);
  if (!at) return scanFloat32Js(e, a, atol, rtol);
  // A check scans a few hundred small rows: three views a call cost more than the scan.
  if (scanViews?.buffer !== at.buffer) scanViews = { buffer: at.buffer, floats: new Float32Array(at.buffer), doubles: new Float64Array(at.buffer) };
  const { floats, doubles } = scanViews;
  floats.set(e, 0);
  floats.set(a, second >> 2);
  at.k.scan_f32(0, second, n, atol, rtol, results);
  const r = results >> 3;
  return {
    bitExact: doubles[r] === 1,
    maxAbs: doubles[r + 1],
    maxRel: doubles[r + 2],
    maxUlp: doubles[r + 3],
    l1: doubles[r + 4],
    dot: doubles[r + 5],
    normE: doubles[r + 6],
    normA: doubles[r + 7],
    nanMismatches: doubles[r + 8],
    worstIndex: doubles[r + 9],
    allcloseOk: doubles[r + 10] === 1,
  };
}
