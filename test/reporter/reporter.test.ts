import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeConsumer } from '../helpers/consumer';
import { readReportFiles } from '../../src/html';
import type { PageEntry } from '../../src/html';

// batchproof/reporter as a user wires it: the packed package in examples/consumer (whose
// jest.config.js lists it), real Jest with real workers, real models. Two test files, each
// writing its process id, so the test can tell the workers apart from Jest's own process.
const SUITE: Record<string, string> = {
  'a.test.ts': `
import * as fs from 'fs';
import * as path from 'path';
if (process.env.PID_DIR) fs.writeFileSync(path.join(process.env.PID_DIR, String(process.pid)), '');
const models = path.join(__dirname, '..', 'models');
describe('cnn', () => {
  test('the training-mode CNN is batch invariant', async () => {
    await expect(path.join(models, 'embedding_cnn_train_bn.onnx')).toBeBatchInvariant({ batchSizes: [1, 4] });
  });
  test('the training-mode CNN leaks, as .not expects', async () => {
    await expect(path.join(models, 'embedding_cnn_train_bn.onnx')).not.toBeBatchInvariant({ batchSizes: [1, 4] });
  });
  test('the eval-mode CNN is batch invariant', async () => {
    await expect(path.join(models, 'embedding_cnn.onnx')).toBeBatchInvariant({ batchSizes: [1, 2, 8], tolerance: 'exact' });
  });
  test('plain arithmetic', () => {
    expect(1 + 1).toBe(2);
  });
});
`,
  'b.test.ts': `
import * as fs from 'fs';
import * as path from 'path';
if (process.env.PID_DIR) fs.writeFileSync(path.join(process.env.PID_DIR, String(process.pid)), '');
test('the eval-mode CNN is deterministic', async () => {
  await expect(path.join(__dirname, '..', 'models', 'embedding_cnn.onnx')).toBeDeterministic({ repeats: 2, batchSize: 2 });
});
`,
};

interface Run {
  code: number;
  output: string;
  pids: string[];
  /** Run directories the reporter left in the run's TMPDIR. */
  leftovers: string[];
}

