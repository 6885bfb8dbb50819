import { encodeNpy, parseNpy, DType, NumericArray } from '../../src/io';
import { expectBadInput, expectSameArray, fixture, numpyFixtureArrays, rawBytes, sampleArrays } from './support';

const MAGIC = '\x93NUMPY';

/** Builds a .npy file by hand, so tests can write headers numpy never would. */
function npyWithHeader(header: string, data: Uint8Array = new Uint8Array(0), major = 1, minor = 0): Uint8Array {
  const lengthFieldSize = major === 1 ? 2 : 4;
  const headerBytes = major === 3 ? new TextEncoder().encode(header) : Uint8Array.from(header, (c) => c.charCodeAt(0));
  const out = new Uint8Array(8 + lengthFieldSize + headerBytes.length + data.length);
  out.set(Uint8Array.from(MAGIC, (c) => c.charCodeAt(0)));
  out[6] = major;
  out[7] = minor;
  const view = new DataView(out.buffer);
  if (lengthFieldSize === 2) view.setUint16(8, headerBytes.length, true);
  else view.setUint32(8, headerBytes.length, true);
  out.set(headerBytes, 8 + lengthFieldSize);
  out.set(data, 8 + lengthFieldSize + headerBytes.length);
  return out;
}

function float32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

describe('parseNpy on files written by numpy', () => {
  const expected = numpyFixtureArrays();

  it('reads a format 1.0 float32 matrix', () => {
    expectSameArray(parseNpy(fixture('float32_2x3.npy')), expected.float32);
  });

  it('reads a format 2.0 int64 vector', () => {
    const bytes = fixture('int64_v2.npy');
    expect(bytes[6]).toBe(2);
    expectSameArray(parseNpy(bytes), expected.int64);
  });

  it('reads a format 3.0 uint16 vector', () => {
    const bytes = fixture('uint16_v3.npy');
    expect(bytes[6]).toBe(3);
    expectSameArray(parseNpy(bytes), expected.uint16);
  });

  it('reads a 0-d scalar as dims []', () => {
    expectSameArray(parseNpy(fixture('scalar_float64.npy')), { dtype: 'float64', dims: [], data: new Float64Array([2.5]) });
  });

  it('reads an empty array', () => {
    expectSameArray(parseNpy(fixture('empty_int32_0x3.npy')), { dtype: 'int32', dims: [0, 3], data: new Int32Array(0) });
  });

  it('writes the same bytes numpy.save wrote', () => {
    for (const name of ['float32_2x3.npy', 'scalar_float64.npy', 'empty_int32_0x3.npy']) {
      const bytes = fixture(name);
      expect(encodeNpy(parseNpy(bytes))).toEqual(bytes);
    }
  });

  it('rejects Fortran order with a fix, naming the file', () => {
    const message = expectBadInput(() => parseNpy(fixture('fortran_2x3.npy'), 'fortran_2x3.npy'), 'fortran_2x3.npy');
    expect(message).toMatch(/Fortran-ordered.*ascontiguousarray/);
  });

  it('rejects big-endian data with a fix', () => {
    const message = expectBadInput(() => parseNpy(fixture('bigendian.npy'), 'bigendian.npy'), 'bigendian.npy');
    expect(message).toBe(
      `bigendian.npy: big-endian dtype ">f4" is not supported; convert it first, e.g. numpy.save(path, arr.astype('<f4'))`,
    );
  });
});

