import * as fs from 'fs';
import { messageText } from '../helpers/text';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { SnapshotState } from 'jest-snapshot';
import { expect as globalsExpect } from '@jest/globals';
import { installEmbeddingSnapshotHooks, setEmbeddingSnapshotDefaults, toMatchEmbeddingSnapshot, updateModeOf } from '../../matchers/toMatchEmbeddingSnapshot';
import { baselineFolder } from '../../src/snapshot/lifecycle';
import { baselineFileName, readBaseline, writeBaseline } from '../../src/snapshot/store';
import { fingerprintFor } from '../../src/runtime/fingerprint';
import { embeddings, nudged, tempDir, values } from './support';

const dir = tempDir();
const base = embeddings(64, 16);
const input = { data: base.data, dims: [64, 16] };
const here = fingerprintFor({});
let n = 0;

/** A real Jest snapshot state (what jest-circus gives each test file), in one update mode. */
function jestState(mode: 'all' | 'new' | 'none') {
  return new SnapshotState(path.join(dir, '__snapshots__', 'x.snap'), { updateSnapshot: mode, snapshotFormat: {}, rootDir: dir });
}

/** A test file of our own in a fresh folder; its baselines go beside it, as by default. */
function testFile() {
  const testPath = path.join(dir, `project-${++n}`, 'fake.test.ts');
  return { directory: undefined, testPath, folder: baselineFolder(testPath) };
}

function run(state: SnapshotState, testPath: string, testName: string, received: unknown, options: object) {
  const context = { testPath, currentTestName: testName, snapshotState: state as never, isNot: false, promise: '' };
  return toMatchEmbeddingSnapshot.call(context, received, options as never);
}

const counts = (s: SnapshotState) => ({ added: s.added, matched: s.matched, unmatched: s.unmatched, updated: s.updated });

describe('toMatchEmbeddingSnapshot on the global expect', () => {
  test('is registered by batchproof/jest and synchronous', () => {
    // Baselines written beforehand, so the result does not depend on --ci.
    const directory = path.join(dir, 'global');
    for (const name of ['pinned', 'pinned, drifted']) {
      const file = path.join(baselineFolder(__filename, directory), baselineFileName(name));
      writeBaseline(file, base, { format: 1, tolerance: null, fingerprint: here, created: '' });
    }
    const result = expect(input).toMatchEmbeddingSnapshot({ directory, name: 'pinned' });
    expect(result).toBeUndefined();
    expect({ data: nudged(base, [3], 1e-7).data, dims: [64, 16] }).toMatchEmbeddingSnapshot({ directory, name: 'pinned, drifted' });
  });
});

test('types: on the global expect and on @jest/globals, options checked', () => {
  // Compiled, never run: the @ts-expect-error lines fail type-checking if the types are lost.
  const typed = () => {
    expect([[1, 2]]).toMatchEmbeddingSnapshot({ tolerance: { ulp: 4 }, neighbors: { k: 5 }, name: 'x', directory: 'baselines' });
    globalsExpect(new Float32Array(4)).toMatchEmbeddingSnapshot({ dims: [2, 2], tolerance: 'exact' });
    // @ts-expect-error k is a number
    expect([[1]]).toMatchEmbeddingSnapshot({ neighbors: { k: 'five' } });
    // @ts-expect-error the name is a string
    globalsExpect([[1]]).toMatchEmbeddingSnapshot({ name: 3 });
  };
  expect(typeof typed).toBe('function');
});

