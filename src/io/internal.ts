// Helpers shared by the format readers and writers; not part of the public API.
import { BadInputError } from '../errors';
import { DTYPES, DType, NumericArray, NumericData, isDType } from './types';

/** Builds the one-line "<file>: <problem>; <fix>" error every reader and writer throws. */
export function fail(source: string, problem: string, fix: string): BadInputError {
  return new BadInputError(oneLine(`${source}: ${problem}; ${fix}`));
}

/** Control characters (newlines above all) would break the one-line promise of error messages. */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
}

/** Quotes a name or value taken from a file, short enough to keep the message readable. */
export function quote(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : String(JSON.stringify(value));
  } catch {
    text = String(value);
  }
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  return JSON.stringify(text);
}

/** Product of the dims, or Infinity when it would not be an exact integer. */
export function elementCount(dims: readonly number[]): number {
  let count = 1;
  for (const dim of dims) count *= dim;
  return Number.isSafeInteger(count) ? count : Infinity;
}

export function isValidDim(dim: unknown): dim is number {
  return typeof dim === 'number' && Number.isSafeInteger(dim) && dim >= 0;
}

export function formatShape(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapBytesInPlace(bytes: Uint8Array, itemSize: number): void {
  for (let start = 0; start < bytes.length; start += itemSize) {
    bytes.subarray(start, start + itemSize).reverse();
  }
}

/**
 * Copies little-endian elements out of a file into a fresh typed array: file offsets are seldom
 * aligned to the element size, and the result must not keep the whole file alive.
 * The caller has checked that the bytes are there.
 */
export function copyElements(dtype: DType, bytes: Uint8Array, offset: number, count: number): NumericData {
  const { itemSize, create } = DTYPES[dtype];
  const copy = new Uint8Array(count * itemSize);
  copy.set(bytes.subarray(offset, offset + copy.length));
  if (!HOST_IS_LITTLE_ENDIAN && itemSize > 1) swapBytesInPlace(copy, itemSize);
  // Any nonzero byte means true to numpy and torch; onnxruntime wants exactly 0 or 1.
  if (dtype === 'bool') for (let i = 0; i < copy.length; i++) copy[i] = copy[i] ? 1 : 0;
  return create(copy.buffer, count);
}

/** The array's elements as little-endian bytes, ready to write (a view when no change is needed). */
export function littleEndianBytes(arr: NumericArray): Uint8Array {
  const view = new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  const itemSize = DTYPES[arr.dtype].itemSize;
  if (arr.dtype !== 'bool' && (HOST_IS_LITTLE_ENDIAN || itemSize === 1)) return view;
  const copy = new Uint8Array(view);
  if (!HOST_IS_LITTLE_ENDIAN && itemSize > 1) swapBytesInPlace(copy, itemSize);
  if (arr.dtype === 'bool') for (let i = 0; i < copy.length; i++) copy[i] = copy[i] ? 1 : 0;
  return copy;
}

/**
 * Checks an array handed to a writer, so a wrong dtype/data pairing is reported rather than
 * written out as a file that reads back as different numbers.
 */
export function checkArrayToWrite(arr: NumericArray, source: string, fix: string): void {
  if (typeof arr !== 'object' || arr === null) {
    throw fail(source, `expected a NumericArray { dtype, dims, data }, got ${quote(arr)}`, fix);
  }
  if (!isDType(arr.dtype)) throw fail(source, `unknown dtype ${quote(arr.dtype)}`, fix);
  if (!Array.isArray(arr.dims) || !arr.dims.every(isValidDim)) {
    throw fail(source, `dims must be an array of non-negative integers, got ${quote(arr.dims)}`, fix);
  }
  const expectedArray = DTYPES[arr.dtype].arrayName;
  // toString tag, not instanceof: arrays may come from another realm (Jest, worker threads).
  const actualArray = Object.prototype.toString.call(arr.data).slice(8, -1);
  if (actualArray !== expectedArray) {
    throw fail(source, `dtype ${arr.dtype} needs its data in a ${expectedArray}, got ${actualArray}`, fix);
  }
  const count = elementCount(arr.dims);
  if (arr.data.length !== count) {
    throw fail(source, `dims ${formatShape(arr.dims)} hold ${count} elements but data has ${arr.data.length}`, fix);
  }
}

/** Adds a key read from a file without letting a name such as "__proto__" touch the prototype. */
export function setEntry<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

export function hasEntry(record: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(record, key);
}

/** Rejects anything that is not bytes before a reader indexes into it. */
export function checkBytes(bytes: unknown, source: string, fix: string): asserts bytes is Uint8Array {
  if (!(ArrayBuffer.isView(bytes) && Object.prototype.toString.call(bytes) === '[object Uint8Array]')) {
    throw fail(source, `expected the file's bytes as a Uint8Array or Buffer, got ${Object.prototype.toString.call(bytes)}`, fix);
  }
}