describe('encodeNpy/parseNpy roundtrip', () => {
  it.each(Object.entries(sampleArrays()))('keeps %s bit-exact', (_dtype, arr) => {
    const bytes = encodeNpy(arr);
    expect(bytes.length % 64).toBe(rawBytes(arr).length % 64); // data starts 64-byte aligned, like numpy
    expectSameArray(parseNpy(bytes), arr);
  });

  it('writes the descr numpy writes for each dtype', () => {
    const descrs: Record<DType, string> = {
      float32: '<f4', float64: '<f8', float16: '<f2', int8: '|i1', int16: '<i2', int32: '<i4', int64: '<i8',
      uint8: '|u1', uint16: '<u2', uint32: '<u4', uint64: '<u8', bool: '|b1',
    };
    for (const [dtype, arr] of Object.entries(sampleArrays())) {
      const header = new TextDecoder().decode(encodeNpy(arr).subarray(10, 80));
      expect(header).toContain(`'descr': '${descrs[dtype as DType]}'`);
    }
  });

  it('handles scalars, empty arrays and 1-element tuples', () => {
    const cases: NumericArray[] = [
      { dtype: 'float32', dims: [], data: new Float32Array([7]) },
      { dtype: 'int64', dims: [0], data: new BigInt64Array(0) },
      { dtype: 'uint8', dims: [2, 0, 3], data: new Uint8Array(0) },
      { dtype: 'int32', dims: [1], data: new Int32Array([-5]) },
    ];
    for (const arr of cases) expectSameArray(parseNpy(encodeNpy(arr)), arr);
    expect(new TextDecoder().decode(encodeNpy(cases[3]))).toContain("'shape': (1,), }");
    expect(new TextDecoder().decode(encodeNpy(cases[0]))).toContain("'shape': (), }");
  });

  it('encodes a view into a larger buffer using only the viewed elements', () => {
    const backing = new Float32Array([9, 1, 2, 3, 9]);
    const arr: NumericArray = { dtype: 'float32', dims: [3], data: backing.subarray(1, 4) };
    expect(Array.from(parseNpy(encodeNpy(arr)).data as Float32Array)).toEqual([1, 2, 3]);
  });

  it('writes format 2.0 when the header outgrows format 1.0', () => {
    const dims = [...Array<number>(23000).fill(1), 0];
    const arr: NumericArray = { dtype: 'uint8', dims, data: new Uint8Array(0) };
    const bytes = encodeNpy(arr);
    expect(bytes[6]).toBe(2);
    expect(bytes.length % 64).toBe(0);
    expectSameArray(parseNpy(bytes), arr);
  });
});

describe('parseNpy header handling', () => {
  const data = float32Bytes([1, 2, 3]);

  it.each([1, 2, 3])('reads hand-written format %i.0 headers', (major) => {
    const arr = parseNpy(npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", data, major));
    expect(arr).toEqual({ dtype: 'float32', dims: [3], data: new Float32Array([1, 2, 3]) });
  });

  it('accepts the spellings older or other writers use', () => {
    const headers = [
      '{"descr": "<f4", "fortran_order": False, "shape": (3,)}', // double quotes, no trailing comma
      "{'shape': (3L,), 'fortran_order': False, 'descr': '=f4'}", // Python 2 long, native order, any key order
      "{'descr':'|f4','fortran_order':False,'shape':[3]}\x00\x00", // no spaces, list shape, NUL padding
      "{'descr': 'f4', 'fortran_order': True, 'shape': (3,), }", // Fortran order is the same bytes in 1-D
      "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 3, 1), }",
    ];
    for (const header of headers) {
      expect(parseNpy(npyWithHeader(header, data)).data).toEqual(new Float32Array([1, 2, 3]));
    }
  });

  it('reads bool written as "|b1" or "?" and maps any nonzero byte to 1', () => {
    for (const descr of ['|b1', '?']) {
      const arr = parseNpy(npyWithHeader(`{'descr': '${descr}', 'fortran_order': False, 'shape': (3,), }`, new Uint8Array([0, 1, 2])));
      expect(arr).toEqual({ dtype: 'bool', dims: [3], data: new Uint8Array([0, 1, 1]) });
    }
  });

  it('accepts any byte order mark on 1-byte types', () => {
    const arr = parseNpy(npyWithHeader("{'descr': '>i1', 'fortran_order': False, 'shape': (2,), }", new Uint8Array([255, 1])));
    expect(arr.data).toEqual(new Int8Array([-1, 1]));
  });

  it('copies data into an aligned array of its own, even from an unaligned view', () => {
    const file = npyWithHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(new Float64Array([1.5, -2]).buffer));
    const backing = new Uint8Array(file.length + 3);
    backing.set(file, 3);
    const arr = parseNpy(backing.subarray(3));
    expect(arr.data).toEqual(new Float64Array([1.5, -2]));
    expect(arr.data.byteOffset).toBe(0);
    expect(arr.data.buffer).not.toBe(backing.buffer);
    expect(arr.data.buffer.byteLength).toBe(16);
  });

  it('reads from a Node Buffer', () => {
    const arr = parseNpy(Buffer.from(fixture('float32_2x3.npy')));
    expect(arr.dims).toEqual([2, 3]);
  });
});

