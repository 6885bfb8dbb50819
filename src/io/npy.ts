// Reader and writer for numpy's .npy format (versions 1.0, 2.0 and 3.0):
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
import { DTYPES, DType, NumericArray } from './types';
import {
  checkArrayToWrite,
  checkBytes,
  copyElements,
  elementCount,
  fail,
  formatShape,
  isValidDim,
  littleEndianBytes,
  quote,
} from './internal';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const RESAVE = 're-save it with numpy.save';
const CONVERT = "convert it first, e.g. numpy.save(path, arr.astype('<f4'))";

/** numpy's type code (without byte order) for each dtype. */
const NPY_CODES: Readonly<Record<DType, string>> = {
  float32: 'f4',
  float64: 'f8',
  float16: 'f2',
  int8: 'i1',
  int16: 'i2',
  int32: 'i4',
  int64: 'i8',
  uint8: 'u1',
  uint16: 'u2',
  uint32: 'u4',
  uint64: 'u8',
  bool: 'b1',
};
const DTYPE_BY_NPY_CODE = new Map<string, DType>(
  Object.entries(NPY_CODES).map(([dtype, code]) => [code, dtype as DType]),
);

/**
 * Reads a .npy file. `source` names the file in error messages.
 * Throws BadInputError (one line: file, problem, fix) on anything malformed or unsupported.
 */
export function parseNpy(bytes: Uint8Array, source = 'npy data'): NumericArray {
  checkBytes(bytes, source, 'pass the contents of a .npy file');
  const { headerText, dataOffset } = readPreamble(bytes, source);
  const header = parseHeader(headerText, source);
  const dims = header.shape;
  const count = elementCount(dims);
  const itemSize = DTYPES[header.dtype].itemSize;
  const needed = count * itemSize;
  const available = bytes.length - dataOffset;
  if (!(needed <= available)) {
    throw fail(
      source,
      `array data truncated: shape ${formatShape(dims)} of ${header.dtype} needs ${needed} bytes but only ${available} follow the header`,
      `the file was cut short; ${RESAVE}`,
    );
  }
  if (needed < available) {
    // np.load would quietly read the first of several arrays appended to one file; refuse to guess.
    throw fail(
      source,
      `${available - needed} unexpected bytes after the array data (several arrays saved into one file?)`,
      'save each array to its own .npy file, or use numpy.savez for several',
    );
  }
  return { dtype: header.dtype, dims, data: copyElements(header.dtype, bytes, dataOffset, count) };
}

