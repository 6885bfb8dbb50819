import { unzipSync, zipSync } from 'fflate';
import { encodeNpy, encodeNpz, parseNpy, parseNpz, NumericArray } from '../../src/io';
import { expectBadInput, expectSameArray, fixture, indexOfBytes, numpyFixtureArrays, sampleArrays } from './support';

const CENTRAL_DIRECTORY_SIGNATURE = new Uint8Array([0x50, 0x4b, 0x01, 0x02]);

function float32Array(values: number[], dims = [values.length]): NumericArray {
  return { dtype: 'float32', dims, data: new Float32Array(values) };
}

describe('parseNpz on archives written by numpy', () => {
  it('reads every dtype from numpy.savez (stored, zip64 local headers)', () => {
    const arrays = parseNpz(fixture('all_dtypes.npz'));
    const expected = numpyFixtureArrays();
    expect(Object.keys(arrays)).toEqual(Object.keys(expected));
    for (const [key, arr] of Object.entries(expected)) expectSameArray(arrays[key], arr);
  });

  it('reads numpy.savez_compressed (deflated)', () => {
    const arrays = parseNpz(fixture('compressed.npz'));
    expect(Object.keys(arrays).sort()).toEqual(['images', 'labels']);
    expectSameArray(arrays.images, float32Array(Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]));
    expectSameArray(arrays.labels, { dtype: 'int64', dims: [2], data: new BigInt64Array([3n, 1n]) });
  });

  it('names positional arrays arr_0, arr_1, ...', () => {
    const arrays = parseNpz(fixture('positional.npz'));
    expectSameArray(arrays.arr_0, { dtype: 'int32', dims: [2], data: new Int32Array([1, 2]) });
    expectSameArray(arrays.arr_1, { dtype: 'float64', dims: [1], data: new Float64Array([0.5]) });
  });

  it('writes entries byte-identical to the ones numpy.savez wrote', () => {
    const entries = unzipSync(fixture('all_dtypes.npz'));
    for (const [name, bytes] of Object.entries(entries)) {
      expect(encodeNpy(parseNpy(bytes))).toEqual(bytes);
      expect(name.endsWith('.npy')).toBe(true);
    }
  });
});

