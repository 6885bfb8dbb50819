import * as path from 'path';
import { EXPECTED_COLOR, matcherHint, RECEIVED_COLOR } from 'jest-matcher-utils';
import { BadInputError, describeFingerprint, fingerprintFor } from '../src';
import { formatValue } from '../src/errors';
import type { Fingerprint, Tolerance } from '../src';
import {
  baselineFileName,
  baselineFolder,
  checkEmbeddingSnapshot,
  createSession,
  DEFAULT_DIRECTORY,
  EmbeddingSession,
  findObsolete,
  nextKey,
  ObsoleteBaseline,
  removeObsolete,
  SnapshotOutcome,
  undoAttempt,
  UpdateMode,
} from '../src/snapshot/lifecycle';
import { embeddingsFrom } from '../src/snapshot/embeddings';
import { checkSnapshotOptions } from '../src/snapshot/options';
import { formatEmbeddingReport } from '../src/snapshot/text';
import { testGlobals } from './globals';
import { recordReport } from './record';

/** Options of `toMatchEmbeddingSnapshot`. */
export interface EmbeddingSnapshotOptions {
  /**
   * How close each row must stay: `{ cosine }` (per-row cosine distance, 1 - cos; the default,
   * 1e-6), `{ atol, rtol }`, `{ ulp }` or `'exact'` (bitwise).
   */
  tolerance?: Tolerance;
  /**
   * Also fail when any row's k nearest neighbours (by cosine, within the set) change order.
   * Compares every pair of rows: fine for thousands of rows, not millions.
   */
  neighbors?: { k: number };
  /** An explicit key instead of "<test name> <n>": the baseline survives renaming the test. */
  name?: string;
  /** The shape when the embeddings are a bare Float32Array or Float64Array: [rows, dim]. */
  dims?: readonly number[];
  /**
   * Where baselines live: a folder relative to the test file's folder (default
   * `__embeddings__`) or an absolute one. Each test file gets its own subfolder: its name, or,
   * in a folder outside the test file's (absolute, `../baselines`), its path from the working
   * directory.
   */
  directory?: string;
  /**
   * What produced the embeddings, recorded in new baselines and shown when a comparison fails
   * on a machine that differs. Default: this machine with onnxruntime's CPU provider
   * (`fingerprintFor({})`); pass `await fixture.fingerprint()` for another provider.
   */
  fingerprint?: Fingerprint;
}

/** Defaults for every call in this test file (set them in a setup file). */
export type EmbeddingSnapshotDefaults = Pick<EmbeddingSnapshotOptions, 'tolerance' | 'neighbors' | 'directory' | 'fingerprint'>;

let defaults: EmbeddingSnapshotDefaults = {};
const DEFAULT_KEYS: readonly string[] = ['tolerance', 'neighbors', 'directory', 'fingerprint'];

/** Sets defaults for `toMatchEmbeddingSnapshot` (e.g. `{ directory: 'baselines' }`) in a setup file. */
export function setEmbeddingSnapshotDefaults(next: EmbeddingSnapshotDefaults): void {
  checkSnapshotOptions(next, DEFAULT_KEYS, 'setEmbeddingSnapshotDefaults');
  defaults = { ...next };
}

/**
 * The parts of Jest's (and Vitest's) snapshot state this matcher uses. The counters and methods
 * are public; only the update mode has no public accessor (see updateModeOf).
 */
interface SnapshotStateLike {
  added?: unknown;
  matched?: unknown;
  unmatched?: unknown;
  updated?: unknown;
  _updateSnapshot?: unknown;
  markSnapshotsAsCheckedForTest?(testName: string): void;
  getUncheckedCount?(): number;
  getUncheckedKeys?(): string[];
  removeUncheckedKeys?(): void;
}

interface MatcherThis {
  isNot?: boolean;
  promise?: string;
  testPath?: string;
  currentTestName?: string;
  /** Jest: the name of the test.concurrent test this call belongs to. */
  currentConcurrentTestName?: () => string | undefined;
  snapshotState?: SnapshotStateLike;
}

/**
 * `-u`, plain or `--ci`. Jest keeps the mode only in SnapshotState's `_updateSnapshot` (no
 * public getter in Jest 29 or 30; Vitest's state has the same field), which is why
 * jest-image-snapshot and jest-specific-snapshot read it too. It is read here and nowhere
 * else; if a runner drops it, batchproof falls back to Jest's own rule: `--ci` is on when the
 * CI variable is set.
 */
