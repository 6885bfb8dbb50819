// The HTML page (issue 12) from real reports: tiny models run through the built CLI (`check`,
// `locate`, `compare`, `stats` with --json and --html), then `batchproof report`. The page's
// charts are drawn by vega, an ES module, so everything runs in a child process (Jest's module
// realm has no import()). Browser checks (console errors, layout) are test/reporter's.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodeNpy } from '../../src/io/npy';
import { bnCalibrationData, bnModel, driftModel, invariantModel, leakyModel } from '../helpers/models';

const bin = path.join(__dirname, '..', '..', 'dist', 'src', 'cli', 'bin.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-html-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => path.join(dir, name);

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: at('cache') } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Each figure of a page: its data-chart kind, caption and SVG. */
function figures(html: string): { kind: string; svg: string; caption: string }[] {
  return [...html.matchAll(/<figure class="bp-chart" data-chart="([a-z]+)">(<svg[\s\S]*?<\/svg>)<figcaption>([\s\S]*?)<\/figcaption><\/figure>/g)].map((m) => ({ kind: m[1], svg: m[2], caption: m[3] }));
}

/** Marks vega drew (symbols, lines, bars, rules) with geometry: a chart that is not empty. */
function marks(svg: string): number {
  return [...svg.matchAll(/<g class="mark-(?:symbol|line|rect|rule|tick|text)"[^>]*>(?:<(?:path|line|text)[^>]*(?: d="M|transform=")[^>]*>)+/g)].length;
}

/** The section of report n. */
function section(html: string, n: number): string {
  const start = html.indexOf(`id="report-${n}"`);
  const end = html.indexOf('</section>', start);
  return html.slice(start, end);
}

const sweep = ['--batch-sizes', '1,2,4'];

beforeAll(() => {
  fs.writeFileSync(at('invariant.onnx'), invariantModel());
  fs.writeFileSync(at('leaky.onnx'), leakyModel());
  fs.writeFileSync(at('drift.onnx'), driftModel());
  const bn = bnModel({ staleBn2: true });
  fs.writeFileSync(at('bn.onnx'), bn.bytes);
  fs.writeFileSync(at('calib.npy'), encodeNpy(bnCalibrationData(64) as never));
  expect(run('check', at('invariant.onnx'), ...sweep, '--json', at('invariant.json')).code).toBe(0);
  expect(run('check', at('leaky.onnx'), ...sweep, '--json', at('leaky.json')).code).toBe(1);
  expect(run('check', 'examples/models/text_embedder_quantized.onnx', ...sweep, '--json', at('quantized.json')).code).toBe(1);
  expect(run('locate', at('leaky.onnx'), ...sweep, '--json', at('locate.json')).code).toBe(1);
  expect([0, 1]).toContain(run('compare', at('drift.onnx'), '--threads', '1', '--against-threads', '2', '--json', at('compare.json')).code);
  expect([0, 1]).toContain(run('stats', at('bn.onnx'), '--data', at('calib.npy'), '--json', at('stats.json')).code);
}, 180_000);