describe('toMatchEmbeddingSnapshot with a real Jest snapshot state', () => {
  test('new baseline: counted as added, written under <directory>/<test file>/', () => {
    const { directory, testPath, folder } = testFile();
    const state = jestState('new');
    expect(run(state, testPath, 'embeds', input, { directory }).pass).toBe(true);
    expect(counts(state)).toEqual({ added: 1, matched: 0, unmatched: 0, updated: 0 });
    expect(fs.readdirSync(folder)).toEqual([baselineFileName('embeds 1')]);
  });

  test('--ci: a new baseline fails, counted as Jest counts it (unmatched), and nothing is written', () => {
    const { directory, testPath, folder } = testFile();
    const state = jestState('none');
    const r = run(state, testPath, 'embeds', input, { directory });
    expect(r.pass).toBe(false);
    expect(messageText(r)).toMatch(/toMatchEmbeddingSnapshot[\s\S]*no baseline .*embeds-1\.[0-9a-f]{8}\.emb: with --ci new baselines are not written/);
    expect(counts(state)).toEqual({ added: 0, matched: 0, unmatched: 1, updated: 0 });
    expect(fs.existsSync(folder)).toBe(false);
  });

  test('match, then drift beyond: the message says how many rows, the worst ones, the fingerprint, and the cure', () => {
    const { directory, testPath } = testFile();
    run(jestState('new'), testPath, 'embeds', input, { directory, fingerprint: { ...here, provider: 'webgpu', threads: 16 } });
    const state = jestState('none');
    expect(run(state, testPath, 'embeds', input, { directory }).pass).toBe(true);
    const moved = nudged(base, [9, 33], 0.2);
    const r = run(jestState('none'), testPath, 'embeds', { data: moved.data, dims: [64, 16] }, { directory, fingerprint: { ...here, threads: 2 } });
    expect(r.pass).toBe(false);
    const message = messageText(r);
    expect(message).toMatch(/expect\(embeddings\)\.toMatchEmbeddingSnapshot\(\)/);
    expect(message).toMatch(/changed: 2 of 64 rows moved beyond cosine distance<=1e-6/);
    expect(message).toMatch(/worst rows:\n +row +cosine distance +max abs +max ULP +within\n +(9|33) /);
    expect(message).toMatch(/fingerprint differs: baseline: webgpu, 16 threads; now: cpu, 2 threads/);
    // Both whole fingerprints when they differ.
    expect(message).toMatch(/^fingerprint \(baseline\): onnxruntime 1\.30\.\d+, webgpu, 16 threads, /m);
    expect(message).toMatch(/^fingerprint \(now\): onnxruntime 1\.30\.\d+, cpu, 2 threads, /m);
    expect(message).toMatch(/run your test runner with -u \(jest -u, vitest -u\) to accept/);
    expect(counts(state)).toMatchObject({ matched: 1 });
  });

  test('every failure message says what produced the embeddings, even when nothing differs from the baseline', () => {
    const { directory, testPath } = testFile();
    run(jestState('new'), testPath, 'embeds', input, { directory });
    const moved = nudged(base, [2], 0.2);
    const message = messageText(run(jestState('none'), testPath, 'embeds', { data: moved.data, dims: [64, 16] }, { directory }));
    expect(message).toMatch(/changed: 1 of 64 rows moved/);
    expect(message).not.toMatch(/fingerprint differs/);
    expect(message).toMatch(/^fingerprint: onnxruntime 1\.30\.\d+, cpu, default threads \(\d+ cores\), /m);
    // No report to show (a new baseline under --ci): the line is there too.
    const ci = messageText(run(jestState('none'), testFile().testPath, 'embeds', input, { directory }));
    expect(ci).toMatch(/with --ci new baselines are not written[\s\S]*\nfingerprint: onnxruntime 1\.30\.\d+, cpu, /);
  });

  test('-u: a failing baseline is rewritten and counted as updated; a passing one is left alone', () => {
    const { directory, testPath, folder } = testFile();
    run(jestState('new'), testPath, 'embeds', input, { directory });
    const file = path.join(folder, baselineFileName('embeds 1'));
    const state = jestState('all');
    const before = fs.statSync(file).mtimeMs;
    expect(run(state, testPath, 'embeds', input, { directory }).pass).toBe(true);
    expect(fs.statSync(file).mtimeMs).toBe(before);
    const moved = nudged(base, [1], 0.5);
    const state2 = jestState('all');
    expect(run(state2, testPath, 'embeds', { data: moved.data, dims: [64, 16] }, { directory }).pass).toBe(true);
    expect(counts(state2)).toEqual({ added: 0, matched: 0, unmatched: 0, updated: 1 });
    expect(readBaseline(file).embeddings.data).toEqual(moved.data);
  });

  test('a corrupt baseline fails naming the file and -u, and is left as it is', () => {
    const { directory, testPath, folder } = testFile();
    run(jestState('new'), testPath, 'embeds', input, { directory });
    const file = path.join(folder, baselineFileName('embeds 1'));
    const size = fs.statSync(file).size - 100;
    fs.truncateSync(file, size);
    const r = run(jestState('new'), testPath, 'embeds', input, { directory });
    expect(r.pass).toBe(false);
    expect(messageText(r)).toMatch(new RegExp(`embeds-1\\.[0-9a-f]{8}\\.emb is not a usable embedding baseline: truncated: 64 x 16 float32 needs \\d+ bytes but the file has ${size}; rewrite it with -u`));
    expect(fs.statSync(file).size).toBe(size);
  });

  test('a baseline whose header fingerprint was hand-edited (wrong types): a failure message, never a TypeError', () => {
    const { directory, testPath, folder } = testFile();
    const file = path.join(folder, baselineFileName('embeds 1'));
    writeBaseline(file, base, { format: 1, tolerance: null, fingerprint: { ...here, cpu: { model: 'Xeon', flags: 'avx' }, numericsEnv: null } as never, created: '' });
    const moved = nudged(base, [2], 0.2);
    const r = run(jestState('none'), testPath, 'embeds', { data: moved.data, dims: [64, 16] }, { directory });
    expect(r.pass).toBe(false);
    expect(messageText(r)).toMatch(/changed: 1 of 64 rows moved[\s\S]*^fingerprint \(baseline\): onnxruntime 1\.30\.\d+, cpu, default threads \(\d+ cores\), Xeon, linux /m);
    // The same for a `fingerprint` option of the wrong shape.
    const option = run(jestState('none'), testPath, 'embeds', { data: moved.data, dims: [64, 16] }, { directory, fingerprint: { provider: 'wasm', cpu: { flags: 3 } } });
    expect(messageText(option)).toMatch(/^fingerprint \(now\): onnxruntime unknown, wasm, threads unknown, unknown cpu, /m);
  });

  test('keys: one per call, numbered per test; name pins one', () => {
    const { directory, testPath, folder } = testFile();
    const state = jestState('new');
    run(state, testPath, 'a', input, { directory });
    run(state, testPath, 'a', input, { directory });
    run(state, testPath, 'b', input, { directory, name: 'catalogue' });
    expect(fs.readdirSync(folder).sort()).toEqual([baselineFileName('a 1'), baselineFileName('a 2'), baselineFileName('catalogue')].sort());
  });

  test('every input form: bare array + dims, number[][], an onnxruntime Tensor', () => {
    const { directory, testPath } = testFile();
    const state = jestState('new');
    expect(run(state, testPath, 'x', values(4, 3), { directory, dims: [4, 3] }).pass).toBe(true);
    expect(run(state, testPath, 'x', [[1, 2], [3, 4]], { directory }).pass).toBe(true);
    expect(run(state, testPath, 'x', new ort.Tensor('float32', values(6, 4), [2, 3, 4]), { directory }).pass).toBe(true);
    expect(state.added).toBe(3);
  });

  test('bad input and options: one line, nothing counted', () => {
    const { directory, testPath } = testFile();
    const state = jestState('new');
    expect(() => run(state, testPath, 'x', [[1, 2], [3]], { directory })).toThrow('ragged embeddings: row 1 has 1 values, row 0 has 2; every row needs the same length');
    expect(() => run(state, testPath, 'x', input, { directory, tolerence: 1 })).toThrow(/^toMatchEmbeddingSnapshot: unknown option 'tolerence' \(did you mean 'tolerance'\?\); the options are: tolerance, neighbors/);
    expect(() => run(state, testPath, 'x', input, 'exact' as never)).toThrow(/options must be an object/);
    expect(() => setEmbeddingSnapshotDefaults({ directry: 'x' } as never)).toThrow(/^setEmbeddingSnapshotDefaults: unknown option 'directry' \(did you mean 'directory'\?\)/);
    expect(() => toMatchEmbeddingSnapshot.call({ isNot: true, testPath, currentTestName: 'x' }, input)).toThrow('toMatchEmbeddingSnapshot cannot be used with .not');
    expect(counts(state)).toEqual({ added: 0, matched: 0, unmatched: 0, updated: 0 });
  });
});

