// Shared helpers for the src/io tests.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BadInputError } from '../../src/errors';
import type { DType, NumericArray } from '../../src/io';

export const FIXTURES = path.join(__dirname, 'fixtures');

export function fixture(name: string): Uint8Array {
  const buffer = readFileSync(path.join(FIXTURES, name));
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * Runs `fn`, which must throw a BadInputError whose message is one line of the form
 * "<source>: <problem>; <fix>". Returns the message for further checks.
 */
export function expectBadInput(fn: () => unknown, source: string): string {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  if (caught === undefined) throw new Error(`expected a BadInputError naming ${source}, but nothing was thrown`);
  if (!(caught instanceof BadInputError)) throw caught;
  expect(caught.name).toBe('BadInputError');
  expect(caught.message).not.toMatch(/[\r\n]/);
  expect(caught.message.startsWith(`${source}: `)).toBe(true);
  expect(caught.message.slice(source.length + 2)).toMatch(/\S.*; \S/);
  return caught.message;
}

/** Runs `fn` on possibly corrupted input: it may succeed, or throw a well-formed BadInputError. */
export function expectParsedOrBadInput(fn: () => unknown, source: string): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof BadInputError)) throw error;
    expect(error.message).not.toMatch(/[\r\n]/);
    expect(error.message.startsWith(`${source}`)).toBe(true);
  }
}

/** Small deterministic PRNG (mulberry32), so fuzz failures reproduce. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/** Raw bytes of an array's data, for bit-exact comparisons (NaN payloads, -0). */
export function rawBytes(arr: NumericArray): Uint8Array {
  return new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
}

export function expectSameArray(actual: NumericArray, expected: NumericArray): void {
  expect(actual.dtype).toBe(expected.dtype);
  expect(actual.dims).toEqual(expected.dims);
  expect(Object.prototype.toString.call(actual.data)).toBe(Object.prototype.toString.call(expected.data));
  expect(rawBytes(actual)).toEqual(rawBytes(expected));
}

/** One array per dtype, with the edge values of each type (extremes, -0, NaN, Infinity). */
export function sampleArrays(): Record<DType, NumericArray> {
  return {
    float32: { dtype: 'float32', dims: [2, 3], data: new Float32Array([0.5, -1.25, 3.4028234663852886e38, -0, NaN, -Infinity]) },
    float64: { dtype: 'float64', dims: [3], data: new Float64Array([Math.PI, -2.5e300, 5e-324]) },
    // raw half bits: 1.0, -2.0, +Infinity, NaN, smallest subnormal
    float16: { dtype: 'float16', dims: [5], data: new Uint16Array([0x3c00, 0xc000, 0x7c00, 0x7e00, 0x0001]) },
    int8: { dtype: 'int8', dims: [2, 2], data: new Int8Array([-128, -1, 0, 127]) },
    int16: { dtype: 'int16', dims: [3], data: new Int16Array([-32768, -2, 32767]) },
    int32: { dtype: 'int32', dims: [3, 1], data: new Int32Array([-2147483648, 7, 2147483647]) },
    int64: { dtype: 'int64', dims: [3], data: new BigInt64Array([-(2n ** 63n), -3n, 2n ** 63n - 1n]) },
    uint8: { dtype: 'uint8', dims: [3], data: new Uint8Array([0, 1, 255]) },
    uint16: { dtype: 'uint16', dims: [2], data: new Uint16Array([0, 65535]) },
    uint32: { dtype: 'uint32', dims: [2], data: new Uint32Array([0, 4294967295]) },
    uint64: { dtype: 'uint64', dims: [2], data: new BigUint64Array([0n, 2n ** 64n - 1n]) },
    bool: { dtype: 'bool', dims: [1, 3], data: new Uint8Array([1, 0, 1]) },
  };
}

/** The values make_fixtures.py writes into all_dtypes.npz (and the single-array fixtures). */
export function numpyFixtureArrays(): Record<DType, NumericArray> {
  return {
    float32: { dtype: 'float32', dims: [2, 3], data: new Float32Array([0.5, -1.25, 3.0, 1e-3, 65504.0, -0]) },
    float64: { dtype: 'float64', dims: [3], data: new Float64Array([Math.PI, -2.5e300, 1e-310]) },
    float16: { dtype: 'float16', dims: [5], data: new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7c00, 0x7bff]) },
    int8: { dtype: 'int8', dims: [4], data: new Int8Array([-128, -1, 0, 127]) },
    int16: { dtype: 'int16', dims: [3], data: new Int16Array([-32768, -2, 32767]) },
    int32: { dtype: 'int32', dims: [3, 1], data: new Int32Array([-2147483648, 7, 2147483647]) },
    int64: { dtype: 'int64', dims: [3], data: new BigInt64Array([-(2n ** 63n), -3n, 2n ** 63n - 1n]) },
    uint8: { dtype: 'uint8', dims: [3], data: new Uint8Array([0, 1, 255]) },
    uint16: { dtype: 'uint16', dims: [2], data: new Uint16Array([0, 65535]) },
    uint32: { dtype: 'uint32', dims: [2], data: new Uint32Array([0, 4294967295]) },
    uint64: { dtype: 'uint64', dims: [2], data: new BigUint64Array([0n, 2n ** 64n - 1n]) },
    bool: { dtype: 'bool', dims: [3], data: new Uint8Array([1, 0, 1]) },
  };
}

export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
