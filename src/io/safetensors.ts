// Reader and writer for the safetensors format: https://github.com/huggingface/safetensors
// Layout: u64 little-endian header length N, N bytes of JSON header, then the tensor data.
import { DTYPES, DType, NumericArray } from './types';
import {
  checkArrayToWrite,
  checkBytes,
  copyElements,
  elementCount,
  fail,
  formatShape,
  hasEntry,
  isValidDim,
  littleEndianBytes,
  quote,
  setEntry,
} from './internal';

const RESAVE = 're-save it with safetensors.torch.save_file or safetensors.numpy.save_file';
// The reference implementation refuses larger headers too.
const MAX_HEADER_LENGTH = 100_000_000;

const DTYPE_BY_CODE: Readonly<Record<string, DType>> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'float16',
  I8: 'int8',
  I16: 'int16',
  I32: 'int32',
  I64: 'int64',
  U8: 'uint8',
  U16: 'uint16',
  U32: 'uint32',
  U64: 'uint64',
  BOOL: 'bool',
};
const CODE_BY_DTYPE = Object.fromEntries(Object.entries(DTYPE_BY_CODE).map(([code, dtype]) => [dtype, code])) as Record<
  DType,
  string
>;

interface TensorEntry {
  name: string;
  code: string;
  dims: number[];
  begin: number;
  end: number;
}

/**
 * Reads a .safetensors file into a record keyed by tensor name ("__metadata__" is ignored).
 * BF16 tensors are widened to float32, since onnxruntime-node has no bfloat16 tensor type.
 * `source` names the file in error messages. Throws BadInputError on anything malformed.
 */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors data'): Record<string, NumericArray> {
  checkBytes(bytes, source, 'pass the contents of a .safetensors file');
  const { header, dataStart } = readHeader(bytes, source);
  const dataLength = bytes.length - dataStart;

  const entries: TensorEntry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    entries.push(readEntry(name, value, dataLength, source));
  }

  // Like the reference reader: tensors must tile the data section exactly, no gaps, overlaps or
  // leftovers, since any of those means the header and the data disagree.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  for (const entry of byOffset) {
    if (entry.begin !== expectedBegin) {
      const what = entry.begin < expectedBegin ? 'overlaps the previous tensor' : `leaves a gap of ${entry.begin - expectedBegin} bytes`;
      throw fail(source, `tensor ${quote(entry.name)} ${what} (data_offsets start at ${entry.begin}, expected ${expectedBegin})`, RESAVE);
    }
    expectedBegin = entry.end;
  }
  if (expectedBegin !== dataLength) {
    throw fail(
      source,
      `the data section is ${dataLength} bytes but the tensors cover ${expectedBegin} (file has trailing bytes or was altered)`,
      RESAVE,
    );
  }

  const result: Record<string, NumericArray> = {};
  for (const entry of entries) setEntry(result, entry.name, readTensor(bytes, dataStart, entry));
  return result;
}

function readHeader(bytes: Uint8Array, source: string): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) {
    throw fail(source, `truncated safetensors file (${bytes.length} bytes, shorter than the 8-byte header length)`, RESAVE);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    const looksLikeOther = bytes[0] === 0x93 || (bytes[0] === 0x50 && bytes[1] === 0x4b);
    throw fail(
      source,
      looksLikeOther
        ? 'not a safetensors file (it looks like a .npy or .npz file)'
        : `not a safetensors file, or truncated: header length ${headerLength} exceeds the ${bytes.length - 8} bytes that follow`,
      looksLikeOther ? 'give it the matching .npy or .npz extension' : RESAVE,
    );
  }
  const length = Number(headerLength);
  if (length > MAX_HEADER_LENGTH) throw fail(source, `header of ${length} bytes is too large (limit ${MAX_HEADER_LENGTH})`, RESAVE);
  if (length < 2 || bytes[8] !== 0x7b /* '{' */) {
    throw fail(source, 'not a safetensors file (the header is not a JSON object)', RESAVE);
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + length));
  } catch {
    throw fail(source, 'header is not valid UTF-8', RESAVE);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw fail(source, `header is not valid JSON (${detail})`, RESAVE);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw fail(source, 'header is not a JSON object', RESAVE);
  }
  // JSON.parse keeps the last of two equal keys, so a second tensor of one name would hide the first.
  const duplicate = duplicateKey(text);
  if (duplicate !== null) throw fail(source, `the header names ${quote(duplicate.key)} twice${duplicate.top ? '' : ' inside one entry'}, so it is unclear which is meant`, RESAVE);
  return { header: header as Record<string, unknown>, dataStart: 8 + length };
}

