import * as fs from 'fs';
import * as path from 'path';
import { BadInputError } from '../../src/errors';
import { ALIGNMENT, encodeHeader, FORMAT_VERSION, MAGIC } from '../../src/snapshot/format';
import { baselineFileName, listBaselineFiles, openBaseline, readBaseline, readBaselineHeader, writeBaseline } from '../../src/snapshot/store';
import { fingerprintFor } from '../../src/runtime/fingerprint';
import { embeddingsFrom } from '../../src/snapshot/embeddings';
import { embeddings, tempDir, values } from './support';

const dir = tempDir();
const meta = () => ({
  format: FORMAT_VERSION,
  tolerance: { kind: 'cosine' as const, cosine: 1e-6 },
  fingerprint: fingerprintFor({}),
  created: new Date().toISOString(),
  key: 'a test 1',
  test: 'a test',
  writer: 'batchproof test',
});

function written(name: string, rows = 10, dim = 8): string {
  const file = path.join(dir, name);
  writeBaseline(file, embeddings(rows, dim), meta());
  return file;
}

describe('the baseline file format', () => {
  test('magic, u32 header length, JSON header padded so the values start 64-byte aligned', () => {
    const bytes = fs.readFileSync(written('layout.emb'));
    expect([...bytes.subarray(0, 8)]).toEqual([...MAGIC]);
    const headerBytes = bytes.readUInt32LE(8);
    const dataOffset = 12 + headerBytes;
    expect(dataOffset % ALIGNMENT).toBe(0);
    const header = JSON.parse(bytes.subarray(12, dataOffset).toString('utf8'));
    expect(header).toMatchObject({ format: 1, dtype: 'float32', shape: [10, 8], key: 'a test 1', test: 'a test' });
    expect(header.tolerance).toEqual({ kind: 'cosine', cosine: 1e-6 });
    expect(header.fingerprint.provider).toBe('cpu');
    expect(typeof header.created).toBe('string');
    // The values follow as raw little-endian float32.
    const raw = new Float32Array(bytes.buffer.slice(bytes.byteOffset + dataOffset, bytes.byteOffset + bytes.length));
    expect(raw).toEqual(values(10, 8));
  });

  test('size: at most 1.01x the raw values plus 4 KiB, the fingerprint included', () => {
    for (const [rows, dim] of [[1, 1], [10, 8], [1000, 256]]) {
      const file = written(`size-${rows}.emb`, rows, dim);
      const raw = rows * dim * 4;
      expect(fs.statSync(file).size).toBeLessThanOrEqual(raw * 1.01 + 4096);
    }
    expect(encodeHeader({ ...meta(), dtype: 'float32', shape: [1, 1] }).length).toBeLessThan(4096);
  });

  test('float32 and float64 round-trip bit for bit: NaN, -0, Infinity, subnormals', () => {
    const special = [NaN, -0, 0, Infinity, -Infinity, 1e-45, -3.4e38, 1 / 3];
    for (const Type of [Float32Array, Float64Array]) {
      const data = new Type([...special, ...special]);
      const file = path.join(dir, `special-${Type.name}.emb`);
      writeBaseline(file, embeddingsFrom({ data, dims: [2, special.length] }), meta());
      const back = readBaseline(file);
      expect(back.header.dtype).toBe(Type === Float32Array ? 'float32' : 'float64');
      expect(Buffer.from(back.embeddings.data.buffer, back.embeddings.data.byteOffset, back.embeddings.data.byteLength)).toEqual(Buffer.from(data.buffer));
    }
  });

  test('reads rows a chunk at a time from any offset', () => {
    const reader = openBaseline(written('chunks.emb', 50, 4));
    try {
      expect(reader.read(17, 3)).toEqual(values(50, 4).subarray(17 * 4, 20 * 4));
      expect(reader.read(49, 1)).toEqual(values(50, 4).subarray(49 * 4));
    } finally {
      reader.close();
    }
  });

  test('writes atomically: no temporary file is left beside the baseline, and a rewrite replaces it whole', () => {
    const file = written('atomic.emb');
    writeBaseline(file, embeddings(3, 2, 9), meta());
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readBaseline(file).embeddings.data).toEqual(values(3, 2, 9));
  });

  test('a target that cannot be written: one line (BadInputError), and the temporary file is gone', () => {
    // The shared atomic writer: before, the rename failed with a raw EISDIR and left the temporary file behind.
    const sub = path.join(dir, 'unwritable');
    const target = path.join(sub, 'taken.emb');
    fs.mkdirSync(path.join(target, 'inside'), { recursive: true });
    expect(() => writeBaseline(target, embeddings(3, 2), meta())).toThrow(BadInputError);
    expect(() => writeBaseline(target, embeddings(3, 2), meta())).toThrow(/taken\.emb: is a directory/);
    expect(fs.readdirSync(sub)).toEqual(['taken.emb']);
    // A folder where a file is: the folder cannot be made, also one line.
    fs.writeFileSync(path.join(sub, 'plain'), 'x');
    expect(() => writeBaseline(path.join(sub, 'plain', 'b.emb'), embeddings(1, 1), meta())).toThrow(BadInputError);
  });

  test('file names: readable, unique per exact key, safe on any file system', () => {
    expect(baselineFileName('embeds the catalogue 1')).toMatch(/^embeds-the-catalogue-1\.[0-9a-f]{8}\.emb$/);
    expect(baselineFileName('a/b 1')).not.toBe(baselineFileName('a b 1'));
    expect(baselineFileName('Case 1')).not.toBe(baselineFileName('case 1'));
    expect(baselineFileName('../../etc/passwd')).not.toMatch(/[/\\]/);
    expect(baselineFileName('x'.repeat(500)).length).toBeLessThan(100);
  });

  test('lists baselines, not temporaries', () => {
    const sub = path.join(dir, 'list');
    writeBaseline(path.join(sub, 'b.emb'), embeddings(1, 1), meta());
    fs.writeFileSync(path.join(sub, '.b.emb.123.1.tmp'), 'x');
    fs.writeFileSync(path.join(sub, 'notes.txt'), 'x');
    expect(listBaselineFiles(sub).map((f) => path.basename(f))).toEqual(['b.emb']);
    expect(listBaselineFiles(path.join(dir, 'missing'))).toEqual([]);
  });
});

