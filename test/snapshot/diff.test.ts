import * as fs from 'fs';
import * as path from 'path';
import { cli } from '../helpers/cli';
import { diffBaselines } from '../../src/snapshot/diff';
import { writeBaseline } from '../../src/snapshot/store';
import { fingerprintFor, fingerprintFromJson } from '../../src/runtime/fingerprint';
import { Embeddings } from '../../src/snapshot/embeddings';
import { tool } from '../../src/version';
import { embeddings, nudged, tempDir } from './support';

const dir = tempDir();
const here = fingerprintFor({});
const base = embeddings(100, 24);

function baseline(name: string, e: Embeddings, extra: object = {}): string {
  const file = path.join(dir, name);
  writeBaseline(file, e, { format: 1, tolerance: { kind: 'cosine', cosine: 1e-6 }, fingerprint: here, created: '2025-01-01T00:00:00.000Z', key: name, ...extra });
  return file;
}

const a = baseline('a.emb', base);
const same = baseline('same.emb', { ...base, data: base.data.slice() });
const near = baseline('near.emb', nudged(base, [4], 1e-7));
const far = baseline('far.emb', nudged(base, [4, 40], 0.3), { fingerprint: { ...here, provider: 'webgpu', threads: 16 } });


describe('batchproof diff A B', () => {
  test('0 when identical or within the tolerance', async () => {
    const r = await cli('diff', a, same, '--no-color');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^identical: 100 x 24 float32, bitwise equal to the baseline/);
    expect(r.stdout).toMatch(/^fingerprint: onnxruntime 1\.30\.\d+, cpu, /m);
    const w = await cli('diff', a, near, '--no-color');
    expect(w.code).toBe(0);
    expect(w.stdout).toMatch(/^within-tolerance: all 100 rows within cosine distance<=1e-6 \(1 not bitwise equal/);
  });

  test('1 beyond it, with the same report as the matcher: rows moved, worst rows, fingerprint', async () => {
    const r = await cli('diff', a, far, '--no-color');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^changed: 2 of 100 rows moved beyond cosine distance<=1e-6/);
    expect(r.stdout).toMatch(/worst rows:/);
    expect(r.stdout).toMatch(/fingerprint differs: baseline: cpu, default threads \(\d+ cores\); now: webgpu, 16 threads/);
    expect(r.stdout).toMatch(/^fingerprint \(baseline\): onnxruntime 1\.30\.\d+, cpu, default threads/m);
    expect(r.stdout).toMatch(/^fingerprint \(now\): onnxruntime 1\.30\.\d+, webgpu, 16 threads/m);
    expect(r.stdout).toMatch(/baseline: .*a\.emb, key "a\.emb", written 2025-01-01/);
  });

  test('--tolerance overrides the one recorded in A', async () => {
    expect((await cli('diff', a, near, '--tolerance', 'exact')).code).toBe(1);
    expect((await cli('diff', a, far, '--tolerance', 'atol=1')).code).toBe(0);
  });

  test('--json fingerprint: what differs between the two files (README), null when they agree', async () => {
    const r = JSON.parse((await cli('diff', a, far, '--json')).stdout);
    expect(r.fingerprint).toEqual({ baseline: expect.stringMatching(/^cpu, default threads/), current: 'webgpu, 16 threads' });
    expect(r.baseline.fingerprint).toMatch(/^onnxruntime 1\.30\.\d+, cpu, /);
    expect(r.current.fingerprint).toMatch(/^onnxruntime 1\.30\.\d+, webgpu, 16 threads/);
    expect(JSON.parse((await cli('diff', a, near, '--json')).stdout).fingerprint).toBeNull();
  });

  test('--neighbors k', async () => {
    const r = await cli('diff', a, far, '--neighbors', '3', '--json');
    expect(JSON.parse(r.stdout).neighbors).toMatchObject({ k: 3, comparedRows: 100 });
    // A k the set cannot take: the line names the flag the user gave, not only the API's neighbors.k.
    const big = await cli('diff', a, far, '--neighbors', '100');
    expect({ code: big.code, stderr: big.stderr }).toEqual({ code: 2, stderr: 'batchproof: neighbors.k (CLI --neighbors) 100 needs more than 100 rows; the set has 100: give a k of at most 99\n' });
    const one = baseline('one.emb', embeddings(1, 24));
    const other = baseline('one-again.emb', embeddings(1, 24));
    expect((await cli('diff', one, other, '--neighbors', '1')).stderr).toBe('batchproof: neighbors.k (CLI --neighbors) 1 needs more than 1 rows; the set has 1: one row has no neighbours, leave it out\n');
  });

  test('--json prints the report; --json FILE writes it and prints the text', async () => {
    const r = await cli('diff', a, far, '--json');
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ verdict: 'changed', pass: false, movedRows: 2, rows: 100, tolerance: 'cosine distance<=1e-6' });
    // The same envelope as every other report: schema, kind and the tool that wrote it.
    expect(report).toMatchObject({ schema: 1, kind: 'embedding-diff', tool: { name: 'batchproof', version: expect.any(String) } });
    expect(report.tool).toEqual(tool);
    expect(Object.keys(report)).toEqual([
      'schema', 'kind', 'tool', 'verdict', 'pass', 'tolerance', 'toleranceSpec', 'baseline', 'current', 'shapeMismatch', 'rows', 'movedRows', 'changedRows', 'cosineHistogram', 'nonFiniteRows', 'nonFinite', 'worst', 'minimumTolerance', 'neighbors', 'fingerprint', 'notes', 'timing',
    ]);
    expect(report.timing).toEqual({ totalMs: expect.any(Number), inferenceMs: 0 });
    expect(report.worst[0]).toEqual({ row: expect.any(Number), cosineDistance: expect.any(Number), maxAbs: expect.any(Number), maxUlp: expect.any(Number), pass: false, nonFinite: null });
    const out = path.join(dir, 'report.json');
    const t = await cli('diff', a, far, '--json', out, '--no-color');
    expect(t.stdout).toMatch(/^changed:/);
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).movedRows).toBe(2);
  });

  test('2 for bad input, with one line: a missing file, a corrupt one, a newer format, a bad tolerance', async () => {
    const missing = await cli('diff', a, path.join(dir, 'nope.emb'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^batchproof: .*nope\.emb: no such baseline file\n$/);
    const corrupt = path.join(dir, 'corrupt.emb');
    fs.writeFileSync(corrupt, fs.readFileSync(a).subarray(0, 1000));
    const c = await cli('diff', corrupt, a);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/^batchproof: .*corrupt\.emb is not a usable embedding baseline: truncated: .*-u.*\n$/);
    const newer = path.join(dir, 'newer.emb');
    fs.writeFileSync(newer, Buffer.from(fs.readFileSync(a).toString('latin1').replace('"format":1', '"format":3'), 'latin1'));
    const v = await cli('diff', a, newer);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/newer\.emb was written in embedding baseline format 3 by a newer batchproof; this one reads format 1: upgrade batchproof/);
    expect((await cli('diff', a, same, '--tolerance', 'loose')).code).toBe(2);
  });

  test('2 for one file given twice (a link, a hard link): identical by construction, nothing compared', async () => {
    const link = path.join(dir, 'link.emb');
    const hard = path.join(dir, 'hard.emb');
    fs.symlinkSync(a, link);
    fs.linkSync(a, hard);
    for (const other of [a, link, hard]) {
      const r = await cli('diff', a, other);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^batchproof: \/.*a\.emb and .*\.emb are the same file, so they would read as identical whatever it holds; give the baseline and another file/);
      expect(r.stdout).toBe('');
    }
    // A copy is another file: bitwise equal, and said so.
    expect((await cli('diff', a, same)).code).toBe(0);
  });

  test('2 for a file of another kind, named as what it is: a JSON report, a .npy, an .npz', async () => {
    const report = path.join(dir, 'check.json');
    fs.writeFileSync(report, JSON.stringify({ schema: 1, kind: 'batch-invariance' }, null, 2));
    const tiny = path.join(dir, 'tiny.json');
    fs.writeFileSync(tiny, '{}');
    const npy = path.join(dir, 'x.npy');
    fs.writeFileSync(npy, Buffer.concat([Buffer.from('\x93NUMPY\x01\x00', 'latin1'), Buffer.alloc(64, 0x20)]));
    const npz = path.join(dir, 'x.npz');
    fs.writeFileSync(npz, Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(64)]));
    for (const [file, what] of [[report, 'a JSON file \\(a --json report\\?\\)'], [tiny, 'a JSON file'], [npy, 'a \\.npy array'], [npz, 'a zip archive']]) {
      const r = await cli('diff', file, a);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^batchproof: .*${path.basename(file).replace('.', '\\.')} is not a usable embedding baseline: ${what}.*, not an embedding baseline; give a \\.emb file that toMatchEmbeddingSnapshot wrote \\(check the path\\)`));
    }
  });

  test('a hand-edited fingerprint in a header (wrong types, not an object) reads as partly unknown: the report, never a crash', async () => {
    const edited = baseline('edited-fp.emb', nudged(base, [4, 40], 0.3), { fingerprint: { ...here, cpu: { model: 'Xeon', flags: 'avx avx2' }, numericsEnv: null, os: 5, threads: '16' } });
    const text = baseline('text-fp.emb', nudged(base, [4, 40], 0.3), { fingerprint: 'cpu, 16 threads' });
    for (const [x, y] of [[edited, a], [a, edited], [text, a], [a, text]]) {
      const r = await cli('diff', x, y, '--no-color');
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: '' });
      expect(r.stdout).toMatch(/^changed: 2 of 100 rows moved/);
    }
    const r = await cli('diff', edited, a, '--no-color');
    expect(r.stdout).toMatch(/^fingerprint differs: baseline: threads unknown, Xeon, unknown x64; now: default threads \(\d+ cores\), /m);
    expect(r.stdout).toMatch(/^fingerprint \(baseline\): onnxruntime 1\.30\.\d+, cpu, threads unknown, Xeon, unknown x64, node /m);
    // A whole fingerprint, of every provider, reads back as it was written.
    for (const f of [here, fingerprintFor({ provider: 'wasm', threads: 2 }), fingerprintFor({ provider: 'cuda', extra: { 'session.x': '1' } }, 'H100')]) {
      expect(fingerprintFromJson(JSON.parse(JSON.stringify(f)))).toEqual(f);
    }
  });

  test('different shapes: 1, with one line saying how', async () => {
    const other = baseline('other.emb', embeddings(99, 24));
    const r = await cli('diff', a, other, '--no-color');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^changed: the baseline is 100 x 24, the embeddings are 99 x 24; no rows compared/);
  });

  test('diffBaselines streams both files: tiny chunks, same report', () => {
    const untimed = (r: ReturnType<typeof diffBaselines>) => ({ ...r, timing: null });
    expect(untimed(diffBaselines(a, far, { chunkBytes: 1 }))).toEqual(untimed(diffBaselines(a, far)));
  });
});
