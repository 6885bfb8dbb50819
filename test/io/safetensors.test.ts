import { encodeSafetensors, parseSafetensors, NumericArray } from '../../src/io';
import { expectBadInput, expectSameArray, fixture, sampleArrays } from './support';

/** Builds a safetensors file from a header object (or raw header text) and a data section. */
function safetensorsFile(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('parseSafetensors on a file written to the spec', () => {
  const tensors = parseSafetensors(fixture('model.safetensors'));

  it('reads every tensor and ignores __metadata__', () => {
    expect(Object.keys(tensors)).toEqual(['weight', 'bias', 'scale', 'steps', 'mask', 'bytes']);
  });

  it('reads each dtype', () => {
    expectSameArray(tensors.weight, { dtype: 'float32', dims: [2, 2], data: new Float32Array([1, 2, 3, 4.5]) });
    expectSameArray(tensors.bias, { dtype: 'float16', dims: [2], data: new Uint16Array([0x3800, 0xbc00]) });
    expectSameArray(tensors.steps, { dtype: 'int64', dims: [], data: new BigInt64Array([-7n]) });
    expectSameArray(tensors.mask, { dtype: 'bool', dims: [3], data: new Uint8Array([1, 0, 1]) });
    expectSameArray(tensors.bytes, { dtype: 'uint8', dims: [1, 2], data: new Uint8Array([0, 255]) });
  });

  it('widens BF16 to float32 exactly', () => {
    expectSameArray(tensors.scale, { dtype: 'float32', dims: [3], data: new Float32Array([1, -2.5, 3.140625]) });
  });
});

describe('encodeSafetensors/parseSafetensors roundtrip', () => {
  it('keeps every dtype bit-exact', () => {
    const arrays = sampleArrays();
    const parsed = parseSafetensors(encodeSafetensors(arrays));
    expect(Object.keys(parsed)).toEqual(Object.keys(arrays));
    for (const [key, arr] of Object.entries(arrays)) expectSameArray(parsed[key], arr);
  });

  it('pads the header so data starts 8-byte aligned, and rereads the fixture unchanged', () => {
    const original = parseSafetensors(fixture('model.safetensors'));
    const bytes = encodeSafetensors(original);
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    const reread = parseSafetensors(bytes);
    for (const [key, arr] of Object.entries(original)) expectSameArray(reread[key], arr);
  });

  it('writes the dtype codes and offsets of the spec', () => {
    const bytes = encodeSafetensors({
      a: { dtype: 'float16', dims: [1], data: new Uint16Array([1]) },
      b: { dtype: 'uint64', dims: [2], data: new BigUint64Array(2) },
      c: { dtype: 'bool', dims: [], data: new Uint8Array([1]) },
    });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect(header).toEqual({
      a: { dtype: 'F16', shape: [1], data_offsets: [0, 2] },
      b: { dtype: 'U64', shape: [2], data_offsets: [2, 18] },
      c: { dtype: 'BOOL', shape: [], data_offsets: [18, 19] },
    });
    expect(bytes.length).toBe(8 + headerLength + 19);
  });

  it('handles an empty record and empty tensors', () => {
    expect(parseSafetensors(encodeSafetensors({}))).toEqual({});
    const empty: NumericArray = { dtype: 'int32', dims: [0, 4], data: new Int32Array(0) };
    const parsed = parseSafetensors(encodeSafetensors({ empty, one: { dtype: 'int8', dims: [1], data: new Int8Array([-1]) } }));
    expectSameArray(parsed.empty, empty);
    expect(parsed.one.data).toEqual(new Int8Array([-1]));
  });

  it('keeps a tensor named __proto__ as a plain entry', () => {
    const parsed = parseSafetensors(encodeSafetensors({ ['__proto__']: { dtype: 'uint8', dims: [1], data: new Uint8Array([3]) } }));
    expect(Object.keys(parsed)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
  });

  it('rejects a tensor named __metadata__ and invalid arrays', () => {
    expectBadInput(() => encodeSafetensors({ __metadata__: { dtype: 'uint8', dims: [0], data: new Uint8Array(0) } }), 'encodeSafetensors');
    const message = expectBadInput(
      () => encodeSafetensors({ w: { dtype: 'int64', dims: [1], data: new Int32Array(1) } as unknown as NumericArray }),
      'encodeSafetensors (tensor "w")',
    );
    expect(message).toMatch(/int64 needs its data in a BigInt64Array, got Int32Array/);
  });
});

describe('parseSafetensors errors', () => {
  const f32 = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });
  const eightBytes = new Uint8Array(8);

  it('names the default source when none is given', () => {
    expectBadInput(() => parseSafetensors(new Uint8Array(3)), 'safetensors data');
  });

  it.each([
    ['a file shorter than 8 bytes', new Uint8Array(5), /truncated safetensors file \(5 bytes/],
    ['a header length past the end', safetensorsFile({ a: f32(0, 8) }, eightBytes).subarray(0, 20), /not a safetensors file, or truncated: header length \d+ exceeds the 12 bytes/],
    ['a huge header length', new Uint8Array([255, 255, 255, 255, 255, 255, 255, 255, 0x7b, 0x7d]), /header length 18446744073709551615 exceeds/],
    ['a .npy file', Uint8Array.from('\x93NUMPY\x01\x00v\x00{', (c) => c.charCodeAt(0)), /it looks like a \.npy or \.npz file/],
    ['a header that is not an object', safetensorsFile('[1, 2]'), /the header is not a JSON object/],
    ['an empty header', safetensorsFile(''), /the header is not a JSON object/],
    ['invalid JSON', safetensorsFile('{"a": '), /header is not valid JSON/],
    ['invalid UTF-8', safetensorsFile('{"\xff": 1}').map((b, i) => (i === 10 ? 0xff : b)), /header is not valid UTF-8/],
    ['a JSON null header entry', safetensorsFile({ a: null }), /tensor "a": header entry is not an object/],
    ['a missing dtype', safetensorsFile({ a: { shape: [], data_offsets: [0, 0] } }), /tensor "a": missing "dtype"/],
    ['an unsupported dtype', safetensorsFile({ a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /dtype "F8_E4M3" is not supported.*; convert/],
    ['a bad shape', safetensorsFile({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }), /"shape" must be an array of non-negative integers/],
    ['a missing shape', safetensorsFile({ a: { dtype: 'F32', data_offsets: [0, 4] } }), /"shape" must be an array/],
    ['bad offsets', safetensorsFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }), /"data_offsets" must be \[begin, end\]/],
    ['negative offsets', safetensorsFile({ a: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }), /"data_offsets" must be/],
    ['reversed offsets', safetensorsFile({ a: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, eightBytes), /end before they begin/],
    ['offsets past the end', safetensorsFile({ a: f32(0, 12) }, eightBytes), /data_offsets \[0, 12\] run past the end of the data \(8 bytes\)/],
    ['a size that does not match the shape', safetensorsFile({ a: f32(0, 8, [3]) }, eightBytes), /shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] hold 8/],
    ['a huge shape', safetensorsFile({ a: f32(0, 8, [2 ** 40, 2 ** 40]) }, eightBytes), /shape \[1099511627776, 1099511627776\] is too large/],
    ['a gap between tensors', safetensorsFile({ a: f32(0, 4), b: f32(8, 12) }, new Uint8Array(12)), /tensor "b" leaves a gap of 4 bytes/],
    ['overlapping tensors', safetensorsFile({ a: f32(0, 8), b: f32(4, 8) }, eightBytes), /tensor "b" overlaps the previous tensor/],
    ['trailing bytes', safetensorsFile({ a: f32(0, 4) }, eightBytes), /the data section is 8 bytes but the tensors cover 4/],
  ])('rejects %s', (_what, bytes, pattern) => {
    const message = expectBadInput(() => parseSafetensors(bytes, 'model.safetensors'), 'model.safetensors');
    expect(message).toMatch(pattern);
  });

  it('accepts tensors listed out of offset order and a header padded with spaces', () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
    const header = `${JSON.stringify({ b: f32(4, 12), __metadata__: { x: 'y' }, a: f32(0, 4) })}   `;
    const parsed = parseSafetensors(safetensorsFile(header, data));
    expect(parsed.a.data).toEqual(new Float32Array([1]));
    expect(parsed.b.data).toEqual(new Float32Array([2, 3]));
  });

  it('keeps messages on one line when a tensor name has newlines', () => {
    const message = expectBadInput(() => parseSafetensors(safetensorsFile({ 'a\nb': null }), 'm.safetensors'), 'm.safetensors');
    expect(message).toMatch(/tensor "a\\nb"/);
  });
});