describe('batchproof report: one page from reports of every kind', () => {
  let html = '';
  beforeAll(() => {
    const r = run('report', at('invariant.json'), at('leaky.json'), at('quantized.json'), at('locate.json'), at('compare.json'), at('stats.json'), '-o', at('page.html'));
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout.trim()).toMatch(/^wrote .*page\.html: 6 reports \(\d+ KiB\)$/);
    html = fs.readFileSync(at('page.html'), 'utf8');
  }, 60_000);

  test('every expected chart is there and has marks drawn', () => {
    const kinds = figures(html).map((f) => f.kind);
    for (const kind of ['drift', 'classes', 'padding', 'profile', 'errors', 'stats']) expect(kinds).toContain(kind);
    for (const f of figures(html)) expect([f.kind, marks(f.svg) > 0]).toEqual([f.kind, true]);
    // Self-contained: no script but the data, nothing fetched.
    expect(html).not.toMatch(/<script(?![^>]*application\/json)/);
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    expect(html).toMatch(/prefers-color-scheme: dark/);
    expect(html).toMatch(/@media print/);
  });

  test('the summary links each failure to its section; sections have the anchors', () => {
    const summary = html.slice(html.indexOf('id="summary"'), html.indexOf('</section>'));
    expect(summary).toMatch(/Failures: <a href="#report-2">#2<\/a>, <a href="#report-3">#3<\/a>, <a href="#report-4">#4<\/a>/);
    for (let n = 1; n <= 6; n++) expect(html).toContain(`id="report-${n}"`);
    expect(section(html, 2)).toMatch(/bp-status fail/);
    expect(section(html, 1)).toMatch(/bp-status pass/);
  });

  test('negative control: the leaky model marks its failing sizes, the invariant one marks none', () => {
    const leaky = figures(section(html, 2)).find((f) => f.kind === 'drift')!;
    const invariant = figures(section(html, 1)).find((f) => f.kind === 'drift')!;
    expect(leaky.caption).toMatch(/Fails at batch sizes 2, 4/);
    expect(invariant.caption).toMatch(/No batch size fails\. Bitwise equal at every size/);
    // Failing sizes are red diamonds; a diamond at the points' size (not the legend's) is a failing size drawn.
    const red = /d="M-3\.2,0L0,-3\.2L3\.2,0L0,3\.2Z"/;
    expect(leaky.svg).toMatch(red);
    expect(invariant.svg).not.toMatch(red);
  });

  test('the locate profile marks the first diverging node', () => {
    const locate = JSON.parse(fs.readFileSync(at('locate.json'), 'utf8'));
    const profile = figures(section(html, 4)).find((f) => f.kind === 'profile')!;
    expect(profile.caption).toContain(`First diverging node: ${locate.firstDivergence.node}`);
    expect(profile.svg).toContain(locate.firstDivergence.node);
  });

  test('fingerprint, options and diagnosis are tables', () => {
    expect(section(html, 1)).toMatch(/<h3>Fingerprint<\/h3><table>/);
    expect(section(html, 1)).toMatch(/<h3>Options and plan<\/h3><table>/);
    expect(section(html, 3)).toMatch(/<h3>Diagnosis<\/h3><table>[\s\S]*dynamic-quantization/);
  });
});

