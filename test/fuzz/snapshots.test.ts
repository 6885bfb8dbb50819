/**
 * Regressions from the fuzzing pass (issue 9) for embedding snapshots and `batchproof diff`:
 * what `jest -u` may remove, non-finite values, non-regular files as baselines, and option types.
 * The lifecycle runs in real Jest child processes (it is Jest's own obsolete-snapshot
 * machinery that deletes files); everything else goes through the API, which is what the
 * matcher and the CLI call.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { SnapshotState } from 'jest-snapshot';
import { BadInputError } from '../../src/errors';
import { compareEmbeddings, EmbeddingReport, memorySource } from '../../src/snapshot/compare';
import { diffBaselines } from '../../src/snapshot/diff';
import { Embeddings, embeddingsFrom } from '../../src/snapshot/embeddings';
import { baselineFolder, checkEmbeddingSnapshot, UpdateMode } from '../../src/snapshot/lifecycle';
import { baselineFileName, openBaseline, readBaseline, writeBaseline } from '../../src/snapshot/store';
import { formatEmbeddingReport } from '../../src/snapshot/text';
import { setEmbeddingSnapshotDefaults, toMatchEmbeddingSnapshot } from '../../matchers/toMatchEmbeddingSnapshot';
import { cli } from '../helpers/cli';
import { messageText } from '../helpers/text';
import { embeddings, nudged, tempDir, values } from '../snapshot/support';

const root = path.join(__dirname, '..', '..');
const dir = tempDir('batchproof-fuzz-snapshots-');
const base = embeddings(16, 8);
const meta = (key: string, extra: object = {}) => ({ format: 1, tolerance: null, fingerprint: null, created: '2025-01-01T00:00:00.000Z', key, writer: 'batchproof 0.1.0', ...extra });
let n = 0;
const fresh = (name = 'k.emb') => path.join(dir, `case-${++n}`, name);

/** A copy with `value` at (row, column). */
function withValue(e: Embeddings, cells: [number, number, number][]): Embeddings {
  const data = e.data.slice();
  for (const [row, column, value] of cells) data[row * e.dim + column] = value;
  return { ...e, data };
}

const compare = (a: Embeddings, b: Embeddings, options?: object) => compareEmbeddings(memorySource(a), memorySource(b), options as never);

/** Throws a BadInputError whose message is one line matching `pattern`, and never prints null for NaN. */
function expectBadInput(fn: () => unknown, pattern: RegExp, nullGiven = false): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(BadInputError);
  const message = (error as Error).message;
  expect(message).toMatch(pattern);
  expect(message).not.toMatch(/\n/);
  if (!nullGiven) expect(message).not.toMatch(/\bnull\b/);
}