describe('batchproof/reporter in a Jest project', () => {
  const consumer = makeConsumer(path.join(__dirname, '..', '..', 'examples', 'consumer'));
  const dir = consumer.dir;
  const jestBin = path.join(dir, 'node_modules', '.bin', 'jest');
  let runs = 0;

  beforeAll(() => {
    fs.mkdirSync(path.join(dir, 'report-suite'));
    for (const [name, text] of Object.entries(SUITE)) fs.writeFileSync(path.join(dir, 'report-suite', name), text);
    // The consumer's own config (its reporters list included), on these two files; its own
    // cache folder, so the first run has no timings and Jest uses workers as asked.
    fs.writeFileSync(
      path.join(dir, 'jest.report.config.js'),
      "module.exports = { ...require('./jest.config.js'), roots: ['<rootDir>/report-suite'], cacheDirectory: '<rootDir>/.jest-cache' };\n",
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function jest(args: string[], config = 'jest.report.config.js'): Run {
    const n = runs++;
    const pidDir = path.join(dir, `pids-${n}`);
    const tmp = path.join(dir, `tmp-${n}`);
    fs.mkdirSync(pidDir);
    fs.mkdirSync(tmp);
    const r = spawnSync(process.execPath, [jestBin, '-c', config, '--ci', ...args], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 240_000,
      env: { ...process.env, FORCE_COLOR: '0', CI: 'true', PID_DIR: pidDir, TMPDIR: tmp, BATCHPROOF_REPORT_DIR: '' },
    });
    return {
      code: r.status ?? -1,
      output: `${r.stdout}${r.stderr}${r.error ? r.error.message : ''}`,
      pids: fs.readdirSync(pidDir),
      leftovers: fs.readdirSync(tmp).filter((f) => f.startsWith('batchproof-reporter-')),
    };
  }

  const pageEntries = (file: string): PageEntry[] => readReportFiles([path.join(dir, file)]).entries;
  const byName = (entries: PageEntry[], name: string) => entries.filter((e) => e.test?.name === name);
  const kinds = (entries: PageEntry[]) => entries.map((e) => (e.report as { kind: string }).kind).sort();

  /** The page lists each batchproof test with its status, the failure linked to its section. */
  function expectFullPage(file: string): void {
    const entries = pageEntries(file);
    const failed = byName(entries, 'cnn the training-mode CNN is batch invariant');
    // The failing check, and the locate report the matcher made to name the diverging node.
    expect(kinds(failed)).toEqual(['batch-invariance', 'locate']);
    expect(failed.every((e) => e.test?.status === 'failed' && e.test.file === 'report-suite/a.test.ts')).toBe(true);
    expect((failed[0].report as { verdict: string }).verdict).toBe('violated');
    // Negative controls: the passing tests are passed, and a test with no batchproof matcher is not listed.
    expect(byName(entries, 'cnn the eval-mode CNN is batch invariant').map((e) => e.test?.status)).toEqual(['passed']);
    expect(byName(entries, 'the eval-mode CNN is deterministic').map((e) => e.test?.status)).toEqual(['passed']);
    expect(kinds(byName(entries, 'the eval-mode CNN is deterministic'))).toEqual(['determinism']);
    expect(byName(entries, 'cnn plain arithmetic')).toEqual([]);
    // The passing .not: its report says violated, its test passed.
    const negated = byName(entries, 'cnn the training-mode CNN leaks, as .not expects');
    expect(negated.map((e) => [e.test?.status, (e.report as { verdict: string }).verdict, e.negated])).toEqual([['passed', 'violated', true]]);
    expect(entries).toHaveLength(5);

    // The summary links the failed test to a section that exists on the page, and only it.
    const html = fs.readFileSync(path.join(dir, file), 'utf8');
    const ids = new Set([...html.matchAll(/\sid="(report-\d+)"/g)].map((m) => m[1]));
    const links = [...html.matchAll(/href="#(report-\d+)"/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(ids.has(link)).toBe(true);
    expect(html).toMatch(/training-mode CNN is batch invariant/);

    // Badges and counts follow the tests: the passing .not is a pass, and the failed check with
    // its locate report is one failure, as the reporter's line says.
    const summary = html.slice(html.indexOf('id="summary"'), html.indexOf('</section>'));
    expect(summary).toMatch(/5 entries from 4 tests: 1 failed, 3 passed\. Failures: <a href="#report-\d+">#\d+<\/a>\.<\/p>/);
    const rows = [...summary.matchAll(/<tr class="bp-(\w+)"><td><span class="bp-status (\w+)">.*?<td>([^<]+) <span class="bp-muted">[^<·]* · (\w+)[^<]*<\/span><\/td><td>([^<]*)<\/td>/g)].map((m) => ({
      row: m[1],
      badge: m[2],
      name: m[3],
      status: m[4],
      verdict: m[5],
    }));
    expect(rows).toHaveLength(5);
    for (const r of rows) expect([r.name, r.row, r.badge]).toEqual([r.name, ...(r.status === 'passed' ? ['pass', 'pass'] : ['fail', 'fail'])]);
    expect(rows.filter((r) => r.badge === 'fail').map((r) => r.name)).toEqual(Array(2).fill('cnn the training-mode CNN is batch invariant'));
    expect(rows.find((r) => r.name.includes('as .not expects'))?.verdict).toMatch(/^violated \(.+\), as expected \(\.not\)$/);
  }

  test('gathers every matcher report from 2 workers into one page, failures linked', () => {
    const r = jest(['--maxWorkers=2']);
    // One test failed: Jest's exit code, untouched by the reporter.
    expect(r.output).toMatch(/Tests:\s+1 failed, 4 passed, 5 total/);
    expect(r.code).toBe(1);
    // Each test file ran in a worker of its own, not in Jest's process.
    expect(r.pids).toHaveLength(2);
    expect(r.output).toMatch(/batchproof\/reporter: page written to batchproof-report\.html: 5 report\(s\) from 4 test\(s\), 1 failed/);
    expectFullPage('batchproof-report.html');
    // The run directory is gone.
    expect(r.leftovers).toEqual([]);
  }, 240_000);

  test('the same page with --runInBand, next to jest-junit in the same reporters list', () => {
    fs.writeFileSync(
      path.join(dir, 'jest.junit.config.js'),
      "module.exports = { ...require('./jest.report.config.js'), reporters: ['default', ['jest-junit', { outputDirectory: 'junit' }], ['batchproof/reporter', { outputFile: 'with-junit.html' }]] };\n",
    );
    const r = jest(['--runInBand'], 'jest.junit.config.js');
    expect(r.code).toBe(1);
    expect(r.pids).toHaveLength(1);
    expectFullPage('with-junit.html');
    expect(fs.readFileSync(path.join(dir, 'junit', 'junit.xml'), 'utf8')).toMatch(/tests="5" failures="1"/);
    expect(r.leftovers).toEqual([]);
  }, 240_000);

  test('one page per shard, each with its own tests only; the pages merge with batchproof report', () => {
    const one = jest(['--shard=1/2']);
    const two = jest(['--shard=2/2']);
    // Which file lands in which shard is Jest's choice; together they are the whole run.
    expect([one.code, two.code].sort()).toEqual([0, 1]);
    const pages = ['batchproof-report.shard-1-of-2.html', 'batchproof-report.shard-2-of-2.html'];
    const shardEntries = pages.map(pageEntries);
    expect(shardEntries.map((e) => e.length).sort()).toEqual([1, 4]);
    const files = shardEntries.map((e) => new Set(e.map((x) => x.test?.file)));
    expect(files.every((f) => f.size === 1)).toBe(true);
    const merged = consumer.run('batchproof', ['report', ...pages, '-o', 'all.html']);
    expect(merged.code).toBe(0);
    expectFullPage('all.html');
  }, 240_000);

  test('a page that cannot be written: one line why, and Jest exit code stays its own', () => {
    // Passing tests only: the exit code must stay 0 whatever happens to the page.
    fs.writeFileSync(
      path.join(dir, 'jest.nodir.config.js'),
      "module.exports = { ...require('./jest.report.config.js'), testPathIgnorePatterns: ['a.test'], reporters: ['default', ['batchproof/reporter', { outputFile: 'missing/dir/page.html' }]] };\n",
    );
    const passing = jest(['--runInBand'], 'jest.nodir.config.js');
    expect(passing.output).toMatch(/Tests:\s+1 passed, 1 total/);
    expect(passing.code).toBe(0);
    const lines = passing.output.split('\n').filter((l) => l.includes('batchproof/reporter'));
    expect(lines).toEqual([expect.stringMatching(/^batchproof\/reporter: no page written: .*missing\/dir does not exist; create it first$/)]);
    expect(passing.output).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(dir, 'missing'))).toBe(false);
    expect(passing.leftovers).toEqual([]);
  }, 240_000);

  test("never replaces a file that is not a page: the user's package.json stays as it was", () => {
    const before = fs.readFileSync(path.join(dir, 'package.json'), 'utf8');
    fs.writeFileSync(
      path.join(dir, 'jest.clobber.config.js'),
      "module.exports = { ...require('./jest.report.config.js'), testPathIgnorePatterns: ['a.test'], reporters: ['default', ['batchproof/reporter', { outputFile: 'package.json' }]] };\n",
    );
    const r = jest(['--runInBand'], 'jest.clobber.config.js');
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/batchproof\/reporter: no page written: package\.json exists and is not an HTML page; remove it or choose another outputFile/);
    expect(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).toBe(before);
  }, 240_000);
});

describe('the record hook without the reporter', () => {
  test('writes nothing when BATCHPROOF_REPORT_DIR is unset, one file per report when set', async () => {
    const { recordReport } = await import('../../matchers/record');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-record-'));
    const saved = process.env.BATCHPROOF_REPORT_DIR;
    try {
      delete process.env.BATCHPROOF_REPORT_DIR;
      recordReport({ testPath: '/x.test.ts', currentTestName: 't' }, { kind: 'determinism' });
      expect(fs.readdirSync(dir)).toEqual([]);
      process.env.BATCHPROOF_REPORT_DIR = dir;
      recordReport({ testPath: '/x.test.ts', currentTestName: 't' }, { kind: 'determinism', worst: Infinity });
      const files = fs.readdirSync(dir);
      expect(files).toHaveLength(1);
      expect(JSON.parse(fs.readFileSync(path.join(dir, files[0]), 'utf8'))).toEqual({ testPath: '/x.test.ts', testName: 't', report: { kind: 'determinism', worst: 'Infinity' } });
      // A .not matcher's record says so, for the page's verdict.
      recordReport({ testPath: '/x.test.ts', currentTestName: 'n', isNot: true }, { kind: 'determinism' });
      const negated = fs.readdirSync(dir).filter((f) => f !== files[0]);
      expect(JSON.parse(fs.readFileSync(path.join(dir, negated[0]), 'utf8'))).toMatchObject({ testName: 'n', isNot: true });
    } finally {
      if (saved === undefined) delete process.env.BATCHPROOF_REPORT_DIR;
      else process.env.BATCHPROOF_REPORT_DIR = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Spawned under timeout: a reporter that opened the FIFO to read its head would wait for a
// writer for ever, and Jest with it.
test('an outputFile that is a FIFO is written to, not read first', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-reporter-fifo-'));
  try {
    const fifo = path.join(dir, 'page.html');
    spawnSync('mkfifo', [fifo]);
    const reporter = path.join(__dirname, '..', '..', 'dist', 'matchers', 'reporter.js');
    const script = `const R = require(${JSON.stringify(reporter)}).default; new R({ rootDir: ${JSON.stringify(dir)} }, { outputFile: ${JSON.stringify(fifo)} }).onRunComplete(null, { testResults: [] });`;
    const r = spawnSync('bash', ['-c', `timeout 15 cat "$1" > "$1.got" & timeout 15 "${process.execPath}" -e "$2"; wait`, 'bash', fifo, script], { encoding: 'utf8', timeout: 20000 });
    expect(r.stderr).toMatch(/^batchproof\/reporter: page written to .*page\.html: 0 report\(s\)/);
    expect(fs.readFileSync(`${fifo}.got`, 'utf8')).toMatch(/^<!doctype html>/);
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