describe('encodeNpz/parseNpz roundtrip', () => {
  it.each([false, true])('keeps every dtype bit-exact (compress: %s)', (compress) => {
    const arrays = sampleArrays();
    const parsed = parseNpz(encodeNpz(arrays, { compress }));
    expect(Object.keys(parsed)).toEqual(Object.keys(arrays));
    for (const [key, arr] of Object.entries(arrays)) expectSameArray(parsed[key], arr);
  });

  it('is deterministic and stores entries as <key>.npy', () => {
    const record = { 'input_ids': float32Array([1, 2]), 'nested/name': float32Array([3]) };
    const bytes = encodeNpz(record);
    expect(encodeNpz(record)).toEqual(bytes);
    expect(Object.keys(unzipSync(bytes))).toEqual(['input_ids.npy', 'nested/name.npy']);
    expect(Object.keys(parseNpz(bytes))).toEqual(['input_ids', 'nested/name']);
  });

  it('compresses when asked', () => {
    const zeros: NumericArray = { dtype: 'float64', dims: [4096], data: new Float64Array(4096) };
    expect(encodeNpz({ zeros }, { compress: true }).length).toBeLessThan(encodeNpz({ zeros }).length / 10);
  });

  it('handles an empty archive and an empty record', () => {
    expect(parseNpz(encodeNpz({}))).toEqual({});
  });

  it('keeps a key named __proto__ as a plain entry', () => {
    const parsed = parseNpz(encodeNpz({ ['__proto__']: float32Array([1]) } as Record<string, NumericArray>));
    expect(Object.keys(parsed)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
  });

  it('skips folder entries and macOS resource forks', () => {
    const bytes = zipSync({
      'dir/': new Uint8Array(0),
      'dir/x.npy': encodeNpy(float32Array([1])),
      '__MACOSX/dir/._x.npy': new Uint8Array([0, 5, 22, 7]),
    });
    expect(Object.keys(parseNpz(bytes))).toEqual(['dir/x']);
  });

  it('rejects invalid arrays and empty keys', () => {
    const message = expectBadInput(() => encodeNpz({ x: { dtype: 'int8', dims: [2], data: new Int8Array(1) } }), 'encodeNpz (key "x")');
    expect(message).toMatch(/hold 2 elements but data has 1/);
    expectBadInput(() => encodeNpz({ '': float32Array([1]) }), 'encodeNpz');
  });
});

/** Byte offset of the first central directory entry, and of the first local header (0). */
function centralDirectoryOffset(bytes: Uint8Array): number {
  const at = indexOfBytes(bytes, CENTRAL_DIRECTORY_SIGNATURE);
  expect(at).toBeGreaterThan(0);
  return at;
}

describe('parseNpz errors', () => {
  const valid = encodeNpz({ x: float32Array([1, 2, 3, 4]) });

  it('names the default source when none is given', () => {
    expectBadInput(() => parseNpz(new Uint8Array([1, 2])), 'npz data');
  });

  it('rejects data that is not a zip', () => {
    const message = expectBadInput(() => parseNpz(new TextEncoder().encode('a,b\n1,2\n'), 'samples.npz'), 'samples.npz');
    expect(message).toBe('samples.npz: not a .npz archive (missing the zip "PK" signature); save the arrays with numpy.savez or numpy.savez_compressed');
  });

  it('recognises a .npy given as .npz', () => {
    const message = expectBadInput(() => parseNpz(encodeNpy(float32Array([1])), 'samples.npz'), 'samples.npz');
    expect(message).toMatch(/it is a single \.npy array.*\.npy extension/);
  });

  it('rejects a truncated archive', () => {
    const message = expectBadInput(() => parseNpz(valid.subarray(0, valid.length - 30), 'samples.npz'), 'samples.npz');
    expect(message).toBe('samples.npz: truncated zip archive (no central directory found); re-save it with numpy.savez');
  });

  it('rejects a corrupted stored entry by its CRC', () => {
    const corrupted = valid.slice();
    const at = indexOfBytes(corrupted, new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer));
    corrupted[at + 5] ^= 0x10;
    const message = expectBadInput(() => parseNpz(corrupted, 'samples.npz'), 'samples.npz (entry "x.npy")');
    expect(message).toMatch(/CRC-32 mismatch/);
  });

  it('rejects a corrupted deflate stream, naming the entry', () => {
    const compressed = fixture('compressed.npz').slice();
    compressed[60] ^= 0xff; // first byte of the first entry's deflate stream
    const message = expectBadInput(() => parseNpz(compressed, 'c.npz'), 'c.npz (entry "images.npy")');
    expect(message).toMatch(/corrupted or truncated zip archive \(invalid length\/literal\)/);
  });

  it('rejects a deflate stream that decodes to the wrong bytes by its CRC', () => {
    const compressed = fixture('compressed.npz').slice();
    compressed[80] ^= 0xff;
    const message = expectBadInput(() => parseNpz(compressed, 'c.npz'), 'c.npz (entry "images.npy")');
    expect(message).toMatch(/CRC-32 mismatch/);
  });

  it('rejects unsupported compression methods', () => {
    const bytes = valid.slice();
    bytes[8] = 12; // local header: bzip2
    bytes[centralDirectoryOffset(bytes) + 10] = 12;
    const message = expectBadInput(() => parseNpz(bytes, 'samples.npz'), 'samples.npz (entry "x.npy")');
    expect(message).toMatch(/unsupported zip compression method 12/);
  });

  it('rejects an entry whose recorded size cannot be right', () => {
    const bytes = encodeNpz({ x: float32Array([1, 2, 3, 4]) }, { compress: true }).slice();
    new DataView(bytes.buffer).setUint32(centralDirectoryOffset(bytes) + 24, 0xfffffff0, true);
    const message = expectBadInput(() => parseNpz(bytes, 'samples.npz'), 'samples.npz (entry "x.npy")');
    expect(message).toMatch(/impossible entry size/);
  });

  it('rejects entries that are not .npy arrays', () => {
    const bytes = zipSync({ 'x.npy': encodeNpy(float32Array([1])), 'notes.txt': new TextEncoder().encode('hi') });
    const message = expectBadInput(() => parseNpz(bytes, 'samples.npz'), 'samples.npz (entry "notes.txt")');
    expect(message).toMatch(/entry is not a \.npy array/);
  });

  it('reports a broken array inside the archive with the entry name', () => {
    const bytes = zipSync({ 'x.npy': encodeNpy(float32Array([1, 2])).subarray(0, 130) });
    const message = expectBadInput(() => parseNpz(bytes, 'samples.npz'), 'samples.npz (entry "x.npy")');
    expect(message).toMatch(/array data truncated/);
  });

  it('keeps a key that itself ends in .npy', () => {
    const bytes = zipSync({ 'x.npy': encodeNpy(float32Array([1])), 'x.npy.npy': encodeNpy(float32Array([2])) });
    expect(Object.keys(parseNpz(bytes))).toEqual(['x', 'x.npy']);
  });
});
