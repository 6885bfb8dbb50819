import fs = require('fs');
import path = require('path');
import { BadInputError, formatValue } from '../errors';
import { resolveTolerance, Tolerance } from '../compare/tolerance';
import type { Fingerprint } from '../runtime/fingerprint';
import { tool } from '../version';
import { describeKind } from '../io/paths';
import { compareEmbeddings, DEFAULT_EMBEDDING_TOLERANCE, describeSides, EmbeddingReport, memorySource } from './compare';
import type { Embeddings } from './embeddings';
import { BaselineFileError, FORMAT_VERSION } from './format';
import { checkNeighborOption } from './neighbors';
import { BaselineReader, baselineFileName, isOwnBaseline, listBaselineFiles, openBaseline, readBaselineHeader, removeBaseline, writeBaseline } from './store';

/**
 * Jest's three snapshot modes: `-u` rewrites ('all'), a plain run writes only new baselines
 * ('new'), `--ci` writes nothing ('none').
 */
export type UpdateMode = 'all' | 'new' | 'none';

/** The default folder for baselines, beside the test file. */
export const DEFAULT_DIRECTORY = '__embeddings__';

/** What one `toMatchEmbeddingSnapshot` call did. */
export interface SnapshotOutcome {
  status: 'matched' | 'added' | 'updated' | 'failed';
  file: string;
  /** The comparison, when there was a usable baseline. */
  report: EmbeddingReport | null;
  /** Why it failed when there is no report to show (not written under --ci, a bad file). */
  problem: string | null;
}

export interface SnapshotCheckArgs {
  file: string;
  /** The file as messages name it (relative to the working directory). */
  label: string;
  key: string;
  test?: string;
  /** The test file's name, recorded in the header (default: the name of the baseline's folder, which is the test file's). */
  testFile?: string;
  embeddings: Embeddings;
  mode: UpdateMode;
  tolerance?: Tolerance;
  neighbors?: { k: number };
  /** Called only when a baseline is written or a comparison fails. */
  fingerprint: () => Fingerprint | null;
}

/**
 * The snapshot lifecycle for one key, as Jest runs it for its own snapshots:
 * - no baseline: write it ('new', 'all'), or fail without writing ('none', i.e. --ci);
 * - a baseline that matches within the tolerance: matched, never rewritten (not even by -u);
 * - one that does not, or that cannot be read (corrupt, truncated, newer format): rewritten
 *   only under -u; otherwise the test fails and the file stays as it is;
 * - a path that is not a regular file (a directory, a FIFO) or cannot be opened: fails in every
 *   mode, never written over;
 * - embeddings holding NaN are never written (NaN matches nothing, so such a baseline would
 *   fail forever, and writing it would count as a pass): the test fails naming the rows.
 */
export function checkEmbeddingSnapshot(args: SnapshotCheckArgs): SnapshotOutcome {
  const { file, label, mode } = args;
  // Checked before anything is read or written, so a bad option never touches a baseline.
  const resolved = resolveTolerance(args.tolerance ?? DEFAULT_EMBEDDING_TOLERANCE, args.embeddings.dtype);
  if (args.neighbors !== undefined) checkNeighborOption(args.neighbors, args.embeddings.rows);
  const refusal = nanRefusal(args.embeddings, label);
  const write = () =>
    writeBaseline(file, args.embeddings, {
      format: FORMAT_VERSION,
      tolerance: resolved,
      fingerprint: args.fingerprint(),
      created: new Date().toISOString(),
      key: args.key,
      ...(args.test !== undefined && { test: args.test }),
      testFile: args.testFile ?? path.basename(path.dirname(file)),
      writer: `${tool.name} ${tool.version}`,
    });
  let reader: BaselineReader;
  try {
    reader = openBaseline(file, label);
  } catch (e) {
    if (!(e instanceof BaselineFileError)) throw e;
    if (e.reason === 'missing') {
      if (mode === 'none') {
        return failed(file, `no baseline ${label}: with --ci new baselines are not written; run Jest without --ci (or with -u) to write it, and commit it`);
      }
      if (refusal) return failed(file, refusal);
      write();
      return { status: 'added', file, report: null, problem: null };
    }
    if (mode === 'all' && e.reason !== 'unreadable') {
      if (refusal) return failed(file, `${e.message}; and ${refusal}`);
      write();
      return { status: 'updated', file, report: null, problem: null };
    }
    return failed(file, e.reason === 'unreadable' ? inTheWay(file, label) ?? e.message : e.message);
  }
  let report: EmbeddingReport;
  try {
    report = compareEmbeddings(reader, memorySource(args.embeddings), {
      tolerance: args.tolerance ?? DEFAULT_EMBEDDING_TOLERANCE,
      neighbors: args.neighbors,
    });
  } finally {
    reader.close();
  }
  report.baseline.file = label;
  report.baseline.key = reader.header.key;
  report.baseline.created = reader.header.created;
  if (report.pass) return { status: 'matched', file, report, problem: null };
  // Only a failure pays for the fingerprint (os.cpus and friends).
  describeSides(report, reader.header.fingerprint, args.fingerprint());
  if (mode === 'all') {
    if (refusal) return { status: 'failed', file, report, problem: refusal };
    write();
    return { status: 'updated', file, report, problem: null };
  }
  return { status: 'failed', file, report, problem: null };
}