describe('a bad baseline fails with one line naming the file and the cure', () => {
  const oneLine = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      const message = (e as Error).message;
      expect(message).not.toMatch(/\n/);
      return message;
    }
    throw new Error('expected an error');
  };

  test('truncated values', () => {
    const file = written('truncated.emb', 10, 8);
    fs.truncateSync(file, fs.statSync(file).size - 5);
    const message = oneLine(() => openBaseline(file));
    expect(message).toMatch(/truncated\.emb is not a usable embedding baseline: truncated: 10 x 8 float32 needs \d+ bytes but the file has \d+/);
    expect(message).toMatch(/-u/);
  });

  test('truncated inside the header, and an empty file', () => {
    const file = written('short.emb');
    fs.truncateSync(file, 40);
    expect(oneLine(() => openBaseline(file))).toMatch(/the header needs \d+ bytes but the file has 40.*-u/);
    fs.writeFileSync(file, '');
    expect(oneLine(() => openBaseline(file))).toMatch(/only 0 bytes.*-u/);
  });

  test('not a baseline: wrong magic, a Git LFS pointer, a merge conflict', () => {
    const file = path.join(dir, 'text.emb');
    fs.writeFileSync(file, 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n');
    expect(oneLine(() => openBaseline(file))).toMatch(/a text file \(a Git LFS pointer or a merge conflict\?\)/);
    fs.writeFileSync(file, Buffer.alloc(100, 7));
    expect(oneLine(() => openBaseline(file))).toMatch(/wrong magic bytes/);
  });

  test('a baseline a text filter rewrote (CR LF to LF, 8th bit stripped, UTF-8 re-encoded): named as such, with the .gitattributes cure', () => {
    const bytes = fs.readFileSync(written('filtered.emb'));
    const file = path.join(dir, 'filtered-copy.emb');
    const lf = Buffer.from(bytes.toString('latin1').split('\r\n').join('\n'), 'latin1');
    for (const mangled of [lf, Buffer.from(bytes.map((b) => b & 0x7f)), Buffer.from(bytes.toString('latin1'), 'utf8'), Buffer.from(bytes.toString('utf8'), 'utf8')]) {
      fs.writeFileSync(file, mangled);
      const line = oneLine(() => openBaseline(file));
      expect(line).toMatch(/filtered-copy\.emb is an embedding baseline that a text filter rewrote \((its line endings were converted, CR LF to LF|its eighth bits were stripped|it was re-encoded as UTF-8 text): git's autocrlf or eol, a \.gitattributes text rule\?\), so its values cannot be trusted; mark baselines binary \(\*\.emb binary in \.gitattributes\)/);
      expect(line).not.toMatch(/check the path|wrong magic/);
    }
  });

  test('trailing bytes, a broken header', () => {
    const file = written('trailing.emb');
    fs.appendFileSync(file, Buffer.alloc(3));
    expect(oneLine(() => openBaseline(file))).toMatch(/3 unexpected bytes after the values/);
    const bytes = fs.readFileSync(written('json.emb'));
    bytes[12] = 0x7b + 1; // '{' -> '|'
    fs.writeFileSync(file, bytes);
    expect(oneLine(() => openBaseline(file))).toMatch(/header is not valid JSON/);
  });

  test('a newer format version: upgrade batchproof', () => {
    const file = written('newer.emb');
    const bytes = fs.readFileSync(file);
    const text = bytes.toString('latin1').replace('"format":1', '"format":9');
    fs.writeFileSync(file, Buffer.from(text, 'latin1'));
    expect(oneLine(() => openBaseline(file))).toMatch(/newer\.emb was written in embedding baseline format 9 by a newer batchproof \(batchproof test\); this one reads format 1: upgrade batchproof/);
  });

  test('a missing file', () => {
    expect(oneLine(() => openBaseline(path.join(dir, 'nope.emb')))).toMatch(/nope\.emb: no such baseline file/);
    expect(readBaselineHeader(path.join(dir, 'nope.emb'))).toBeNull();
  });
});
