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

/** The two 32-bit lanes of `data`'s checksum. */
function lanes(data: Uint8Array): [number, number] {
  const k = data.length <= 1 << 30 ? wasm() : null;
  if (!k) {
    // Loaded only here: the JavaScript twins are most of the kernels' code.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('./reference') as typeof reference).checksumJs(data);
  }
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