/**
 * The matcher chose the path, so openBaseline's cure ("point at a file inside it") is none: say
 * what is in the way. Null for a regular file (a permission problem: its own message says so).
 */
function inTheWay(file: string, label: string): string | null {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return null;
  }
  if (stat.isFile()) return null;
  return `${label}: is ${describeKind(stat)}, where this test's embedding baseline goes; move or rename it (batchproof never writes over it, not even with -u) and run the test again`;
}

function failed(file: string, problem: string): SnapshotOutcome {
  return { status: 'failed', file, report: null, problem };
}

/** Why embeddings holding NaN are not written as a baseline (the rows that hold it), or null. */
function nanRefusal(e: Embeddings, label: string): string | null {
  const rows: number[] = [];
  let count = 0;
  for (let r = 0; r < e.rows; r++) {
    for (let i = r * e.dim; i < (r + 1) * e.dim; i++) {
      if (e.data[i] !== e.data[i]) {
        if (rows.length < 10) rows.push(r);
        count++;
        break;
      }
    }
  }
  if (count === 0) return null;
  const which = `row${count === 1 ? '' : 's'} ${rows.join(', ')}${count > rows.length ? ', ...' : ''}`;
  return `${label} not written: the embeddings hold NaN in ${count} of ${e.rows} rows (${which}), and NaN matches nothing, so that baseline could never pass; fix what produces the NaN`;
}

/**
 * One test file's baselines: which keys were used (so a duplicate is caught), which files were
 * checked, and which tests Jest reported skipped or failed; everything else in the test file's
 * baseline folder is obsolete.
 */
export interface EmbeddingSession {
  testPath: string;
  /** Folders (one per `directory` setting) that hold this test file's baselines. */
  folders: Set<string>;
  checked: Set<string>;
  /** key -> the test (and the attempt of it, where the runner tells) that used it. */
  keys: Map<string, { test: string; attempt?: object }>;
  counters: Map<string, number>;
  /** Per attempt of a test: its counter before the attempt and its keys, to undo a retry. */
  attempts: WeakMap<object, { test: string; counter: number | undefined; keys: string[] }>;
  /** Full names of tests whose baselines are kept though not checked (skipped, failed). */
  keptTests: Set<string>;
}

export function createSession(testPath: string): EmbeddingSession {
  return { testPath, folders: new Set(), checked: new Set(), keys: new Map(), counters: new Map(), attempts: new WeakMap(), keptTests: new Set() };
}

/**
 * The folder of a test file's baselines: `<directory>/<test file name>/` beside the test file,
 * or, for a directory outside the test file's folder (absolute, or relative climbing out of it:
 * `../baselines`), `<directory>/<test file path from the working directory>/`.
 */
export function baselineFolder(testPath: string, directory: string = DEFAULT_DIRECTORY): string {
  if (typeof directory !== 'string' || directory.trim() === '') throw new BadInputError(`directory must be a folder path (a non-empty string), got ${formatValue(directory)}; for example directory: 'baselines'`);
  const folder = folderFor(testPath, directory);
  // '.' (or the working directory, absolute): the folder named after the test file is the test
  // file itself; every call would fail with 'no such file', even under -u.
  if (path.resolve(folder) === path.resolve(testPath)) {
    throw new BadInputError(
      `directory ${JSON.stringify(directory)} puts this test file's baselines in a folder at the test file's own path (${path.relative(process.cwd(), testPath) || testPath}); give a folder of their own, e.g. directory: 'baselines' (the default is '${DEFAULT_DIRECTORY}')`,
    );
  }
  return folder;
}

function folderFor(testPath: string, directory: string): string {
  const inside = path.normalize(directory);
  // `../baselines` from test/unit/ and from test/e2e/ is one folder: named by the test file's
  // name alone, two embed.test.ts would share (and -u delete) each other's baselines.
  if (path.isAbsolute(directory) || inside === '..' || inside.startsWith(`..${path.sep}`)) {
    const root = path.resolve(path.dirname(testPath), directory);
    // A test file outside the working directory keeps its absolute path, never climbs out.
    const rel = path.relative(process.cwd(), testPath);
    return path.join(root, rel.startsWith('..') || path.isAbsolute(rel) ? testPath.replace(/^([A-Za-z]:)?[\\/]+/, '') : rel);
  }
  return path.join(path.dirname(testPath), directory, path.basename(testPath));
}

/**
 * The key of the next call in a test: "<test name> <n>" as Jest numbers snapshots, or `name`.
 * `attempt` identifies this run of the test (Jest 30's test identity) so a retry can be undone.
 */