/**
 * The first key that appears twice in one object of valid JSON text (`top`: in the outermost
 * object), or null. One pass over the characters; strings are decoded as JSON decodes them, so
 * "a" and "\u0061" are the same key.
 */
function duplicateKey(text: string): { key: string; top: boolean } | null {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) return { key, top: stack.length === 1 };
        top.add(key);
      }
      expectKey = false;
      i = j;
    } else if (ch === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (ch === 0x5b /* [ */) {
      stack.push(null);
      expectKey = false;
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (ch === 0x2c /* , */) {
      expectKey = stack.length > 0 && stack[stack.length - 1] !== null;
    }
  }
  return null;
}

function readEntry(name: string, value: unknown, dataLength: number, source: string): TensorEntry {
  const bad = (problem: string) => fail(source, `tensor ${quote(name)}: ${problem}`, RESAVE);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('header entry is not an object');
  const info = value as Record<string, unknown>;
  const code = info.dtype;
  if (typeof code !== 'string') throw bad('missing "dtype"');
  if (!hasEntry(DTYPE_BY_CODE, code) && code !== 'BF16') {
    throw fail(
      source,
      `tensor ${quote(name)}: dtype ${quote(code)} is not supported (supported: F32 F64 F16 BF16 I8 I16 I32 I64 U8 U16 U32 U64 BOOL)`,
      'convert the tensor to float32 before saving',
    );
  }
  const dims = info.shape;
  if (!(Array.isArray(dims) && dims.every(isValidDim))) {
    throw bad(`"shape" must be an array of non-negative integers, got ${quote(dims)}`);
  }
  const offsets = info.data_offsets;
  if (!(Array.isArray(offsets) && offsets.length === 2 && offsets.every(isValidDim))) {
    throw bad(`"data_offsets" must be [begin, end] byte offsets, got ${quote(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  if (begin > end) throw bad(`data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) {
    throw bad(`data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes); the file may be truncated`);
  }
  const count = elementCount(dims);
  if (count === Infinity) throw bad(`shape ${formatShape(dims)} is too large`);
  const itemSize = code === 'BF16' ? 2 : DTYPES[DTYPE_BY_CODE[code]].itemSize;
  const expectedBytes = count * itemSize;
  if (end - begin !== expectedBytes) {
    throw bad(`shape ${formatShape(dims)} of ${code} needs ${expectedBytes} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { name, code, dims, begin, end };
}

function readTensor(bytes: Uint8Array, dataStart: number, entry: TensorEntry): NumericArray {
  const count = elementCount(entry.dims);
  if (entry.code === 'BF16') {
    const bits = copyElements('uint16', bytes, dataStart + entry.begin, count) as Uint16Array;
    const widened = new Float32Array(count);
    const widenedBits = new Uint32Array(widened.buffer);
    // bfloat16 is the top half of a float32, so widening is exact.
    for (let i = 0; i < count; i++) widenedBits[i] = bits[i] << 16;
    return { dtype: 'float32', dims: entry.dims, data: widened };
  }
  const dtype = DTYPE_BY_CODE[entry.code];
  return { dtype, dims: entry.dims, data: copyElements(dtype, bytes, dataStart + entry.begin, count) };
}

/**
 * Writes tensors as a .safetensors file (no metadata), with the header padded so the data
 * starts 8-byte aligned, as the reference writer does.
 */
export function encodeSafetensors(record: Record<string, NumericArray>): Uint8Array {
  const header: Record<string, unknown> = {};
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, arr] of Object.entries(record)) {
    checkArrayToWrite(arr, `encodeSafetensors (tensor ${quote(name)})`, 'pass NumericArrays whose data matches their dtype and dims');
    if (name === '__metadata__') {
      throw fail('encodeSafetensors', 'a tensor cannot be named "__metadata__" (the format reserves it)', 'rename the tensor');
    }
    const data = littleEndianBytes(arr);
    setEntry(header, name, { dtype: CODE_BY_DTYPE[arr.dtype], shape: arr.dims, data_offsets: [offset, offset + data.length] });
    chunks.push(data);
    offset += data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength); // JSON allows trailing spaces
  let position = 8 + headerLength;
  for (const chunk of chunks) {
    out.set(chunk, position);
    position += chunk.length;
  }
  return out;
}
