import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { BadInputError } from '../../src';
import {
  baselineFolder,
  checkEmbeddingSnapshot,
  createSession,
  findObsolete,
  nextKey,
  removeObsolete,
  SnapshotCheckArgs,
  undoAttempt,
  UpdateMode,
} from '../../src/snapshot/lifecycle';
import { baselineFileName, readBaseline, writeBaseline } from '../../src/snapshot/store';
import { fingerprintFor } from '../../src/runtime/fingerprint';
import { Embeddings } from '../../src/snapshot/embeddings';
import { embeddings, nudged, tempDir } from './support';

const dir = tempDir();
const base = embeddings(64, 16);
const here = fingerprintFor({});
let n = 0;

function check(file: string, e: Embeddings, mode: UpdateMode, extra: Partial<SnapshotCheckArgs> = {}) {
  return checkEmbeddingSnapshot({ file, label: path.basename(file), key: 'k 1', test: 'k', embeddings: e, mode, fingerprint: () => here, ...extra });
}
const fresh = () => path.join(dir, `case-${++n}`, 'k.emb');
const bytes = (file: string) => fs.readFileSync(file);

describe('the snapshot lifecycle, as Jest runs its own snapshots', () => {
  test('new baseline: --ci (none) fails and writes nothing', () => {
    const file = fresh();
    const o = check(file, base, 'none');
    expect(o).toMatchObject({ status: 'failed', report: null });
    expect(o.problem).toBe('no baseline k.emb: with --ci new baselines are not written; run Jest without --ci (or with -u) to write it, and commit it');
    expect(fs.existsSync(path.dirname(file))).toBe(false);
  });

  test('new baseline: a plain run (new) and -u (all) write it, counted as added', () => {
    for (const mode of ['new', 'all'] as const) {
      const file = fresh();
      expect(check(file, base, mode).status).toBe('added');
      const back = readBaseline(file);
      expect(back.embeddings.data).toEqual(base.data);
      expect(back.header).toMatchObject({ key: 'k 1', test: 'k', tolerance: { kind: 'cosine', cosine: 1e-6 } });
      expect(back.header.fingerprint).toEqual(here);
    }
  });

  test('match and drift within tolerance: matched in every mode, never rewritten (not even by -u)', () => {
    const file = fresh();
    check(file, base, 'new');
    const before = bytes(file);
    for (const mode of ['none', 'new', 'all'] as const) {
      expect(check(file, base, mode).status).toBe('matched');
      const drift = check(file, nudged(base, [2], 1e-7), mode);
      expect(drift.status).toBe('matched');
      expect(drift.report).toMatchObject({ verdict: 'within-tolerance', changedRows: 1 });
    }
    expect(bytes(file)).toEqual(before);
  });

  test('drift beyond tolerance: fails and keeps the file unless -u, which rewrites it (updated)', () => {
    const file = fresh();
    check(file, base, 'new');
    const before = bytes(file);
    const moved = nudged(base, [5, 6], 0.1);
    for (const mode of ['none', 'new'] as const) {
      const o = check(file, moved, mode, { fingerprint: () => ({ ...here, provider: 'webgpu' }) });
      expect(o.status).toBe('failed');
      expect(o.report).toMatchObject({ movedRows: 2, rows: 64 });
      expect(o.report!.fingerprint).toEqual({ baseline: 'cpu', current: 'webgpu' });
      expect(o.report!.baseline).toMatchObject({ file: 'k.emb', key: 'k 1' });
      expect(bytes(file)).toEqual(before);
    }
    expect(check(file, moved, 'all').status).toBe('updated');
    expect(readBaseline(file).embeddings.data).toEqual(moved.data);
    expect(check(file, moved, 'none').status).toBe('matched');
  });

  test('the tolerance is the call’s; the one recorded is the one used when written', () => {
    const file = fresh();
    check(file, base, 'new', { tolerance: { atol: 1e-3 } });
    expect(readBaseline(file).header.tolerance).toEqual({ kind: 'allclose', atol: 1e-3, rtol: 0 });
    expect(check(file, nudged(base, [1], 1e-4), 'none', { tolerance: { atol: 1e-3 } }).status).toBe('matched');
    expect(check(file, nudged(base, [1], 1e-4), 'none', { tolerance: 'exact' }).status).toBe('failed');
  });

  test('a corrupt or truncated baseline: fails naming the file and -u, is never rewritten without -u', () => {
    const file = fresh();
    check(file, base, 'new');
    fs.truncateSync(file, 500);
    const truncated = bytes(file);
    for (const mode of ['none', 'new'] as const) {
      const o = check(file, base, mode);
      expect(o.status).toBe('failed');
      expect(o.problem).toMatch(/^k\.emb is not a usable embedding baseline: .*rewrite it with -u/);
      expect(bytes(file)).toEqual(truncated);
    }
    expect(check(file, base, 'all').status).toBe('updated');
    expect(check(file, base, 'none').status).toBe('matched');
  });

  test('a baseline from a newer format: one line; -u rewrites it', () => {
    const file = fresh();
    check(file, base, 'new');
    fs.writeFileSync(file, Buffer.from(bytes(file).toString('latin1').replace('"format":1', '"format":2'), 'latin1'));
    const o = check(file, base, 'none');
    expect(o.problem).toMatch(/^k\.emb was written in embedding baseline format 2 by a newer batchproof .*; this one reads format 1: upgrade batchproof/);
    expect(check(file, base, 'all').status).toBe('updated');
  });

  test('bad input and bad options never touch the baseline', () => {
    const file = fresh();
    expect(() => check(file, base, 'all', { tolerance: { cosine: -1 } })).toThrow(/tolerance cosine must be a non-negative number/);
    expect(() => check(file, base, 'all', { neighbors: { k: 64 } })).toThrow(/needs more than 64 rows/);
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('keys', () => {
  test("Jest's numbering: \"<test name> <n>\" per test; an explicit name as it is", () => {
    const s = createSession('/x/a.test.ts');
    expect(nextKey(s, 'embeds')).toBe('embeds 1');
    expect(nextKey(s, 'embeds')).toBe('embeds 2');
    expect(nextKey(s, 'other')).toBe('other 1');
    expect(nextKey(s, 'other', 'catalogue v2')).toBe('catalogue v2');
  });

  test('a key used twice in a test file is an error, not a silent overwrite', () => {
    const s = createSession('/x/a.test.ts');
    nextKey(s, 'a', 'shared');
    expect(() => nextKey(s, 'b', 'shared')).toThrow('the embedding snapshot key "shared" is used twice in this test file; give each call its own name');
    expect(() => nextKey(s, 'a', 'shared')).toThrow(/used twice/);
    expect(() => nextKey(s, 'c', '')).toThrow(/name must be a non-empty string/);
  });

  test('a retried attempt starts its numbering and names again', () => {
    const s = createSession('/x/a.test.ts');
    const first = {};
    expect(nextKey(s, 't', undefined, first)).toBe('t 1');
    expect(nextKey(s, 't', 'named', first)).toBe('named');
    expect(() => nextKey(s, 't', 'named', first)).toThrow(/used twice/);
    undoAttempt(s, first);
    expect(nextKey(s, 't', undefined, first)).toBe('t 1');
    expect(nextKey(s, 't', 'named', first)).toBe('named');
  });

  test('a directory or FIFO where the baseline goes: fails in every mode naming what is in the way (the path is the matcher\'s, not the user\'s to point elsewhere), never written over', () => {
    const folder = fresh();
    fs.mkdirSync(folder, { recursive: true });
    const fifo = fresh();
    fs.mkdirSync(path.dirname(fifo), { recursive: true });
    execFileSync('mkfifo', [fifo]);
    for (const [file, kind] of [[folder, 'a directory'], [fifo, 'a pipe \\(a FIFO']] as const) {
      for (const mode of ['none', 'new', 'all'] as const) {
        const o = check(file, base, mode);
        expect(o.status).toBe('failed');
        expect(o.problem).toMatch(new RegExp(`^k\\.emb: is ${kind}.*, where this test's embedding baseline goes; move or rename it \\(batchproof never writes over it, not even with -u\\) and run the test again$`));
        expect(o.problem).not.toMatch(/point at|pass its path/);
      }
    }
    expect(fs.statSync(folder).isDirectory()).toBe(true);
    expect(fs.statSync(fifo).isFIFO()).toBe(true);
  });

  test('baseline folders: beside the test file, one per test file; or under an absolute directory', () => {
    expect(baselineFolder('/p/test/a.test.ts')).toBe('/p/test/__embeddings__/a.test.ts');
    expect(baselineFolder('/p/test/a.test.ts', 'baselines')).toBe('/p/test/baselines/a.test.ts');
    expect(baselineFolder(path.join(process.cwd(), 'test', 'a.test.ts'), '/store')).toBe('/store/test/a.test.ts');
    // Outside the test file's folder, relative or absolute: the test file's path, so two a.test.ts never share one.
    const cwd = process.cwd();
    expect(baselineFolder(path.join(cwd, 'test', 'unit', 'a.test.ts'), '../baselines')).toBe(path.join(cwd, 'test', 'baselines', 'test', 'unit', 'a.test.ts'));
    expect(baselineFolder(path.join(cwd, 'test', 'e2e', 'a.test.ts'), '../baselines')).toBe(path.join(cwd, 'test', 'baselines', 'test', 'e2e', 'a.test.ts'));
    expect(baselineFolder('/p/test/a.test.ts', 'x/../baselines')).toBe('/p/test/baselines/a.test.ts');
  });

  test("a directory that makes the baseline folder the test file itself ('.', or the working directory) is one line, not 'no such file' in every mode", () => {
    const cwd = process.cwd();
    const line = (d: string) =>
      `directory ${JSON.stringify(d)} puts this test file's baselines in a folder at the test file's own path (${path.join('test', 'a.test.ts')}); give a folder of their own, e.g. directory: 'baselines' (the default is '__embeddings__')`;
    for (const d of ['.', './', '..', cwd]) {
      expect(() => baselineFolder(path.join(cwd, 'test', 'a.test.ts'), d)).toThrow(new BadInputError(line(d)));
    }
  });
});

describe('obsolete baselines', () => {
  const meta = (key: string, test: string, testFile: string) => ({ format: 1, tolerance: null, fingerprint: null, created: '', key, test, testFile, writer: 'batchproof 0.1.0' });
  const layout = () => {
    const root = path.join(dir, `obsolete-${++n}`);
    fs.mkdirSync(root);
    for (const f of ['a.test.js', 'b.test.js']) fs.writeFileSync(path.join(root, f), '');
    const folder = (t: string) => path.join(root, '__embeddings__', t);
    const put = (t: string, key: string, test: string) => {
      const file = path.join(folder(t), baselineFileName(key));
      writeBaseline(file, base, meta(key, test, t));
      return file;
    };
    return { root, put, folder };
  };

  test('unchecked baselines are obsolete; those of skipped or failed tests are kept', () => {
    const { root, put } = layout();
    const used = put('a.test.js', 'used 1', 'used');
    const renamed = put('a.test.js', 'old name 1', 'old name');
    put('a.test.js', 'skipped 1', 'skipped');
    const s = createSession(path.join(root, 'a.test.js'));
    s.checked.add(used);
    s.keptTests.add('skipped');
    expect(findObsolete(s)).toEqual([{ file: renamed, key: 'old name 1', orphan: false, testFile: 'a.test.js' }]);
  });

  test('a corrupt file nobody checks is not ours to call obsolete: left alone, listed as ignored', () => {
    const { root, put, folder } = layout();
    put('a.test.js', 'x 1', 'x');
    const junk = path.join(folder('a.test.js'), 'junk.emb');
    fs.writeFileSync(junk, 'junk');
    const s = createSession(path.join(root, 'a.test.js'));
    s.keptTests.add('x');
    const ignored: string[] = [];
    expect(findObsolete(s, undefined, ignored)).toEqual([]);
    expect(ignored).toEqual([junk]);
  });

  test('a deleted test file leaves an orphan folder, reported once: by the first living test file', () => {
    const { root, put, folder } = layout();
    put('a.test.js', 'a 1', 'a');
    put('b.test.js', 'b 1', 'b');
    const gone = put('deleted.test.js', 'd 1', 'd');
    const a = createSession(path.join(root, 'a.test.js'));
    a.keptTests.add('a');
    const b = createSession(path.join(root, 'b.test.js'));
    b.keptTests.add('b');
    expect(findObsolete(a)).toEqual([{ file: gone, key: 'd 1', orphan: true, testFile: 'deleted.test.js' }]);
    expect(findObsolete(b)).toEqual([]);
    removeObsolete(findObsolete(a));
    expect(fs.existsSync(folder('deleted.test.js'))).toBe(false);
    expect(fs.existsSync(folder('a.test.js'))).toBe(true);
  });

  test('removing the last baseline removes the empty folders too', () => {
    const { root, put } = layout();
    put('a.test.js', 'only 1', 'only');
    const s = createSession(path.join(root, 'a.test.js'));
    removeObsolete(findObsolete(s));
    expect(fs.existsSync(path.join(root, '__embeddings__'))).toBe(false);
  });
});