export function nextKey(session: EmbeddingSession, testName: string, name?: string, attempt?: object): string {
  let key: string;
  const record = attempt && (session.attempts.get(attempt) ?? { test: testName, counter: session.counters.get(testName), keys: [] });
  if (attempt && record) session.attempts.set(attempt, record);
  if (name !== undefined) {
    if (typeof name !== 'string' || name.trim() === '') throw new BadInputError(`name must be a non-empty string, got ${formatValue(name)}`);
    key = name;
  } else {
    const n = (session.counters.get(testName) ?? 0) + 1;
    session.counters.set(testName, n);
    key = `${testName} ${n}`;
  }
  const owner = session.keys.get(key);
  // Another test, or this very attempt, already used the key. Without attempt identities an
  // explicit name repeated by the same test is taken as a duplicate too.
  if (owner && (owner.test !== testName || (attempt ? owner.attempt === attempt : name !== undefined))) {
    throw new BadInputError(`the embedding snapshot key ${JSON.stringify(key)} is used twice in this test file; give each call its own name`);
  }
  session.keys.set(key, { test: testName, attempt });
  record?.keys.push(key);
  return key;
}

/** A retried test starts again: its counter and keys go back to where they were before it. */
export function undoAttempt(session: EmbeddingSession, attempt: object): void {
  const record = session.attempts.get(attempt);
  if (!record) return;
  session.attempts.delete(attempt);
  if (record.counter === undefined) session.counters.delete(record.test);
  else session.counters.set(record.test, record.counter);
  for (const key of record.keys) session.keys.delete(key);
}

/** A baseline no test checked in this run. */
export interface ObsoleteBaseline {
  file: string;
  key: string;
  /** Its test file is gone (a whole folder left behind), not just the test. */
  orphan: boolean;
  /** The test file its header names (checked again just before removal). */
  testFile: string;
}

/**
 * Baselines in this test file's folders that no test checked and no skipped or failed test
 * owns; plus, from one test file per folder (the first by name, so only one reports them),
 * the folders of test files that no longer exist.
 *
 * Only files batchproof wrote for that test file count (isOwnBaseline: the header names the
 * test file and a key, and the file has the name that key gives). Anything else under a
 * baseline folder (CI artifacts in `baselines/ci-artifacts/`, copies, other tools' .emb
 * files, truncated or foreign files, subfolders) is never obsolete and never removed; such files
 * are added to `ignored`, when given, for a caller that wants to mention them.
 */
export function findObsolete(session: EmbeddingSession, defaultDirectory: string = DEFAULT_DIRECTORY, ignored?: string[]): ObsoleteBaseline[] {
  const out: ObsoleteBaseline[] = [];
  const testFile = path.basename(session.testPath);
  const folders = new Set([...session.folders, baselineFolder(session.testPath, defaultDirectory)]);
  for (const folder of folders) {
    for (const file of listBaselineFiles(folder)) {
      if (session.checked.has(file)) continue;
      const header = readBaselineHeader(file);
      // The test file's own folder: a header from before testFile was recorded is placed by its folder.
      if (!isOwnBaseline(file, header, testFile, true)) {
        ignored?.push(file);
        continue;
      }
      if (header?.test !== undefined && session.keptTests.has(header.test)) continue;
      out.push({ file, key: header!.key as string, orphan: false, testFile });
    }
  }
  const testDir = path.dirname(session.testPath);
  for (const directory of new Set([...folders].map((f) => path.dirname(f)))) {
    // Only the beside-the-test layout says which test file a folder belongs to.
    if (path.dirname(directory) !== testDir) continue;
    let entries: string[];
    try {
      entries = fs.readdirSync(directory).sort();
    } catch {
      continue;
    }
    const living = entries.filter((name) => fs.existsSync(path.join(testDir, name)));
    if (living[0] !== path.basename(session.testPath)) continue;
    for (const name of entries) {
      if (living.includes(name)) continue;
      for (const file of listBaselineFiles(path.join(directory, name))) {
        // A folder whose test file is gone, or one that never had one (ci-artifacts/): only a
        // header naming this folder's test file says which it is. Old headers cannot say: kept.
        if (isOwnBaseline(file, readBaselineHeader(file), name, false)) out.push({ file, key: readBaselineHeader(file)!.key as string, orphan: true, testFile: name });
        else ignored?.push(file);
      }
    }
  }
  return out;
}

/**
 * Deletes obsolete baselines (and folders left empty). Each file's header is read again first:
 * a file replaced since it was found (another worker, the user) is left alone.
 */
export function removeObsolete(list: readonly ObsoleteBaseline[]): void {
  for (const o of list) {
    if (isOwnBaseline(o.file, readBaselineHeader(o.file), o.testFile, !o.orphan)) removeBaseline(o.file);
  }
}

export { baselineFileName };