/** Splits off the magic, version and header length; returns the header text and where data starts. */
function readPreamble(bytes: Uint8Array, source: string): { headerText: string; dataOffset: number } {
  if (!MAGIC.every((byte, i) => bytes[i] === byte)) {
    if (bytes.length < MAGIC.length && bytes.every((byte, i) => byte === MAGIC[i])) {
      throw fail(source, `truncated .npy file (${bytes.length} bytes)`, `the file was cut short; ${RESAVE}`);
    }
    const looksLikeZip = bytes[0] === 0x50 && bytes[1] === 0x4b;
    throw fail(
      source,
      looksLikeZip ? 'not a .npy file (it is a zip archive, probably a .npz)' : 'not a .npy file (missing the \\x93NUMPY magic)',
      looksLikeZip ? 'give it a .npz extension' : 'save the array with numpy.save',
    );
  }
  if (bytes.length < 10) {
    throw fail(source, `truncated .npy header (file is ${bytes.length} bytes)`, `the file was cut short; ${RESAVE}`);
  }
  const major = bytes[6];
  const minor = bytes[7];
  if (!((major === 1 || major === 2 || major === 3) && minor === 0)) {
    throw fail(
      source,
      `unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`,
      `${RESAVE} from a numpy release that writes one of those`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthFieldSize = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthFieldSize) {
    throw fail(source, `truncated .npy header (file is ${bytes.length} bytes)`, `the file was cut short; ${RESAVE}`);
  }
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthFieldSize;
  const dataOffset = headerStart + headerLength;
  if (dataOffset > bytes.length) {
    throw fail(
      source,
      `truncated .npy header (it claims ${headerLength} bytes but the file ends after ${bytes.length - headerStart})`,
      `the file was cut short; ${RESAVE}`,
    );
  }
  const headerBytes = bytes.subarray(headerStart, dataOffset);
  let headerText: string;
  if (major === 3) {
    try {
      headerText = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
    } catch {
      throw fail(source, '.npy 3.0 header is not valid UTF-8', RESAVE);
    }
  } else {
    headerText = latin1(headerBytes);
  }
  return { headerText, dataOffset };
}

function latin1(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}

interface NpyHeader {
  dtype: DType;
  shape: number[];
}

function parseHeader(text: string, source: string): NpyHeader {
  const badHeader = (problem: string) => fail(source, `malformed .npy header: ${problem}`, RESAVE);
  let dict: unknown;
  try {
    dict = parsePythonLiteral(text);
  } catch (error) {
    throw badHeader(error instanceof Error ? error.message : String(error));
  }
  if (!(dict instanceof Map)) throw badHeader('it is not a dict');
  const keys = [...dict.keys()];
  for (const key of ['descr', 'fortran_order', 'shape']) {
    if (!dict.has(key)) throw badHeader(`no ${quote(key)} entry`);
  }
  const extra = keys.find((key) => key !== 'descr' && key !== 'fortran_order' && key !== 'shape');
  if (extra !== undefined) throw badHeader(`unexpected entry ${quote(extra)}`);

  const shape = dict.get('shape');
  if (!(Array.isArray(shape) && shape.every(isValidDim))) {
    throw badHeader(`shape must be a tuple of non-negative integers, got ${quote(shape)}`);
  }
  if (elementCount(shape) === Infinity) {
    throw badHeader(`shape ${formatShape(shape)} is too large`);
  }

  const fortranOrder = dict.get('fortran_order');
  if (typeof fortranOrder !== 'boolean') throw badHeader(`fortran_order must be True or False, got ${quote(fortranOrder)}`);
  // With at most one axis longer than 1, Fortran and C order lay out the same bytes.
  if (fortranOrder && shape.filter((dim) => dim > 1).length > 1) {
    throw fail(
      source,
      `Fortran-ordered (column-major) arrays are not supported (shape ${formatShape(shape)})`,
      'save numpy.ascontiguousarray(arr) instead',
    );
  }

  return { dtype: parseDescr(dict.get('descr'), source), shape };
}

function parseDescr(descr: unknown, source: string): DType {
  if (typeof descr !== 'string') {
    throw fail(
      source,
      `structured or record dtype ${quote(descr)} is not supported`,
      'save each field as its own plain numeric array (numpy.savez can hold several)',
    );
  }
  const match = /^([<>=|]?)([a-zA-Z?]\d*)$/.exec(descr);
  const order = match ? match[1] : '';
  const dtype = match ? DTYPE_BY_NPY_CODE.get(match[2] === '?' ? 'b1' : match[2]) : undefined;
  if (dtype === undefined) {
    throw fail(
      source,
      `dtype ${quote(descr)} is not supported (supported: float16/32/64, int8/16/32/64, uint8/16/32/64, bool)`,
      CONVERT,
    );
  }
  // '=' is native order as written by the saving machine; numpy itself writes '<' or '|' for
  // every little-endian machine, so '=' is read as little-endian like '<'.
  if (order === '>' && DTYPES[dtype].itemSize > 1) {
    throw fail(
      source,
      `big-endian dtype ${quote(descr)} is not supported`,
      `convert it first, e.g. numpy.save(path, arr.astype('<${NPY_CODES[dtype]}'))`,
    );
  }
  return dtype;
}

type PythonValue = string | number | boolean | null | PythonValue[] | Map<string, PythonValue>;

/**
 * Parses the small subset of Python literal syntax .npy headers use: a dict of strings, ints,
 * True/False/None and tuples/lists (lists appear in structured dtypes, which are then refused).
 * Throws a plain Error describing the problem; the caller words it for the user.
 */
function parsePythonLiteral(text: string): PythonValue {
  let pos = 0;
  const skipSpace = () => {
    while (pos < text.length && ' \t\r\n\0'.includes(text[pos])) pos++;
  };
  const unexpected = (): Error =>
    new Error(pos >= text.length ? 'it ends too early' : `unexpected ${quote(text[pos])} at offset ${pos}`);
  const expect = (char: string) => {
    skipSpace();
    if (text[pos] !== char) throw unexpected();
    pos++;
  };
  // Depth is capped so a header of nested brackets cannot overflow the stack.
  const parseValue = (depth: number): PythonValue => {
    if (depth > 32) throw new Error('too deeply nested');
    skipSpace();
    const char = text[pos];
    if (char === "'" || char === '"') return parseString();
    if (char === '{') return parseDict(depth);
    if (char === '(' || char === '[') return parseSequence(char === '(' ? ')' : ']', depth);
    const word = /^(?:True|False|None|-?\d+L?)/.exec(text.slice(pos, pos + 40));
    if (!word) throw unexpected();
    pos += word[0].length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    return Number(word[0].replace('L', '')); // 'L' is Python 2's long suffix, seen in old files
  };
  const parseString = (): string => {
    const closing = text[pos++];
    let value = '';
    while (pos < text.length && text[pos] !== closing) {
      if (text[pos] === '\\') pos++;
      value += text[pos++] ?? '';
    }
    if (pos >= text.length) throw new Error('unterminated string');
    pos++;
    return value;
  };
  const parseSequence = (closing: string, depth: number): PythonValue[] => {
    pos++;
    const items: PythonValue[] = [];
    for (;;) {
      skipSpace();
      if (text[pos] === closing) break;
      items.push(parseValue(depth + 1));
      skipSpace();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== closing) throw unexpected();
    }
    pos++;
    return items;
  };
  const parseDict = (depth: number): Map<string, PythonValue> => {
    pos++;
    const dict = new Map<string, PythonValue>();
    for (;;) {
      skipSpace();
      if (text[pos] === '}') break;
      const key = parseValue(depth + 1);
      if (typeof key !== 'string') throw new Error(`dict key ${quote(key)} is not a string`);
      expect(':');
      dict.set(key, parseValue(depth + 1));
      skipSpace();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== '}') throw unexpected();
    }
    pos++;
    return dict;
  };

  const value = parseValue(0);
  skipSpace();
  if (pos < text.length) throw unexpected();
  return value;
}