describe('the update mode', () => {
  test("is read from Jest's snapshot state", () => {
    for (const mode of ['all', 'new', 'none'] as const) expect(updateModeOf(jestState(mode) as never)).toBe(mode);
  });

  test("without one, Jest's own rule: --ci when CI is set", () => {
    const ci = process.env.CI;
    try {
      process.env.CI = 'true';
      expect(updateModeOf(undefined)).toBe('none');
      delete process.env.CI;
      expect(updateModeOf({})).toBe('new');
    } finally {
      if (ci === undefined) delete process.env.CI;
      else process.env.CI = ci;
    }
  });
});

describe("obsolete baselines through Jest's own obsolete-snapshot calls", () => {
  /** What jest-circus does after a test file's last test (runner.ts, _addSnapshotData). */
  function endOfFile(state: SnapshotState, skippedOrFailed: string[]) {
    for (const name of skippedOrFailed) state.markSnapshotsAsCheckedForTest(name);
    const count = state.getUncheckedCount();
    const keys = state.getUncheckedKeys();
    if (count) state.removeUncheckedKeys();
    return { count, keys };
  }

  function setup(mode: 'all' | 'new' | 'none') {
    const { directory, testPath, folder } = testFile();
    const writer = jestState('new');
    for (const name of ['kept', 'renamed', 'skipped']) run(writer, testPath, name, input, { directory });
    const state = jestState(mode);
    installEmbeddingSnapshotHooks({ getState: () => ({ snapshotState: state, testPath }) });
    return { state, testPath, directory, folder };
  }

  test('an unchecked baseline is counted and listed like an obsolete Jest snapshot; a skipped test keeps its own', () => {
    const { state, testPath, directory, folder } = setup('new');
    run(state, testPath, 'kept', input, { directory });
    const { count, keys } = endOfFile(state, ['skipped']);
    expect(count).toBe(1);
    expect(keys).toEqual([expect.stringMatching(/^renamed 1 \[embedding baseline .*renamed-1\.[0-9a-f]{8}\.emb\]$/)]);
    expect(fs.readdirSync(folder)).toHaveLength(3);
  });

  test('-u removes it', () => {
    const { state, testPath, directory, folder } = setup('all');
    run(state, testPath, 'kept', input, { directory });
    expect(endOfFile(state, ['skipped']).count).toBe(1);
    expect(fs.readdirSync(folder).sort()).toEqual([baselineFileName('kept 1'), baselineFileName('skipped 1')].sort());
  });

  test("a shared folder outside the test files' folders (directory '../baselines'): two embed.test.ts never share or remove each other's baselines", () => {
    const root = path.join(dir, `shared-${++n}`);
    const unit = path.join(root, 'unit', 'embed.test.ts');
    const e2e = path.join(root, 'e2e', 'embed.test.ts');
    const directory = '../baselines';
    const writer = jestState('new');
    run(writer, unit, 'embeds', input, { directory });
    run(writer, unit, 'unit only', input, { directory });
    const other = embeddings(64, 16, 7);
    const state = jestState('all');
    installEmbeddingSnapshotHooks({ getState: () => ({ snapshotState: state, testPath: e2e }) });
    // Its own baseline, not the unit test's: added, not compared with other embeddings.
    expect(run(state, e2e, 'embeds', { data: other.data, dims: [64, 16] }, { directory }).pass).toBe(true);
    expect(counts(state)).toMatchObject({ added: 1, updated: 0 });
    expect(endOfFile(state, []).count).toBe(0);
    expect(baselineFolder(unit, directory)).not.toBe(baselineFolder(e2e, directory));
    const unitFiles = fs.readdirSync(baselineFolder(unit, directory)).sort();
    expect(unitFiles).toEqual([baselineFileName('embeds 1'), baselineFileName('unit only 1')].sort());
    expect(readBaseline(path.join(baselineFolder(unit, directory), baselineFileName('embeds 1'))).embeddings.data).toEqual(input.data);
  });

  test('with no embedding calls at all in the file, all its baselines are obsolete', () => {
    const { state } = setup('none');
    expect(endOfFile(state, []).count).toBe(3);
  });
});