describe('jest -u removes only baselines batchproof wrote for that test file and key', () => {
  /**
   * A project with two test files, run by a real Jest (child process, --json for per-test
   * results), with baselines under `directory: 'baselines'` of every kind a user may keep there.
   */
  const project = path.join(dir, 'project');
  const baselines = path.join(project, 'baselines');
  const own = path.join(baselines, 'embed.test.js');
  const data = values(8, 4, 7);
  const rows = embeddingsFrom({ data, dims: [8, 4] });
  const name = (key: string) => baselineFileName(key);
  const put = (folder: string, file: string, e: Embeddings, header: object) => {
    writeBaseline(path.join(folder, file), e, header as never);
    return path.join(folder, file);
  };
  const ours = (key: string, testFile = 'embed.test.js') => meta(key, { test: key, testFile });
  // Every file that must survive both runs byte for byte, and the three that are truly obsolete.
  const kept = new Map<string, Buffer>();
  let obsolete: string[] = [];

  const jestRun = (...args: string[]) => {
    const config = {
      rootDir: project,
      testEnvironment: 'node',
      setupFilesAfterEnv: [path.join(root, 'matchers', 'jest.ts')],
      transform: { '^.+\\.ts$': [require.resolve('ts-jest'), { tsconfig: path.join(root, 'tsconfig.json'), diagnostics: false, isolatedModules: true }] },
      testTimeout: 60000,
    };
    const results = path.join(project, '..', `results-${++n}.json`);
    const r = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '--config', JSON.stringify(config), '--json', '--outputFile', results, ...args], {
      cwd: project,
      env: { ...process.env, FORCE_COLOR: '0', CI: 'true' },
      encoding: 'utf8',
      timeout: 240_000,
    });
    const output = `${r.stdout}\n${r.stderr}`;
    if (!fs.existsSync(results)) throw new Error(`jest wrote no results (exit ${r.status}):\n${output}`);
    const json = JSON.parse(fs.readFileSync(results, 'utf8'));
    const tests: Record<string, { status: string; message: string }> = {};
    for (const file of json.testResults) {
      for (const t of file.assertionResults) tests[t.title] = { status: t.status, message: t.failureMessages.join('\n') };
    }
    return { code: r.status, output, json, tests };
  };

  beforeAll(() => {
    fs.mkdirSync(project, { recursive: true });
    fs.writeFileSync(
      path.join(project, 'embed.test.js'),
      `const data = new Float32Array(${JSON.stringify(Array.from(data))});
test('kept', () => { expect({ data, dims: [8, 4] }).toMatchEmbeddingSnapshot({ directory: 'baselines', name: 'kept' }); });
test('inf in the baseline', () => { expect({ data, dims: [8, 4] }).toMatchEmbeddingSnapshot({ directory: 'baselines', name: 'inf' }); });
`,
    );
    fs.writeFileSync(
      path.join(project, 'zz-bad.test.js'),
      `const data = new Float32Array(${JSON.stringify(Array.from(data))});
test('a directory as the baseline', () => { expect({ data, dims: [8, 4] }).toMatchEmbeddingSnapshot({ name: 'a folder' }); });
test('a BigInt k', () => { expect({ data, dims: [8, 4] }).toMatchEmbeddingSnapshot({ name: 'k', neighbors: { k: 3n } }); });
test('a NaN tolerance', () => { expect({ data, dims: [8, 4] }).toMatchEmbeddingSnapshot({ name: 't', tolerance: { cosine: NaN } }); });
test('NaN embeddings', () => { const d = data.slice(); d[5] = NaN; expect({ data: d, dims: [8, 4] }).toMatchEmbeddingSnapshot({ name: 'nan' }); });
`,
    );
    const keep = (file: string) => kept.set(file, fs.readFileSync(file));
    keep(put(own, name('kept'), rows, ours('kept')));
    // Inf in the baseline, finite now: the test fails, so -u repairs it (checked separately).
    put(own, name('inf'), withValue(rows, [[2, 1, Infinity]]), ours('inf'));
    // Truly obsolete: a removed test (new header), one from before testFile was recorded, and an orphan.
    obsolete = [
      put(own, name('gone'), rows, ours('gone')),
      put(own, name('legacy gone'), rows, meta('legacy gone', { test: 'legacy gone' })),
      put(path.join(baselines, 'deleted.test.js'), name('d'), rows, ours('d', 'deleted.test.js')),
    ];
    // Not ours to remove.
    keep(put(own, 'copy-of-kept.emb', rows, ours('kept'))); // the right header, not the name its key gives
    keep(put(own, name('other'), rows, ours('other', 'other.test.js'))); // another test file's
    keep(put(own, name('tool'), rows, { ...ours('tool'), writer: 'sometool 2.0' })); // another writer
    keep(put(own, name('keyless'), rows, { format: 1, tolerance: null, fingerprint: null, created: '', writer: 'batchproof 0.1.0', testFile: 'embed.test.js' }));
    fs.writeFileSync(path.join(own, 'foreign.emb'), 'a file of another tool\n');
    keep(path.join(own, 'foreign.emb'));
    const truncated = put(own, name('truncated'), rows, ours('truncated'));
    fs.truncateSync(truncated, fs.statSync(truncated).size - 4);
    keep(truncated);
    keep(put(path.join(own, 'sub'), name('nested'), rows, ours('nested')));
    fs.mkdirSync(path.join(own, 'a-folder.emb'));
    execFileSync('mkfifo', [path.join(own, 'a-pipe.emb')]);
    // CI artifacts: genuine batchproof files of this test file, kept in a folder of their own.
    keep(put(path.join(baselines, 'ci-artifacts'), name('kept'), rows, ours('kept')));
    keep(put(path.join(baselines, 'ci-artifacts'), name('gone'), rows, meta('gone', { test: 'gone' })));
    // An old header in an orphan folder cannot say which test file it belongs to: kept.
    keep(put(path.join(baselines, 'deleted.test.js'), name('legacy orphan'), rows, meta('legacy orphan', { test: 'legacy orphan' })));
    // The baseline path of zz-bad's 'a folder' is a directory.
    fs.mkdirSync(path.join(baselineFolder(path.join(project, 'zz-bad.test.js')), name('a folder')), { recursive: true });
  });

  const untouched = () => {
    for (const [file, bytes] of kept) expect([file, fs.readFileSync(file).equals(bytes)]).toEqual([file, true]);
    expect(fs.statSync(path.join(own, 'a-folder.emb')).isDirectory()).toBe(true);
    expect(fs.statSync(path.join(own, 'a-pipe.emb')).isFIFO()).toBe(true);
  };

  test('--ci: only the three real ones are obsolete; bad options and a folder fail with one line', () => {
    const r = jestRun('--ci');
    expect(r.output).toMatch(/3 snapshots obsolete/);
    const keys: string[] = (r.json.snapshot.uncheckedKeysByFile as { keys: string[] }[]).flatMap((u) => u.keys);
    expect(keys.sort()).toEqual([
      expect.stringMatching(/^d \[embedding baseline baselines\/deleted\.test\.js\/d\.[0-9a-f]{8}\.emb, its test file is gone\]$/),
      expect.stringMatching(/^gone \[embedding baseline baselines\/embed\.test\.js\/gone\./),
      expect.stringMatching(/^legacy gone \[embedding baseline baselines\/embed\.test\.js\/legacy-gone\./),
    ]);
    expect(r.output).not.toMatch(/ci-artifacts|foreign\.emb|copy-of-kept|a-pipe|EISDIR|TypeError/);
    expect(r.tests['kept'].status).toBe('passed');
    expect(r.tests['inf in the baseline'].status).toBe('failed');
    expect(r.tests['inf in the baseline'].message).toMatch(/rows with NaN or ±Inf .*: baseline 1 row \(row 2; 1 \+Inf\); now none/);
    expect(r.tests['a directory as the baseline'].message).toMatch(/__embeddings__\/zz-bad\.test\.js\/a-folder\.[0-9a-f]{8}\.emb: is a directory, where this test's embedding baseline goes; move or rename it \(batchproof never writes over it, not even with -u\)/);
    expect(r.tests['a BigInt k'].message).toMatch(/BadInputError: toMatchEmbeddingSnapshot: neighbors must be \{ k \} with k a positive whole number, got \{"k":3n\}/);
    expect(r.tests['a NaN tolerance'].message).toMatch(/BadInputError: toMatchEmbeddingSnapshot: tolerance cosine must be a non-negative number, got NaN/);
    expect(r.code).toBe(1);
    for (const file of obsolete) expect(fs.existsSync(file)).toBe(true);
    untouched();
  });

  test('-u: removes the three, repairs the Inf baseline, writes no NaN baseline, leaves everything else', () => {
    const r = jestRun('--ci', '-u');
    expect(r.output).toMatch(/3 snapshots removed/);
    expect(r.tests['inf in the baseline'].status).toBe('passed');
    expect(readBaseline(path.join(own, name('inf'))).embeddings.data).toEqual(data);
    expect(r.tests['NaN embeddings'].message).toMatch(/not written: the embeddings hold NaN in 1 of 8 rows \(row 1\), and NaN matches nothing/);
    expect(fs.readdirSync(baselineFolder(path.join(project, 'zz-bad.test.js')))).toEqual([name('a folder')]);
    expect(r.tests['a directory as the baseline'].message).toMatch(/is a directory/);
    for (const file of obsolete) expect(fs.existsSync(file)).toBe(false);
    untouched();
  });
});

describe('the header records the test file; old headers without it still read', () => {
  test('a new baseline names its test file; one written before (no testFile) still matches and is not rewritten', () => {
    const file = path.join(baselineFolder(path.join(dir, 'compat', 'c.test.ts')), baselineFileName('c 1'));
    const args = { file, label: 'c.emb', key: 'c 1', test: 'c', embeddings: base, fingerprint: () => null };
    expect(checkEmbeddingSnapshot({ ...args, mode: 'new' }).status).toBe('added');
    expect(readBaseline(file).header).toMatchObject({ format: 1, key: 'c 1', test: 'c', testFile: 'c.test.ts', writer: expect.stringMatching(/^batchproof /) });
    writeBaseline(file, base, meta('c 1', { test: 'c' }));
    const before = fs.readFileSync(file);
    for (const mode of ['none', 'all'] as const) expect(checkEmbeddingSnapshot({ ...args, mode }).status).toBe('matched');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });
});

describe('non-finite values are a difference unless they are the same infinity', () => {
  const inf = withValue(base, [[3, 2, Infinity]]);
  const negInf = withValue(base, [[3, 2, -Infinity]]);
  const nan = withValue(base, [[5, 0, NaN]]);

  test('a new +Inf against a finite baseline fails, under every tolerance, reported by row and side', () => {
    for (const tolerance of [undefined, { cosine: 1 }, { atol: 1e30 }, { ulp: 1e9 }, 'exact', 'default']) {
      const r = compare(base, inf, { tolerance });
      expect([tolerance, r.pass, r.movedRows, r.nonFiniteRows]).toEqual([tolerance, false, 1, 1]);
      expect(r.current).toMatchObject({ nonFiniteRows: 1, nonFiniteRowIndices: [3], nonFiniteValues: { nan: 0, posInf: 1, negInf: 0 } });
      expect(r.baseline).toMatchObject({ nonFiniteRows: 0 });
      expect(r.worst[0]).toMatchObject({ row: 3, pass: false, nonFinite: 'current' });
      expect(r.nonFinite).toEqual([{ row: 3, baseline: { nan: 0, posInf: 0, negInf: 0 }, current: { nan: 0, posInf: 1, negInf: 0 }, pass: false }]);
    }
    const text = formatEmbeddingReport(compare(base, inf), { color: false });
    expect(text).toMatch(/^changed: 1 of 16 rows moved beyond cosine distance<=1e-6, 1 of them for NaN or ±Inf/);
    expect(text).toMatch(/rows with NaN or ±Inf .*: baseline none; now 1 row \(row 3; 1 \+Inf\)\n  row 3: baseline finite, now 1 \+Inf: fails/);
    expect(text).toMatch(/no tolerance passes: 1 row fails for NaN or ±Inf/);
    expect(text).not.toMatch(/smallest tolerance that passes/);
  });

  test('Inf in the baseline against finite now fails too (so -u rewrites it); -Inf against +Inf fails', () => {
    expect(compare(inf, base)).toMatchObject({ pass: false, nonFiniteRows: 1, worst: [expect.objectContaining({ row: 3, nonFinite: 'baseline' })] });
    expect(compare(inf, negInf, { tolerance: { atol: 1e30 } })).toMatchObject({ pass: false, nonFiniteRows: 1, worst: [expect.objectContaining({ nonFinite: 'both' })] });
    const file = fresh();
    const args = { file, label: 'k.emb', key: 'k', embeddings: inf, fingerprint: () => null };
    expect(checkEmbeddingSnapshot({ ...args, mode: 'new' }).status).toBe('added');
    const failed = checkEmbeddingSnapshot({ ...args, embeddings: base, mode: 'none' });
    expect(failed.status).toBe('failed');
    expect(checkEmbeddingSnapshot({ ...args, embeddings: base, mode: 'all' }).status).toBe('updated');
    expect(readBaseline(file).embeddings.data).toEqual(base.data);
  });

  test('the same infinity at the same place is the same value: equal under every tolerance', () => {
    for (const tolerance of [undefined, 'exact', { atol: 0 }, { ulp: 0 }]) {
      expect(compare(inf, { ...inf, data: inf.data.slice() }, { tolerance })).toMatchObject({ pass: true, verdict: 'identical', nonFiniteRows: 0 });
    }
    // The rest of the row drifts: atol and ulp compare the finite part; cosine of ±Inf is undefined.
    const drift = nudged(inf, [3], 1e-7);
    expect(compare(inf, drift, { tolerance: { atol: 1e-3 } })).toMatchObject({ pass: true, verdict: 'within-tolerance' });
    expect(compare(inf, drift, { tolerance: { cosine: 1 } })).toMatchObject({ pass: false, nonFiniteRows: 1 });
  });

  test('NaN never equals: not a NaN at the same place, not under exact, not in diff, and never written', () => {
    for (const tolerance of [undefined, 'exact', { atol: 1 }, { ulp: 1e9 }]) {
      const r = compare(nan, { ...nan, data: nan.data.slice() }, { tolerance });
      expect([tolerance, r.pass, r.verdict, r.nonFiniteRows]).toEqual([tolerance, false, 'changed', 1]);
    }
    const a = fresh('a.emb');
    const b = fresh('b.emb');
    writeBaseline(a, nan, meta('a'));
    writeBaseline(b, nan, meta('b'));
    expect(diffBaselines(a, b)).toMatchObject({ pass: false, nonFiniteRows: 1, baseline: { nanRows: 1, nanRowIndices: [5] } });
    for (const mode of ['new', 'all'] as UpdateMode[]) {
      const file = fresh();
      const o = checkEmbeddingSnapshot({ file, label: 'k.emb', key: 'k', embeddings: nan, mode, fingerprint: () => null });
      expect(o.status).toBe('failed');
      expect(o.problem).toBe('k.emb not written: the embeddings hold NaN in 1 of 16 rows (row 5), and NaN matches nothing, so that baseline could never pass; fix what produces the NaN');
      expect(fs.existsSync(file)).toBe(false);
    }
  });

  test('batchproof diff: exit 1 and the rows, for Inf in either file', async () => {
    const a = fresh('a.emb');
    const b = fresh('b.emb');
    writeBaseline(a, base, meta('a'));
    writeBaseline(b, negInf, meta('b'));
    for (const [x, y, side] of [[a, b, 'now 1 row \\(row 3; 1 -Inf\\)'], [b, a, 'baseline 1 row \\(row 3; 1 -Inf\\)']]) {
      const r = await cli('diff', x, y, '--no-color', '--tolerance', 'atol=1e30');
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(new RegExp(side));
    }
  });

  test('neighbours leave rows with ±Inf out, as rows with NaN', () => {
    expect(compare(base, inf, { neighbors: { k: 2 } }).neighbors!.comparedRows).toBe(15);
  });

  test('negative controls: a finite drift still fails, identical finite rows still pass', () => {
    expect(compare(base, nudged(base, [4], 0.3))).toMatchObject({ pass: false, movedRows: 1, nonFiniteRows: 0 });
    expect(compare(base, { ...base, data: base.data.slice() })).toMatchObject({ pass: true, verdict: 'identical' });
  });
});

describe('a directory, FIFO or other non-regular file as a baseline: one line, no hang', () => {
  const folder = path.join(dir, 'special');
  const fifo = path.join(folder, 'pipe.emb');
  const good = path.join(folder, 'good.emb');
  beforeAll(() => {
    fs.mkdirSync(path.join(folder, 'sub.emb'), { recursive: true });
    execFileSync('mkfifo', [fifo]);
    writeBaseline(good, base, meta('good'));
    fs.symlinkSync(path.join(folder, 'nowhere'), path.join(folder, 'dangling.emb'));
  });

  test('openBaseline and diffBaselines', () => {
    expectBadInput(() => openBaseline(folder), /special: is a directory, not a baseline file; point at a file inside it$/);
    expectBadInput(() => openBaseline(fifo), /pipe\.emb: is a pipe \(a FIFO or a process substitution such as <\(\.\.\.\)\), not a regular file/);
    expectBadInput(() => diffBaselines(folder, good), /is a directory/);
    expectBadInput(() => diffBaselines(good, fifo), /is a pipe/);
    expectBadInput(() => openBaseline(path.join(folder, 'dangling.emb')), /dangling\.emb: no such file/);
  });

  test('batchproof diff dir/ b.emb: exit 2, one line, no internal error', async () => {
    for (const args of [[folder, good], [good, fifo], [path.join(folder, 'sub.emb'), good]]) {
      const r = await cli('diff', ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^batchproof: .*: is (a directory|a pipe)[^\n]*\n$/);
      expect(r.stderr).not.toMatch(/internal error|EISDIR/);
    }
  });

  test('the matcher: fails with the line in every mode, never writes over it (not even -u)', () => {
    const testPath = path.join(dir, 'special-project', 'x.test.ts');
    const target = path.join(baselineFolder(testPath), baselineFileName('emb 1'));
    fs.mkdirSync(target, { recursive: true });
    for (const mode of ['none', 'new', 'all'] as const) {
      const state = new SnapshotState(path.join(dir, 'x.snap'), { updateSnapshot: mode, snapshotFormat: {}, rootDir: dir });
      const r = toMatchEmbeddingSnapshot.call({ testPath, currentTestName: 'emb', snapshotState: state as never }, { data: base.data, dims: [16, 8] });
      expect(r.pass).toBe(false);
      expect(messageText(r)).toMatch(/emb-1\.[0-9a-f]{8}\.emb: is a directory, where this test's embedding baseline goes; move or rename it/);
      expect(fs.statSync(target).isDirectory()).toBe(true);
    }
  });

  test('negative control: a regular baseline still opens and compares', () => {
    // Another file with the same bytes: one file given twice compares nothing and is refused.
    const copy = path.join(folder, 'good-copy.emb');
    fs.copyFileSync(good, copy);
    expect(diffBaselines(good, copy)).toMatchObject({ pass: true, verdict: 'identical' });
  });
});

describe('options of the wrong kind: one BadInputError line, NaN and Infinity printed as such', () => {
  const a = fresh('a.emb');
  const b = fresh('b.emb');
  beforeAll(() => {
    writeBaseline(a, base, meta('a'));
    writeBaseline(b, base, meta('b'));
  });
  const bad: [string, object | null, RegExp][] = [
    ['BigInt k', { neighbors: { k: 3n } }, /neighbors must be \{ k \} with k a positive whole number, got \{"k":3n\}/],
    ['fractional k', { neighbors: { k: 1.5 } }, /neighbors must be .*got \{"k":1\.5\}/],
    ['NaN k', { neighbors: { k: NaN } }, /neighbors must be .*got \{"k":NaN\}/],
    ['neighbors: 3', { neighbors: 3 }, /neighbors must be .*got 3/],
    ['NaN cosine', { tolerance: { cosine: NaN } }, /tolerance cosine must be a non-negative number, got NaN/],
    ['Infinity atol', { tolerance: { atol: Infinity } }, /tolerance atol must be a non-negative number, got Infinity/],
    ['negative ulp', { tolerance: { ulp: -1 } }, /tolerance ulp must be a non-negative number, got -1/],
    ['BigInt cosine', { tolerance: { cosine: 1n } }, /tolerance cosine must be a non-negative number, got 1n/],
    ['NaN tolerance', { tolerance: NaN }, /tolerance atol must be a non-negative number, got NaN/],
    ['BigInt tolerance', { tolerance: 5n }, /unknown tolerance 5n/],
    ['NaN chunkBytes', { chunkBytes: NaN }, /chunkBytes must be a positive whole number of bytes, got NaN/],
    ['null options', null, /options must be an object like .*got null/],
  ];

  test.each(bad)('compareEmbeddings and diffBaselines: %s', (_label, options, pattern) => {
    expectBadInput(() => compare(base, base, options as object), pattern, options === null);
    expectBadInput(() => diffBaselines(a, b, options as never), pattern, options === null);
  });

  test('diffBaselines: a damaged tolerance in the header blames the file; --tolerance still works', () => {
    const damaged = fresh('damaged.emb');
    writeBaseline(damaged, base, meta('damaged', { tolerance: { kind: 'cosine', cosine: -1 } }));
    expectBadInput(() => diffBaselines(damaged, b), /damaged\.emb: the tolerance recorded in its header \(\{"kind":"cosine","cosine":-1\}\) is not valid; pass one with --tolerance/);
    expect(diffBaselines(damaged, b, { tolerance: 'exact' }).pass).toBe(true);
  });

  test('compareEmbeddings: a source that is not one, and options that are not an object', () => {
    expectBadInput(() => compareEmbeddings(5 as never, memorySource(base)), /the baseline must be a row source/);
    expectBadInput(() => compareEmbeddings(memorySource(base), memorySource(base), 5n as never), /options must be an object .*got 5n/);
    expectBadInput(() => diffBaselines(5 as never, b), /the first baseline must be the path of a \.emb file, got 5/);
  });

  const testPath = path.join(dir, 'opts-project', 'o.test.ts');
  const matcher = (received: unknown, options: unknown) => {
    const state = new SnapshotState(path.join(dir, 'o.snap'), { updateSnapshot: 'new', snapshotFormat: {}, rootDir: dir });
    return toMatchEmbeddingSnapshot.call({ testPath, currentTestName: `o ${++n}`, snapshotState: state as never }, received, options as never);
  };
  const input = { data: base.data, dims: [16, 8] };
  const matcherBad: [string, unknown, unknown, RegExp][] = [
    ['BigInt k', input, { neighbors: { k: 3n } }, /^toMatchEmbeddingSnapshot: neighbors must be .*got \{"k":3n\}/],
    ['NaN k', input, { neighbors: { k: NaN } }, /got \{"k":NaN\}/],
    ['1.5 k', input, { neighbors: { k: 1.5 } }, /got \{"k":1\.5\}/],
    ['Infinity cosine', input, { tolerance: { cosine: Infinity } }, /^toMatchEmbeddingSnapshot: tolerance cosine must be a non-negative number, got Infinity/],
    ['negative atol', input, { tolerance: { atol: -1 } }, /tolerance atol must be a non-negative number, got -1/],
    ['dims [4.5, 8]', base.data, { dims: [4.5, 8] }, /^toMatchEmbeddingSnapshot: dims must hold whole numbers \(no holes\), got \[4\.5,8\]/],
    ['dims [NaN, 8]', base.data, { dims: [NaN, 8] }, /dims must hold whole numbers .*got \[NaN,8\]/],
    ['dims beside rows that disagree', [[1, 2], [3, 4]], { dims: [4, 1] }, /dims \[4, 1\] do not match the 2 x 2 rows given/],
    ['name: 5', input, { name: 5 }, /^toMatchEmbeddingSnapshot: name must be a non-empty string, got 5/],
    ['name: NaN', input, { name: NaN }, /name must be a non-empty string, got NaN/],
    ['directory: 5', input, { directory: 5 }, /^toMatchEmbeddingSnapshot: directory must be a folder path \(a non-empty string\), got 5/],
    ['options: null', input, null, /^toMatchEmbeddingSnapshot: options must be an object like .*got null/],
    ['options: 5n', input, 5n, /options must be an object .*got 5n/],
    ['fingerprint: 5', input, { fingerprint: 5 }, /fingerprint must be a fingerprint object/],
  ];

  test.each(matcherBad)('toMatchEmbeddingSnapshot: %s, and nothing written', (_label, received, options, pattern) => {
    const before = fs.existsSync(baselineFolder(testPath)) ? fs.readdirSync(baselineFolder(testPath)).length : 0;
    expectBadInput(() => matcher(received, options), pattern, options === null);
    expect(fs.existsSync(baselineFolder(testPath)) ? fs.readdirSync(baselineFolder(testPath)).length : 0).toBe(before);
  });

  test('setEmbeddingSnapshotDefaults checks the same types', () => {
    expectBadInput(() => setEmbeddingSnapshotDefaults({ directory: 5 } as never), /^setEmbeddingSnapshotDefaults: directory must be a folder path/);
    expectBadInput(() => setEmbeddingSnapshotDefaults({ tolerance: { cosine: NaN } } as never), /got NaN/);
    setEmbeddingSnapshotDefaults({});
  });

  test('negative controls: good options still run, a real difference still fails', () => {
    const good = compare(base, nudged(base, [1], 0.3), { neighbors: { k: 3 }, tolerance: { cosine: 1e-6 }, chunkBytes: 64 });
    expect(good).toMatchObject({ pass: false, movedRows: 1 });
    expect(matcher(input, { neighbors: { k: 3 }, dims: [16, 8], name: 'fine', directory: 'b' }).pass).toBe(true);
    const report: EmbeddingReport = diffBaselines(a, b, { tolerance: 'exact', neighbors: { k: 2 } });
    expect(report.pass).toBe(true);
  });
});