export function updateModeOf(state: SnapshotStateLike | undefined): UpdateMode {
  const mode = state?._updateSnapshot;
  if (mode === 'all' || mode === 'new' || mode === 'none') return mode;
  const ci = process.env.CI;
  return ci && ci !== 'false' && ci !== '0' ? 'none' : 'new';
}

/** Adds one to a public counter; Vitest's counters are objects that read as numbers and take a number back. */
function bump(state: SnapshotStateLike | undefined, field: 'added' | 'matched' | 'unmatched' | 'updated'): void {
  if (!state || state[field] === undefined) return;
  const value = Number(state[field]);
  if (Number.isFinite(value)) state[field] = value + 1;
}

const sessions = new WeakMap<object, EmbeddingSession>();
const sessionsByPath = new Map<string, EmbeddingSession>();

function sessionFor(state: SnapshotStateLike | undefined, testPath: string): EmbeddingSession {
  // One session per test file: Jest makes one snapshot state per test file.
  if (state && typeof state === 'object') {
    let s = sessions.get(state);
    if (!s || s.testPath !== testPath) sessions.set(state, (s = createSession(testPath)));
    return s;
  }
  let s = sessionsByPath.get(testPath);
  if (!s) sessionsByPath.set(testPath, (s = createSession(testPath)));
  return s;
}

let cachedFingerprint: Fingerprint | null = null;
function machineFingerprint(): Fingerprint {
  return (cachedFingerprint ??= fingerprintFor({}));
}

const HINT = 'toMatchEmbeddingSnapshot';
const OPTION_KEYS: readonly string[] = ['tolerance', 'neighbors', 'name', 'dims', 'directory', 'fingerprint'];

/** Every option checked (types, tolerance) before a key is taken or a file is touched. */
function checkOptions(options: unknown): EmbeddingSnapshotOptions {
  if (options === undefined) return {};
  checkSnapshotOptions(options, OPTION_KEYS, HINT);
  return options as EmbeddingSnapshotOptions;
}

/**
 * `expect(embeddings).toMatchEmbeddingSnapshot(options?)`: the embeddings stay within the
 * tolerance of the baseline stored beside the test file (written on the first run, like
 * `toMatchSnapshot`; `-u` rewrites failing ones; `--ci` never writes). Synchronous.
 */
export function toMatchEmbeddingSnapshot(this: MatcherThis, received: unknown, options?: EmbeddingSnapshotOptions): { pass: boolean; message: () => string } {
  if (this.isNot) throw new BadInputError(`${HINT} cannot be used with .not`);
  const opts = { ...defaults, ...checkOptions(options) };
  const embeddings = embeddingsFrom(received, opts.dims);
  const { testPath } = this;
  // As Jest's toMatchSnapshot: concurrent tests share currentTestName, not this one.
  const currentTestName = (typeof this.currentConcurrentTestName === 'function' && this.currentConcurrentTestName()) || this.currentTestName;
  if (!testPath || !currentTestName) throw new BadInputError(`${HINT} must run inside a test (it needs the test file and test name)`);
  const state = this.snapshotState;
  const session = sessionFor(state, testPath);
  // Before a key is taken: a bad directory counts no call.
  const folder = baselineFolder(testPath, opts.directory ?? DEFAULT_DIRECTORY);
  const attempt = currentAttempt();
  const key = nextKey(session, currentTestName, opts.name, attempt);
  session.folders.add(folder);
  const file = path.join(folder, baselineFileName(key));
  session.checked.add(file);
  const fingerprint = () => opts.fingerprint ?? machineFingerprint();
  const outcome = checkEmbeddingSnapshot({
    file,
    label: path.relative(process.cwd(), file) || file,
    key,
    test: currentTestName,
    testFile: path.basename(testPath),
    embeddings,
    mode: updateModeOf(state),
    tolerance: opts.tolerance,
    neighbors: opts.neighbors,
    fingerprint,
  });
  bump(state, outcome.status === 'failed' ? 'unmatched' : outcome.status);
  recordReport(this, outcome.report);
  const hint = matcherHint(`.${HINT}`, 'embeddings', opts.name !== undefined ? formatValue(opts.name) : '', { isNot: this.isNot, promise: this.promise });
  return { pass: outcome.status !== 'failed', message: () => `${hint}\n\n${describeOutcome(outcome, key, fingerprint)}` };
}

