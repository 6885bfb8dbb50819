/**
 * The checksum of batchproof's cache files (the CLI's code cache and graph facts): 64 bits, in
 * WebAssembly (checksum.wat, compiled in well under a millisecond), with its JavaScript twin
 * (reference.ts checksumJs) where WebAssembly is not available. It runs before anything else on
 * every CLI run, so it loads nothing: zlib's CRC-32 cost 3 ms to load, crypto's hashes more.
 * Not a defence against someone who can write the cache (a folder others can write is not used:
 * compile-cache.ts writableByOthers): it catches a bad disk or a stray write, which V8 would run
 * as code and crash on.
 */
import type * as reference from './reference';
import { CHECKSUM_WASM } from './wasm-bytes';

interface ChecksumExports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  checksum(p: number, n: number, out: number): void;
  canon_nan(p: number, n: number, width: number): number;
}

let loaded: ChecksumExports | null | undefined;

/**
 * The instance, shared by the copies of this module in one process: the bin (which checks the
 * code cache) and the CLI's bundle (its graph facts, probes' output keys) each hold one, and
 * compiling and instantiating the kernel costs about 0.6 ms a process.
 */
const SHARED = Symbol.for('batchproof.checksumKernel');

function wasm(): ChecksumExports | null {
  if (loaded !== undefined) return loaded;
  const shared = globalThis as { [SHARED]?: ChecksumExports | null };
  if (shared[SHARED] !== undefined) return (loaded = shared[SHARED]);
  loaded = null;
  const api = (globalThis as { WebAssembly?: { Module: new (b: Uint8Array) => object; Instance: new (m: object) => { exports: unknown } } }).WebAssembly;
  if (!api) return loaded;
  try {
    loaded = new api.Instance(new api.Module(Buffer.from(CHECKSUM_WASM, 'base64'))).exports as ChecksumExports;
  } catch {
    // node --jitless and the like: the JavaScript twin.
  }
  shared[SHARED] = loaded;
  return loaded;
}

/** Views of the kernel's memory, made again only when it grew (growing detaches the old buffer). */
let view: Uint8Array | undefined;
let words: DataView | undefined;

/** WebAssembly reads floats little-endian: on a big-endian machine NaNs are found by the twin. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** The bytes with NaNs as one pattern (lanes given a NaN width), or null where they are the data's own. */
let canonical: Uint8Array | null = null;

// Loaded only where needed: the JavaScript twins are most of the kernels' code.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const twins = (): typeof reference => require('./reference') as typeof reference;

/**
 * The two 32-bit lanes of `data`'s checksum; with `nanWidth` (the float size: 2, 4 or 8), of
 * its bytes with every NaN as one pattern, those bytes left in `canonical` when they differ.
 */
function lanes(data: Uint8Array, nanWidth: 0 | 2 | 4 | 8 = 0): [number, number] {
  canonical = null;
  const k = data.length <= 1 << 30 ? wasm() : null;
  if (nanWidth && (!k || !LITTLE_ENDIAN)) {
    canonical = twins().canonicalNaNsJs(data, nanWidth);
    if (canonical) data = canonical;
    nanWidth = 0;
  }
  if (!k) return twins().checksumJs(data);
  // The bytes, zeros up to a multiple of 16 (the kernel reads whole blocks), then the sum.
  const out = (data.length + 15) & ~15;
  const need = out + 8;
  const have = k.memory.buffer.byteLength;
  if (need > have) k.memory.grow(Math.ceil((need - have) / 65536));
  // A view a call cost the probe rows' keys (a few hundred small rows a check) more than the sums.
  if (view?.buffer !== k.memory.buffer) {
    view = new Uint8Array(k.memory.buffer);
    words = new DataView(k.memory.buffer);
  }
  view.set(data);
  view.fill(0, data.length, out);
  if (nanWidth && k.canon_nan(0, data.length, nanWidth)) canonical = view.slice(0, data.length);
  k.checksum(0, data.length, out);
  // WebAssembly memory is little-endian on every machine; a typed array is the machine's order.
  return [(words as DataView).getUint32(out, true), (words as DataView).getUint32(out + 4, true)];
}

/** The checksum of `data`, as 8 bytes (the two lanes, big-endian). */
export function checksum(data: Uint8Array): Buffer {
  const sum = lanes(data);
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32BE(sum[0], 0);
  bytes.writeUInt32BE(sum[1], 4);
  return bytes;
}

/**
 * 53 of the checksum's 64 bits as one number, for telling many small arrays apart (a Map key
 * without a string or a Buffer made for each). Equal arrays get equal numbers; unequal ones
 * almost never do, so an equal number is confirmed byte for byte where it matters.
 */
export function checksumNumber(data: Uint8Array): number {
  const [hi, lo] = lanes(data);
  return hi * 2 ** 21 + (lo >>> 11);
}

/**
 * checksumNumber of float bytes (`width` bytes a value: 2 float16, 4 float32, 8 float64) read
 * as the comparison scans read them, every NaN equal to every other (its sign and payload set
 * to one pattern); `canonical` holds those bytes, or is null where they are `data`'s own.
 * Costs one more SIMD pass over bytes the checksum copies anyway.
 */
export function floatsChecksumNumber(data: Uint8Array, width: 2 | 4 | 8): { sum: number; canonical: Uint8Array | null } {
  const [hi, lo] = lanes(data, width);
  return { sum: hi * 2 ** 21 + (lo >>> 11), canonical };
}
