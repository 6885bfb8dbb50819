/**
 * `batchproof/reporter`: a Jest reporter that gathers the report of every batchproof matcher in
 * the run, from every worker, into one self-contained HTML page (src/html):
 *
 *   reporters: ['default', ['batchproof/reporter', { outputFile: 'batchproof-report.html' }]]
 *
 * How the reports cross from the workers: the constructor runs in Jest's main process before any
 * worker is forked, makes a fresh run directory and names it in BATCHPROOF_REPORT_DIR, which the
 * workers inherit; each matcher writes its report there (matchers/record.ts) with its test's
 * file and name, and the run's end joins them with Jest's results (names, statuses, durations).
 *
 * The page never decides the run: every failure here is one line on stderr saying why no page
 * was written, and Jest's exit code stays what the tests made it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeFileAtomic } from '../src/io/atomic';
import { checkOutputPath } from '../src/io/paths';
import { REPORT_DIR_ENV } from './record';
import type { RecordedReport } from './record';

/** Options of the reporter, as Jest's reporters entry gives them: where the page goes. */
export interface BatchproofReporterOptions {
  /**
   * Where the page goes, relative to Jest's rootDir (default `batchproof-report.html`). Under
   * `--shard=i/n` each shard writes its own page: `{shard}` in the name is replaced by `i-of-n`,
   * else `.shard-i-of-n` goes before the extension. `batchproof report *.html -o all.html` merges them.
   */
  outputFile?: string;
  /** The page's title (default: `batchproof: <rootDir's folder name>`). */
  title?: string;
}

// Jest's types for reporters, only as far as they are read here: structural, so the shipped
// declarations do not depend on @jest/reporters being resolvable from the user's project.
interface GlobalConfigLike {
  rootDir: string;
  shard?: { shardIndex: number; shardCount: number } | null;
}
interface AssertionResultLike {
  ancestorTitles: string[];
  title: string;
  fullName: string;
  status: string;
  duration?: number | null;
}
interface TestResultLike {
  testFilePath: string;
  testResults: AssertionResultLike[];
}
interface AggregatedResultLike {
  testResults: TestResultLike[];
}

type TestStatus = 'passed' | 'failed' | 'skipped' | 'todo' | 'pending' | 'disabled' | 'focused';
const STATUSES: readonly string[] = ['passed', 'failed', 'skipped', 'todo', 'pending', 'disabled', 'focused'];

interface PageEntryLike {
  report: unknown;
  source?: string;
  negated?: boolean;
  test?: { file: string; name: string; status: TestStatus; duration?: number };
}

/** The page's path for this run: the option resolved against rootDir, with the shard in its name. */
export function pagePath(outputFile: string, rootDir: string, shard?: GlobalConfigLike['shard']): string {
  let file = outputFile.replace(/<rootDir>/g, rootDir);
  if (shard && shard.shardCount > 1) {
    const tag = `${shard.shardIndex}-of-${shard.shardCount}`;
    if (file.includes('{shard}')) file = file.replace(/\{shard\}/g, tag);
    else {
      const ext = path.extname(file);
      file = `${file.slice(0, file.length - ext.length)}.shard-${tag}${ext}`;
    }
  } else file = file.replace(/\.?\{shard\}/g, '');
  return path.resolve(rootDir, file);
}

/** Records in the run directory, in the order each process made them; unreadable ones are counted, not fatal. */
function readRecords(dir: string): { records: RecordedReport[]; unreadable: number } {
  const records: { at: number; seq: number; record: RecordedReport }[] = [];
  let unreadable = 0;
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return { records: [], unreadable: 0 };
  }
  for (const name of names) {
    const m = /^(\d+)-([0-9a-z]+)-([0-9a-z]+)\.json$/.exec(name);
    if (!m) continue;
    try {
      const record = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as RecordedReport;
      records.push({ at: parseInt(m[2], 36), seq: parseInt(m[3], 36), record });
    } catch {
      unreadable++;
    }
  }
  records.sort((a, b) => a.at - b.at || a.seq - b.seq);
  return { records: records.map((r) => r.record), unreadable };
}

/**
 * Joins the matchers' records with Jest's results: one page entry per report, carrying its
 * test's file (relative to rootDir), full name, status and duration (the page's pass/fail is the
 * test's), and whether a `.not` matcher made it, in Jest's order of files and tests. A report made in one of the run's test files outside any test Jest listed (a hook)
 * still goes on the page, with its file as the source.
 */
export function joinRecords(records: readonly RecordedReport[], results: readonly TestResultLike[], rootDir: string): PageEntryLike[] {
  const rel = (file: string) => path.relative(rootDir, file).split(path.sep).join('/') || file;
  const byTest = new Map<string, RecordedReport[]>();
  for (const record of records) {
    const key = `${record.testPath ?? ''}\0${record.testName ?? ''}`;
    const list = byTest.get(key);
    if (list) list.push(record);
    else byTest.set(key, [record]);
  }
  const entries: PageEntryLike[] = [];
  for (const file of results) {
    for (const test of file.testResults) {
      const key = `${file.testFilePath}\0${test.fullName}`;
      const list = byTest.get(key);
      if (!list) continue;
      byTest.delete(key);
      const status = (STATUSES.includes(test.status) ? test.status : 'failed') as TestStatus;
      for (const record of list) {
        entries.push({
          report: record.report,
          source: rel(file.testFilePath),
          ...(record.isNot ? { negated: true } : {}),
          test: { file: rel(file.testFilePath), name: test.fullName, status, ...(typeof test.duration === 'number' ? { duration: test.duration } : {}) },
        });
      }
    }
  }
  // Left: reports made in a hook, or by a test Jest did not list. Only this run's test files count:
  // a Jest run that a test starts inherits the variable, and its reports are not this run's.
  const files = new Set(results.map((r) => r.testFilePath));
  for (const list of byTest.values()) {
    for (const record of list) if (record.testPath && files.has(record.testPath)) entries.push({ report: record.report, source: rel(record.testPath) });
  }
  return entries;
}