function describeOutcome(outcome: SnapshotOutcome, key: string, fingerprint: () => Fingerprint): string {
  // Without a comparison (no baseline under --ci, an unreadable one) the report's fingerprint
  // line is missing: say what produced these embeddings here.
  if (!outcome.report) return `${RECEIVED_COLOR(outcome.problem ?? outcome.status)}\n\nkey: ${JSON.stringify(key)}\nfingerprint: ${describeFingerprint(fingerprint())}`;
  const body = formatEmbeddingReport(outcome.report, { color: false });
  // A comparison that failed and was not rewritten under -u (NaN is never written) says why.
  if (outcome.problem) return `${body}\n\n${RECEIVED_COLOR(outcome.problem)}`;
  const cure = outcome.status === 'failed' ? `\n\n${EXPECTED_COLOR('Inspect the change, or run your test runner with -u (jest -u, vitest -u) to accept these embeddings as the new baseline.')}` : '';
  return `${body}${cure}`;
}

/** Jest 30 names each run of a test (retries included); older runners do not. */
function currentAttempt(): object | undefined {
  const expectFn = testGlobals().expect as { getState?(): { currentTestIdentity?: unknown } } | undefined;
  const id = expectFn?.getState?.().currentTestIdentity;
  const value = typeof id === 'function' ? (id as () => unknown)() : id;
  return typeof value === 'object' && value !== null ? value : undefined;
}

/** The label Jest prints for an obsolete baseline: its key and its file. */
function obsoleteLabel(o: ObsoleteBaseline): string {
  return `${o.key} [embedding baseline ${path.relative(process.cwd(), o.file)}${o.orphan ? ', its test file is gone' : ''}]`;
}

/**
 * Called once per test file from `batchproof/jest`. Jest itself reports obsolete snapshots:
 * after the last test it calls the test file's snapshot state's public
 * markSnapshotsAsCheckedForTest (for each skipped or failed test), getUncheckedCount,
 * getUncheckedKeys and removeUncheckedKeys (under -u). Extending those four methods on this
 * one state object makes unchecked embedding baselines appear in Jest's own summary ("1
 * snapshot obsolete"), fail the run as Jest's obsolete snapshots do, and go away with -u,
 * with no reporter or extra config. A retried test (Jest 30) undoes its keys first.
 */
export function installEmbeddingSnapshotHooks(
  expectFn: { getState(): { snapshotState?: unknown; testPath?: string } },
  beforeEachFn?: (fn: () => void) => void,
): void {
  const { snapshotState, testPath } = expectFn.getState();
  const state = snapshotState as SnapshotStateLike | undefined;
  if (!state || typeof state !== 'object' || !testPath) return;
  const marked = state as SnapshotStateLike & { __batchproofHooks?: boolean };
  if (marked.__batchproofHooks) return;
  const { markSnapshotsAsCheckedForTest, getUncheckedCount, getUncheckedKeys, removeUncheckedKeys } = state;
  if (!markSnapshotsAsCheckedForTest || !getUncheckedCount || !getUncheckedKeys || !removeUncheckedKeys) return;
  marked.__batchproofHooks = true;
  const session = () => sessionFor(state, testPath);
  // Jest asks count, then keys, then (under -u) removal: the count computes, the others reuse it.
  let obsolete: ObsoleteBaseline[] | null = null;
  const find = () => (obsolete = findObsolete(session(), defaults.directory ?? DEFAULT_DIRECTORY));
  state.markSnapshotsAsCheckedForTest = function (testName: string) {
    session().keptTests.add(testName);
    return markSnapshotsAsCheckedForTest.call(this, testName);
  };
  state.getUncheckedCount = function () {
    return getUncheckedCount.call(this) + find().length;
  };
  state.getUncheckedKeys = function () {
    return [...getUncheckedKeys.call(this), ...(obsolete ?? find()).map(obsoleteLabel)];
  };
  state.removeUncheckedKeys = function () {
    if (updateModeOf(state) === 'all') {
      removeObsolete(obsolete ?? find());
      obsolete = [];
    }
    return removeUncheckedKeys.call(this);
  };
  beforeEachFn?.(() => {
    const attempt = currentAttempt();
    if (attempt) undoAttempt(session(), attempt);
  });
}