// numpy pads the header so the data starts on a 64-byte boundary, and leaves room for the first
// axis to grow to 21 digits; doing the same makes our files byte-identical to numpy.save's.
const ARRAY_ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;

/**
 * Writes an array as a .npy file, byte-identical to what numpy.save writes for the same array
 * (format 1.0, or 2.0 when the header needs more than 64 KiB).
 */
export function encodeNpy(arr: NumericArray): Uint8Array {
  checkArrayToWrite(arr, 'encodeNpy', 'pass a NumericArray whose data matches its dtype and dims');
  const descr = (arr.dtype === 'bool' || DTYPES[arr.dtype].itemSize === 1 ? '|' : '<') + NPY_CODES[arr.dtype];
  const shape = arr.dims.length === 1 ? `(${arr.dims[0]},)` : `(${arr.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  if (arr.dims.length > 0) header += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(arr.dims[0]).length));

  // Like numpy: format 1.0 unless its 16-bit header length field would overflow.
  let fullHeader = padHeader(header, 10);
  let major = 1;
  if (fullHeader.length > 0xffff) {
    fullHeader = padHeader(header, 12);
    major = 2;
  }
  const prefixLength = major === 1 ? 10 : 12;

  const data = littleEndianBytes(arr);
  const out = new Uint8Array(prefixLength + fullHeader.length + data.length);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, fullHeader.length, true);
  else view.setUint32(8, fullHeader.length, true);
  for (let i = 0; i < fullHeader.length; i++) out[prefixLength + i] = fullHeader.charCodeAt(i);
  out.set(data, prefixLength + fullHeader.length);
  return out;
}

function padHeader(header: string, prefixLength: number): string {
  const padding = ARRAY_ALIGN - ((prefixLength + header.length + 1) % ARRAY_ALIGN);
  return header + ' '.repeat(padding) + '\n';
}
