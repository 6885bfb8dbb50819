/** Typed-array plumbing shared by inputs, runs and comparison. */

import type { NumericData } from '../io/types';
import { countNonFiniteFloats } from '../kernels';

/** Every typed array an onnxruntime tensor holds (float16 as Uint16 bits, bool as Uint8). */
export type TypedArray = NumericData;

/** onnxruntime-node's tensor type names that batchproof feeds and compares. */
export const FLOAT_DTYPES = ['float32', 'float16', 'float64'] as const;

export function isFloatDtype(dtype: string): boolean {
  return (FLOAT_DTYPES as readonly string[]).includes(dtype);
}

/** How many NaN or Infinity values an array of `dtype` holds (float16 as raw bits: exponent all ones). */
export function countNonFinite(data: ArrayLike<number | bigint>, dtype: string): number {
  if (!isFloatDtype(dtype)) return 0;
  let n = 0;
  if (dtype === 'float16') {
    for (let i = 0; i < data.length; i++) if (((data[i] as number) & 0x7c00) === 0x7c00) n++;
    return n;
  }
  // Typed arrays of any realm (Jest's or Node's) go to the kernel; plain arrays are counted here.
  if (ArrayBuffer.isView(data) && (data as Float32Array).BYTES_PER_ELEMENT === (dtype === 'float64' ? 8 : 4)) return countNonFiniteFloats(data as Float32Array | Float64Array);
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i] as number)) n++;
  return n;
}

/** True when every value is NaN or Infinity (stops at the first finite one); false for an empty array. */
export function everyNonFinite(data: ArrayLike<number | bigint>, dtype: string): boolean {
  if (!isFloatDtype(dtype) || data.length === 0) return false;
  if (dtype === 'float16') {
    for (let i = 0; i < data.length; i++) if (((data[i] as number) & 0x7c00) !== 0x7c00) return false;
    return true;
  }
  for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i] as number)) return false;
  return true;
}

/** A new zeroed typed array for an onnxruntime dtype (float16 as raw Uint16 bits, bool as Uint8). */
export function allocate(dtype: string, length: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(length);
    case 'float64': return new Float64Array(length);
    case 'float16': return new Uint16Array(length);
    case 'int8': return new Int8Array(length);
    case 'int16': return new Int16Array(length);
    case 'int32': return new Int32Array(length);
    case 'int64': return new BigInt64Array(length);
    case 'uint8': case 'bool': return new Uint8Array(length);
    case 'uint16': return new Uint16Array(length);
    case 'uint32': return new Uint32Array(length);
    case 'uint64': return new BigUint64Array(length);
    default: throw new Error(`unsupported dtype ${dtype}`);
  }
}

const ARRAY_TYPES: Record<string, { new (buffer: ArrayBuffer, offset: number, length: number): TypedArray; BYTES_PER_ELEMENT: number }> = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int8: Int8Array, int16: Int16Array, int32: Int32Array,
  int64: BigInt64Array, uint8: Uint8Array, bool: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array,
} as never;

/**
 * `allocate` for many small arrays that live as long as each other (a pool's samples): views
 * carved out of shared 64 KB blocks, where each array of its own gets a backing store V8
 * allocates and tracks one by one (a text check makes thousands of 100-byte samples).
 */
export function blockAllocator(blockBytes = 1 << 16): (dtype: string, length: number) => TypedArray {
  let block: ArrayBuffer | null = null;
  let used = 0;
  return (dtype, length) => {
    const type = ARRAY_TYPES[dtype];
    const bytes = length * (type?.BYTES_PER_ELEMENT ?? 0);
    if (!type || bytes > blockBytes / 8) return allocate(dtype, length);
    if (!block || used + bytes > blockBytes) {
      block = new ArrayBuffer(blockBytes);
      used = 0;
    }
    const out = new type(block, used, length);
    used += (bytes + 7) & ~7; // every view 8-byte aligned, as BigInt64Array needs
    return out;
  };
}

export function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Copies rows `rows` of `data` (shape `dims`) along `axis` into a new array of shape
 * dims with dims[axis] = rows.length. Rows are addressed along the axis, so batch axes other
 * than 0 (a [2, N, 128] state) work the same way.
 */
export function takeRows(data: TypedArray, dims: readonly number[], axis: number, rows: readonly number[], dtype: string): TypedArray {
  const outer = product(dims.slice(0, axis));
  const n = dims[axis];
  const inner = product(dims.slice(axis + 1));
  const out = allocate(dtype, outer * rows.length * inner);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < rows.length; r++) {
      const from = (o * n + rows[r]) * inner;
      (out as Float32Array).set((data as Float32Array).subarray(from, from + inner), (o * rows.length + r) * inner);
    }
  }
  return out;
}

/** Stacks per-sample arrays (each with dims[axis] = 1) along `axis`. */
export function stackRows(samples: readonly TypedArray[], sampleDims: readonly number[], axis: number, dtype: string): TypedArray {
  const outer = product(sampleDims.slice(0, axis));
  const inner = product(sampleDims.slice(axis + 1));
  const out = allocate(dtype, outer * samples.length * inner);
  if (outer === 1) {
    // Batch axis first (the usual case): each sample is one block, copied without a view per row.
    for (let r = 0; r < samples.length; r++) {
      const sample = samples[r] as Float32Array;
      (out as Float32Array).set(sample.length === inner ? sample : sample.subarray(0, inner), r * inner);
    }
    return out;
  }
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < samples.length; r++) {
      (out as Float32Array).set(
        (samples[r] as Float32Array).subarray(o * inner, (o + 1) * inner),
        (o * samples.length + r) * inner,
      );
    }
  }
  return out;
}

/** IEEE half-precision bits to a JS number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** A JS number to IEEE half-precision bits (round to nearest even). */
export function floatToHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0];
  const sign = (x >> 16) & 0x8000;
  let exp = ((x >> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (((x >> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant = (mant | 0x800000) >> (1 - exp);
    return sign | ((mant + 0xfff + ((mant >> 13) & 1)) >> 13);
  }
  const rounded = mant + 0xfff + ((mant >> 13) & 1);
  if (rounded & 0x800000) {
    mant = 0;
    exp += 1;
    if (exp >= 31) return sign | 0x7c00;
  } else {
    mant = rounded;
  }
  return sign | (exp << 10) | (mant >> 13);
}

/** Element i as a JS number (float16 decoded, 64-bit ints converted). */
export function elementAsNumber(data: TypedArray, dtype: string, i: number): number {
  if (dtype === 'float16') return halfToFloat((data as Uint16Array)[i]);
  const v = data[i];
  return typeof v === 'bigint' ? Number(v) : v;
}