describe('parseNpy errors', () => {
  const data = float32Bytes([1, 2, 3]);
  const header = (descr: string, fortran = 'False', shape = '(3,)') =>
    `{'descr': ${descr}, 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

  it('names the default source when none is given', () => {
    const message = expectBadInput(() => parseNpy(new Uint8Array([1, 2, 3])), 'npy data');
    expect(message).toBe('npy data: not a .npy file (missing the \\x93NUMPY magic); save the array with numpy.save');
  });

  it.each([
    ['an empty file', new Uint8Array(0), /truncated \.npy file \(0 bytes\)/],
    ['a zip archive', new Uint8Array([0x50, 0x4b, 3, 4, 0, 0]), /it is a zip archive.*give it a \.npz extension/],
    ['a cut magic', Uint8Array.from('\x93NUM', (c) => c.charCodeAt(0)), /truncated \.npy file/],
    ['version 4.0', npyWithHeader(header("'<f4'"), data, 4), /unsupported \.npy format version 4\.0/],
    ['version 1.1', npyWithHeader(header("'<f4'"), data, 1, 1), /unsupported \.npy format version 1\.1/],
    ['a cut header length', npyWithHeader(header("'<f4'"), data, 2).subarray(0, 10), /truncated \.npy header/],
    ['a header longer than the file', npyWithHeader(header("'<f4'"), data).subarray(0, 30), /truncated \.npy header \(it claims \d+ bytes/],
    ['missing data', npyWithHeader(header("'<f4'"), data.subarray(0, 10)), /array data truncated: shape \[3\] of float32 needs 12 bytes but only 10/],
    ['extra data', npyWithHeader(header("'<f4'"), float32Bytes([1, 2, 3, 4])), /4 unexpected bytes after the array data.*numpy\.savez/],
    ['a complex dtype', npyWithHeader(header("'<c8'"), data), /dtype "<c8" is not supported.*astype/],
    ['a string dtype', npyWithHeader(header("'<U3'"), data), /dtype "<U3" is not supported/],
    ['an object dtype', npyWithHeader(header("'|O'"), data), /dtype "\|O" is not supported/],
    ['a structured dtype', npyWithHeader(header("[('x', '<f4')]"), data), /structured or record dtype .* not supported/],
    ['a big-endian int', npyWithHeader(header("'>i8'"), data), /big-endian dtype ">i8".*astype\('<i8'\)/],
    ['Fortran order in 2-D', npyWithHeader(header("'<f4'", 'True', '(3, 1, 2)'), data), /Fortran-ordered .*shape \[3, 1, 2\]/],
    ['a header that is not a dict', npyWithHeader("('<f4', False, (3,))", data), /malformed \.npy header: it is not a dict/],
    ['a missing key', npyWithHeader("{'descr': '<f4', 'shape': (3,)}", data), /malformed \.npy header: no "fortran_order" entry/],
    ['an extra key', npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}", data), /unexpected entry "x"/],
    ['a negative dim', npyWithHeader(header("'<f4'", 'False', '(-3,)'), data), /shape must be a tuple of non-negative integers/],
    ['a string dim', npyWithHeader(header("'<f4'", 'False', "('3',)"), data), /shape must be a tuple/],
    ['an int shape', npyWithHeader(header("'<f4'", 'False', '3'), data), /shape must be a tuple/],
    ['a huge shape', npyWithHeader(header("'<f4'", 'False', '(99999999999, 99999999999)'), data), /shape \[99999999999, 99999999999\] is too large/],
    ['a shape bigger than the file', npyWithHeader(header("'<f8'", 'False', '(4000000000,)'), data), /needs 32000000000 bytes but only 12/],
    ['a string fortran_order', npyWithHeader(header("'<f4'", "'no'"), data), /fortran_order must be True or False/],
    ['an empty header', npyWithHeader('', data), /malformed \.npy header: it ends too early/],
    ['an unterminated string', npyWithHeader("{'descr: '<f4'}", data), /malformed \.npy header/],
    ['garbage after the dict', npyWithHeader(`${header("'<f4'")} x`, data), /malformed \.npy header: unexpected "x"/],
    ['a non-string key', npyWithHeader("{1: '<f4'}", data), /dict key "1" is not a string/],
    ['deep nesting', npyWithHeader(`{'descr': ${'['.repeat(100)}`, data), /too deeply nested/],
    ['invalid UTF-8 in a 3.0 header', npyWithHeader('{', data, 3).map((b, i, all) => (i === all.length - 13 ? 0xff : b)), /3\.0 header is not valid UTF-8/],
  ])('rejects %s', (_what, bytes, pattern) => {
    const message = expectBadInput(() => parseNpy(bytes, 'samples.npy'), 'samples.npy');
    expect(message).toMatch(pattern);
  });

  it('keeps messages on one line even when the header or source has newlines', () => {
    const message = expectBadInput(() => parseNpy(npyWithHeader(header("'a\nb'"), data), 'dir/a\nb.npy'), 'dir/a b.npy');
    expect(message).toMatch(/dtype "a\\nb" is not supported/);
  });

  it('rejects input that is not bytes', () => {
    expectBadInput(() => parseNpy('abc' as unknown as Uint8Array, 'x.npy'), 'x.npy');
    expectBadInput(() => parseNpy(new Float32Array(4) as unknown as Uint8Array, 'x.npy'), 'x.npy');
    expectBadInput(() => parseNpy(undefined as unknown as Uint8Array), 'npy data');
  });
});

describe('encodeNpy errors', () => {
  it.each([
    ['a data type that does not match the dtype', { dtype: 'float32', dims: [2], data: new Float64Array(2) }, /float32 needs its data in a Float32Array, got Float64Array/],
    ['a length that does not match the dims', { dtype: 'int32', dims: [2, 2], data: new Int32Array(3) }, /dims \[2, 2\] hold 4 elements but data has 3/],
    ['negative dims', { dtype: 'int32', dims: [-1], data: new Int32Array(0) }, /dims must be an array of non-negative integers/],
    ['an unknown dtype', { dtype: 'bfloat16', dims: [1], data: new Uint16Array(1) }, /unknown dtype "bfloat16"/],
    ['float16 given as float numbers', { dtype: 'float16', dims: [1], data: new Float32Array(1) }, /needs its data in a Uint16Array/],
  ])('rejects %s', (_what, arr, pattern) => {
    expect(expectBadInput(() => encodeNpy(arr as NumericArray), 'encodeNpy')).toMatch(pattern);
  });

  it('writes bool as 0/1 bytes', () => {
    const bytes = encodeNpy({ dtype: 'bool', dims: [3], data: new Uint8Array([0, 5, 1]) });
    expect(Array.from(bytes.subarray(bytes.length - 3))).toEqual([0, 1, 1]);
  });
});