describe('merging pages, bad input, --keep-going, outputs', () => {
  test('two pages merge into the union of their entries', () => {
    expect(run('report', at('invariant.json'), '-o', at('a.html')).code).toBe(0);
    expect(run('report', at('leaky.json'), at('locate.json'), '-o', at('b.html')).code).toBe(0);
    const r = run('report', at('a.html'), at('b.html'), '-o', at('all.html'));
    expect([r.code, r.stdout]).toEqual([0, expect.stringMatching(/3 reports/)]);
    const data = (file: string) => JSON.parse(/<script type="application\/json" id="batchproof-data">([\s\S]*?)<\/script>/.exec(fs.readFileSync(file, 'utf8'))![1]).entries;
    expect(data(at('all.html'))).toEqual([...data(at('a.html')), ...data(at('b.html'))]);
    expect(figures(fs.readFileSync(at('all.html'), 'utf8')).map((f) => f.kind)).toEqual(['drift', 'classes', 'drift', 'classes', 'profile']);
  });

  test('embedded data survives </script> and <!-- in a report', () => {
    const report = JSON.parse(fs.readFileSync(at('invariant.json'), 'utf8'));
    report.model.path = 'evil</script><!--<script>alert(1)</script>.onnx';
    fs.writeFileSync(at('evil.json'), JSON.stringify(report));
    expect(run('report', at('evil.json'), '-o', at('evil.html')).code).toBe(0);
    const page = fs.readFileSync(at('evil.html'), 'utf8');
    expect(page.match(/<\/script>/g)).toHaveLength(1);
    expect(page).not.toContain('<!--');
    expect(run('report', at('evil.html'), '-o', at('evil2.html')).code).toBe(0);
    expect(fs.readFileSync(at('evil2.html'), 'utf8')).toContain('evil&lt;/script&gt;');
  });

  test.each([
    ['not a report', '{"hello": 1}', /not-a\.json: not a batchproof report \(no schema or kind field\)/],
    ['unknown schema', '{"schema": 9, "kind": "batch-invariance", "tool": {"name": "batchproof", "version": "9"}}', /unknown report schema 9/],
    ['truncated', '{"schema": 1, "kind": "batch-invariance", "tool": {"na', /is truncated/],
    ['empty', '', /is empty/],
    ['an HTML file that is not a page of ours', '<html><body>hi</body></html>', /an HTML file without batchproof's data/],
  ])('bad input: %s is one line, exit 2, no page', (_name, text, message) => {
    const file = at(_name === 'an HTML file that is not a page of ours' ? 'other.html' : 'not-a.json');
    fs.writeFileSync(file, text);
    fs.rmSync(at('bad.html'), { force: true });
    const r = run('report', at('invariant.json'), file, '-o', at('bad.html'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(file);
    expect(fs.existsSync(at('bad.html'))).toBe(false);
  });

  test('--keep-going: the page of the others, the left-out files named (stderr and page), exit 2', () => {
    fs.writeFileSync(at('junk.json'), '[1, 2');
    const r = run('report', at('invariant.json'), at('junk.json'), at('leaky.json'), '--keep-going', '-o', at('kept.html'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^batchproof: left out .*junk\.json: the report is truncated/);
    expect(r.stdout).toMatch(/2 reports, 1 file left out/);
    const page = fs.readFileSync(at('kept.html'), 'utf8');
    expect(page).toMatch(/Left out \(1\):[\s\S]*junk\.json/);
    expect(figures(page).filter((f) => f.kind === 'drift')).toHaveLength(2);
  });

  test('-o equal to an input, a missing -o, no inputs, --html on a model: refused before any work', () => {
    const before = fs.readFileSync(at('a.html'));
    const same = run('report', at('a.html'), at('leaky.json'), '-o', at('a.html'));
    expect([same.code, same.stderr]).toEqual([2, expect.stringMatching(/-o .*a\.html: is the input report .*never replaces what it reads/)]);
    expect(fs.readFileSync(at('a.html'))).toEqual(before);
    expect(run('report', at('a.html')).stderr).toMatch(/add -o report\.html/);
    expect(run('report', '-o', at('x.html')).stderr).toMatch(/no input files/);
    const onModel = run('check', at('invariant.onnx'), '--html', at('leaky.onnx'));
    expect([onModel.code, onModel.stderr]).toEqual([2, expect.stringMatching(/--html .*leaky\.onnx: is the input model|not an HTML page/)]);
    const notPage = run('check', at('invariant.onnx'), '--html', at('leaky.json'));
    expect([notPage.code, notPage.stderr]).toEqual([2, expect.stringMatching(/--html .*leaky\.json: the file exists and is not an HTML page/)]);
  });

  test('--html on check writes the page of that one report beside the text', () => {
    const r = run('check', at('leaky.onnx'), ...sweep, '--html', at('check.html'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/violated \(leakage\)/);
    const page = fs.readFileSync(at('check.html'), 'utf8');
    expect(figures(page).map((f) => f.kind)).toEqual(['drift', 'classes']);
    expect(page).toMatch(/Failures: <a href="#report-1">/);
  });

  // Build time and the browser's open time of 200 reports are measured in bench/html.bench.js;
  // here only the size, from 20 reports: the fixed part of the page counts against the bound.
  test('a page of check reports stays small: 20 reports within 1/200 of 6 MiB each', () => {
    const reports = ['invariant', 'leaky', 'quantized'].map((n) => JSON.parse(fs.readFileSync(at(`${n}.json`), 'utf8')));
    const count = 20;
    const many = Array.from({ length: count }, (_, i) => ({ ...reports[i % 3], model: { ...reports[i % 3].model, path: `model-${i}.onnx` } }));
    fs.writeFileSync(at('many.json'), JSON.stringify(many));
    const r = run('report', at('many.json'), '-o', at('many.html'));
    expect(r.code).toBe(0);
    const bytes = fs.statSync(at('many.html')).size;
    expect(figures(fs.readFileSync(at('many.html'), 'utf8')).length).toBeGreaterThanOrEqual(2 * count);
    // 200 such reports would stay under 6 MiB.
    expect(bytes / count).toBeLessThan((6 * 2 ** 20) / 200);
  }, 60_000);
});