/** A file the page may replace: none yet, empty, or an HTML page (never a user's other file). */
function replaceable(file: string): boolean {
  let fd: number | null = null;
  try {
    if (!fs.existsSync(file)) return true;
    // A FIFO or a device is written to, never replaced; opening a FIFO to read its head would wait for a writer.
    if (!fs.statSync(file).isFile()) return true;
    fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(512);
    const text = head.subarray(0, fs.readSync(fd, head, 0, head.length, 0)).toString('utf8').trimStart().toLowerCase();
    return text === '' || text.startsWith('<!doctype html') || text.startsWith('<html');
  } catch {
    return true; // the write itself says what is wrong
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** The Jest reporter: one HTML page of every batchproof matcher's report in the run (see the top of this file). */
export class BatchproofReporter {
  private readonly rootDir: string;
  private readonly file: string | null;
  private readonly title: string;
  private readonly runDir: string | null;
  private readonly problem: string | null;
  private readonly inherited: string | undefined;

  constructor(globalConfig: GlobalConfigLike, options: BatchproofReporterOptions = {}) {
    this.rootDir = globalConfig.rootDir;
    this.title = typeof options?.title === 'string' ? options.title : `batchproof: ${path.basename(this.rootDir)}`;
    this.inherited = process.env[REPORT_DIR_ENV];
    const outputFile = options?.outputFile ?? 'batchproof-report.html';
    let problem: string | null = null;
    let file: string | null = null;
    let runDir: string | null = null;
    if (typeof outputFile !== 'string' || outputFile === '') {
      problem = `outputFile must be a file name such as 'batchproof-report.html', got ${JSON.stringify(outputFile)}`;
    } else {
      file = pagePath(outputFile, this.rootDir, globalConfig.shard);
      try {
        runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-reporter-'));
        // Set before Jest forks its workers: they inherit the main process's environment.
        process.env[REPORT_DIR_ENV] = runDir;
        // A run that never completes (--listTests, a config error, Ctrl-C) leaves no directory behind.
        const made = runDir;
        process.once('exit', () => fs.rmSync(made, { recursive: true, force: true }));
      } catch (e) {
        problem = `cannot make a run directory in ${os.tmpdir()} (${(e as Error).message})`;
      }
    }
    this.file = file;
    this.runDir = runDir;
    this.problem = problem;
  }

  /** A new run (watch mode): the run directory holds only this run's reports. */
  onRunStart(): void {
    if (!this.runDir) return;
    process.env[REPORT_DIR_ENV] = this.runDir;
    try {
      fs.rmSync(this.runDir, { recursive: true, force: true });
      fs.mkdirSync(this.runDir, { recursive: true });
    } catch {
      // Records then fail to land and the end of the run says so.
    }
  }

  async onRunComplete(_contexts: unknown, results: AggregatedResultLike): Promise<void> {
    const say = (line: string) => process.stderr.write(`batchproof/reporter: ${line}\n`);
    try {
      if (this.problem || !this.file || !this.runDir) {
        say(`no page written: ${this.problem ?? 'not set up'}`);
        return;
      }
      const { records, unreadable } = readRecords(this.runDir);
      const entries = joinRecords(records, results?.testResults ?? [], this.rootDir);
      const shown = path.relative(process.cwd(), this.file) || this.file;
      if (!replaceable(this.file)) {
        say(`no page written: ${shown} exists and is not an HTML page; remove it or choose another outputFile`);
        return;
      }
      // Before the page is built: a path that cannot be written costs nothing.
      checkOutputPath(this.file, { flag: 'outputFile', what: 'the report page' });
      // Loaded only here: the page module brings the charting library, which tests never need.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { renderPage } = require('../src/html') as { renderPage(entries: PageEntryLike[], options?: { title?: string; generated?: string }): Promise<string> };
      const html = await renderPage(entries, { title: this.title, generated: new Date().toISOString() });
      writeFileAtomic(this.file, html);
      const failed = new Set(entries.filter((e) => e.test?.status === 'failed').map((e) => `${e.test?.file}\0${e.test?.name}`)).size;
      const tests = new Set(entries.filter((e) => e.test).map((e) => `${e.test?.file}\0${e.test?.name}`)).size;
      const lost = unreadable ? `; ${unreadable} unreadable record(s) left out` : '';
      say(`page written to ${shown}: ${entries.length} report(s) from ${tests} test(s), ${failed} failed${lost}`);
    } catch (e) {
      const reason = String((e as Error)?.message ?? e).split('\n')[0];
      say(`no page written: ${reason}`);
    } finally {
      this.cleanUp();
    }
  }

  /** Never an error: the page must not fail the run. */
  getLastError(): void {
    return undefined;
  }

  private cleanUp(): void {
    if (this.runDir) {
      try {
        fs.rmSync(this.runDir, { recursive: true, force: true });
      } catch {
        // A temporary directory left behind is harmless.
      }
    }
    // Jest run from a test (or watch mode ending) leaves the environment as it found it.
    if (this.inherited === undefined) delete process.env[REPORT_DIR_ENV];
    else process.env[REPORT_DIR_ENV] = this.inherited;
  }
}

/**
 * The reporter class, as Jest loads it (`reporters: [['batchproof/reporter', options]]`). From an
 * ES module, `import { BatchproofReporter }`: Node makes a CommonJS module's default import its
 * whole exports, so there the default import is not the class.
 */
export default BatchproofReporter;
