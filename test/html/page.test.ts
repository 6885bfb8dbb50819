// The HTML page (issue 12) from real reports: tiny models run through the built CLI (`check`,
// `locate`, `compare`, `stats` with --json and --html), then `batchproof report`. The page's
// charts are drawn by vega, an ES module, so everything runs in a child process (Jest's module
// realm has no import()). Browser checks (console errors, layout) are test/reporter's.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodeNpy } from '../../src/io/npy';
import { readReportFiles } from '../../src/html/read';
import { slimSvg } from '../../src/html/page';
import { CSS } from '../../src/html/style';
import { batchIntegerModel, bnCalibrationData, bnModel, driftModel, invariantModel, leakyModel } from '../helpers/models';
import { checkBatchInvariance, compareProviders, formatReport } from '../../src';
import { renderPage } from '../../src/html';
import { writeBaseline } from '../../src/snapshot/store';
import { fingerprintFor } from '../../src/runtime/fingerprint';
import { embeddings, nudged } from '../snapshot/support';

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
  return [...html.matchAll(/<figure class="bp-chart" data-chart="([a-z]+)">(<svg[\s\S]*?<\/svg>)<figcaption[^>]*>([\s\S]*?)<\/figcaption><\/figure>/g)].map((m) => ({ kind: m[1], svg: m[2], caption: m[3] }));
}

/** Marks vega drew (symbols, lines, bars, rules) with geometry: a chart that is not empty. */
function marks(svg: string): number {
  return [...svg.matchAll(/<g class="mark-(?:symbol|line|rect|rule|tick|text)"[^>]*>(?:<(?:path|line|text)[^>]*(?: d="M|transform=")[^>]*>)+/g)].length;
}

/** Diamonds of the points' size (6.4 px across; the legend's are 10): M x,y L x+3.2,y-3.2 L x+6.4,y L x+3.2,y+3.2 Z. */
function diamonds(svg: string): number {
  const close = (a: number, b: number) => Math.abs(a - b) < 0.15;
  return [...svg.matchAll(/d="M(-?[\d.]+),(-?[\d.]+)L(-?[\d.]+),(-?[\d.]+)L(-?[\d.]+),(-?[\d.]+)L(-?[\d.]+),(-?[\d.]+)Z"/g)]
    .map((m) => m.slice(1, 9).map(Number))
    .filter(([x0, y0, x1, y1, x2, y2, x3, y3]) => close(x1 - x0, 3.2) && close(y0 - y1, 3.2) && close(x2 - x0, 6.4) && close(y2, y0) && close(x3, x1) && close(y3 - y0, 3.2)).length;
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
    expect(diamonds(leaky.svg)).toBeGreaterThan(0);
    expect(diamonds(invariant.svg)).toBe(0);
  });

  test('the locate profile marks the first diverging node', () => {
    const locate = JSON.parse(fs.readFileSync(at('locate.json'), 'utf8'));
    const profile = figures(section(html, 4)).find((f) => f.kind === 'profile')!;
    expect(profile.caption).toContain(`First diverging node: ${locate.firstDivergence.node}`);
    expect(profile.svg).toContain(locate.firstDivergence.node);
  });

  test('fingerprint, options and diagnosis are tables; a fingerprint the reports share is shown once, at the top', () => {
    const shared = html.slice(html.indexOf('<section id="shared">'), html.indexOf('</section>', html.indexOf('<section id="shared">')));
    expect(shared).toMatch(/<h3>Fingerprint<\/h3><table><tbody><tr><th>onnxruntime<td>/);
    expect(shared).toMatch(/\d of 6 reports; a report whose own differs lists where/);
    // Section 1 has the shared fingerprint: a pointer to the top, not the table again.
    expect(section(html, 1)).not.toMatch(/<h3>Fingerprint/);
    // The two tiny checks have the same options and plan, but 2 of 6 reports are not the page's: each shows its own.
    expect(shared).not.toMatch(/Options and plan/);
    expect(section(html, 1)).toMatch(/<h3>Options and plan<\/h3><table><tbody><tr><th>reference<td class="n">1/);
    expect(section(html, 1)).toMatch(/<p class="bp-meta">Fingerprint: as the page shares at the top \(<a href="#shared">/);
    expect(section(html, 3)).toMatch(/<h3>Diagnosis<\/h3><table>[\s\S]*dynamic-quantization/);
    // Lean markup: numeric columns named once on the table, no closing cell tags.
    expect(section(html, 1)).toMatch(/<h3>Per batch size<\/h3><table class="n1 n3[^"]*"><thead><tr><th>batch<th>/);
    expect(section(html, 1)).not.toMatch(/<\/td>/);
  });

  test('a report whose fingerprint differs from the shared one lists where', () => {
    const reports = ['invariant', 'leaky', 'quantized'].map((n) => JSON.parse(fs.readFileSync(at(`${n}.json`), 'utf8')));
    reports[2].fingerprint = { ...reports[2].fingerprint, threads: 7 };
    fs.writeFileSync(at('fp.json'), JSON.stringify(reports));
    expect(run('report', at('fp.json'), '-o', at('fp.html')).code).toBe(0);
    const page = fs.readFileSync(at('fp.html'), 'utf8');
    expect(page).toMatch(/2 of 3 reports; a report whose own differs/);
    // Two of three is enough to share: the two tiny checks' options and plan are at the top.
    expect(page.slice(page.indexOf('<section id="shared">'), page.indexOf('</section>', page.indexOf('<section id="shared">')))).toMatch(/<h3>Options and plan<\/h3>/);
    expect(section(page, 3)).toMatch(/<h3>Fingerprint: the field where it differs from the one the page shares at the top \(the others as there\)<\/h3><table><tbody><tr><th>threads<td class="n">7<\/tbody>/);
    // One report: nothing to share, its tables whole.
    expect(run('report', at('invariant.json'), '-o', at('one.html')).code).toBe(0);
    const one = fs.readFileSync(at('one.html'), 'utf8');
    expect(one).not.toContain('id="shared"');
    expect(section(one, 1)).toMatch(/<h3>Fingerprint<\/h3><table>/);
  });
});

describe('merging pages, bad input, --keep-going, outputs', () => {
  test('two pages merge into the union of their entries', () => {
    expect(run('report', at('invariant.json'), '-o', at('a.html')).code).toBe(0);
    expect(run('report', at('leaky.json'), at('locate.json'), '-o', at('b.html')).code).toBe(0);
    const r = run('report', at('a.html'), at('b.html'), '-o', at('all.html'));
    expect([r.code, r.stdout]).toEqual([0, expect.stringMatching(/3 reports/)]);
    const data = (file: string) => readReportFiles([file]).entries;
    expect(data(at('all.html'))).toEqual([...data(at('a.html')), ...data(at('b.html'))]);
    expect(data(at('all.html')).map((e) => (e.report as { kind: string }).kind)).toEqual(['batch-invariance', 'batch-invariance', 'locate']);
    // The entries are packed (zlib, base64), with the packing named.
    const envelope = JSON.parse(/<script type="application\/json" id="batchproof-data">([\s\S]*?)<\/script>/.exec(fs.readFileSync(at('all.html'), 'utf8'))![1]);
    expect(envelope).toEqual({ schema: 1, generated: expect.any(String), encoding: 'zlib+base64', data: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/) });
  });

  test('a page written before the entries were packed (plain JSON) still reads and merges', () => {
    const report = JSON.parse(fs.readFileSync(at('invariant.json'), 'utf8'));
    const plain = JSON.stringify({ schema: 1, generated: '2025-01-01T00:00:00.000Z', entries: [{ report, source: 'old.json' }] }).replace(/</g, '\\u003c');
    fs.writeFileSync(at('old.html'), `<!doctype html><html><body><script type="application/json" id="batchproof-data">${plain}</script></body></html>`);
    expect(readReportFiles([at('old.html')]).entries).toEqual([{ report, source: 'old.json' }]);
    const r = run('report', at('old.html'), at('leaky.json'), '-o', at('old-merged.html'));
    expect([r.code, r.stdout]).toEqual([0, expect.stringMatching(/2 reports/)]);
    expect(readReportFiles([at('old-merged.html')]).entries[0]).toEqual({ report, source: 'old.json' });
  });

  test('packed data cut short or of an unknown packing: one line naming the file', () => {
    const page = fs.readFileSync(at('a.html'), 'utf8');
    const cut = page.replace(/("data":"[A-Za-z0-9+/]{40})[A-Za-z0-9+/=]+"/, '$1"');
    fs.writeFileSync(at('cut.html'), cut);
    expect(() => readReportFiles([at('cut.html')])).toThrow(/cut\.html: the page's embedded data: the packed data does not inflate .*truncated or damaged/);
    fs.writeFileSync(at('brotli.html'), page.replace('"encoding":"zlib+base64"', '"encoding":"brotli"'));
    expect(() => readReportFiles([at('brotli.html')])).toThrow(/brotli\.html: the page's embedded data is packed as "brotli", which this batchproof does not read/);
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

  test('standard output takes one thing: the page (its report for people on stderr), the JSON, never two run together', () => {
    const page = run('check', at('invariant.onnx'), ...sweep, '--html', '-');
    expect(page.code).toBe(0);
    expect(page.stdout).toMatch(/^<!doctype html>[\s\S]*<\/html>\n$/);
    expect(page.stderr).toMatch(/^\S*invariant\.onnx: invariant\n/);
    // /dev/stdout is stdout too: the page alone there, the JSON alone there.
    const both = run('check', at('invariant.onnx'), ...sweep, '--html', '/dev/stdout', '--json', at('beside.json'));
    expect([both.code, both.stdout.startsWith('<!doctype html>'), both.stderr]).toEqual([0, true, expect.stringMatching(/: invariant\n/)]);
    expect(JSON.parse(fs.readFileSync(at('beside.json'), 'utf8')).kind).toBe('batch-invariance');
    const json = run('check', at('invariant.onnx'), ...sweep, '--json', '/dev/stdout');
    expect([json.code, JSON.parse(json.stdout).kind]).toEqual([0, 'batch-invariance']);
    const merged = run('report', at('invariant.json'), '-o', '/dev/stdout');
    expect([merged.code, merged.stdout.startsWith('<!doctype html>'), merged.stdout.includes('wrote'), merged.stderr]).toEqual([0, true, false, expect.stringMatching(/^wrote \/dev\/stdout: 1 report/)]);
    // JSON and the page both on stdout: refused before any work, one line.
    for (const args of [['--json', '--html', '-'], ['--json', '-', '--html', '/dev/stdout'], ['--json', '/dev/stdout', '--html', '-']]) {
      const r = run('check', at('invariant.onnx'), ...sweep, ...args);
      expect([args, r.code, r.stdout, r.stderr]).toEqual([args, 2, '', expect.stringMatching(/^batchproof: --html \S+: the JSON report \(--json\) is printed on standard output already.*write one of them to a file, e\.g\. --html report\.html\n$/)]);
    }
  });

  test('sections off screen skip layout (content-visibility), and print shows them all', () => {
    expect(CSS).toMatch(/\.bp-report \{ content-visibility: auto; contain-intrinsic-size: auto 900px; \}/);
    const print = CSS.slice(CSS.indexOf('@media print'));
    expect(print).toMatch(/\.bp-report \{[^}]*content-visibility: visible;/);
  });

  test('slimSvg: the same drawing in shorter markup', () => {
    const svg = '<svg class="bp-svg" role="img" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" width="10" height="10"><g fill="none"><g class="mark-group"><g><path class="background" d="M0,0h10v10h-10Z"/>'
      + '<g class="mark-rule" stroke="currentColor" stroke-width="1"><line transform="translate(0,5)" x2="10" y2="0"/><line transform="translate(2.5,0)" x2="0" y2="10"/></g>'
      + '<g class="mark-symbol"><path transform="translate(5,5)" d="M-3.2,0L0,-3.2L3.2,0L0,3.2Z" fill="#d62728"/><path transform="translate(1,1)" d="M3.2,0A3.2,3.2,0,1,1,-3.2,0A3.2,3.2,0,1,1,3.2,0" fill="#d62728"/><path transform="translate(2,2)" d="M-1,-1h2v2h-2Z" fill="#2ca02c"/></g>'
      + '<g class="mark-text" fill="currentColor"><text text-anchor="start" transform="translate(1,2)">a &lt; b</text><text transform="translate(-4,5) rotate(-90)">up</text></g></g></g></g></svg>';
    expect(slimSvg(svg)).toBe('<svg class="bp-svg" role="img" width="10" height="10"><g fill="none">'
      + '<path stroke="currentColor" d="M0,5H10M2.5,0V10"/>'
      + '<g class="mark-symbol" fill="#d62728"><path d="M1.8,5L5,1.8L8.2,5L5,8.2Z"/><path d="M4.2,1A3.2,3.2,0,1,1,-2.2,1A3.2,3.2,0,1,1,4.2,1"/><path d="M1,1h2v2h-2Z" fill="#2ca02c"/></g>'
      + '<g fill="currentColor"><text x="1" y="2">a &lt; b</text><text transform="translate(-4,5) rotate(-90)">up</text></g></g></svg>');
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

describe('what a report page shows', () => {
  test('compare: one fingerprint per side, the other side\'s (wasm) as well as the reference\'s', () => {
    const r = run('compare', at('invariant.onnx'), '--against', 'wasm', '--against-batch-size', '1', '--json', at('wasm.json'), '--html', at('wasm.html'));
    expect([0, 1]).toContain(r.code);
    const report = JSON.parse(fs.readFileSync(at('wasm.json'), 'utf8'));
    const wasm = report.sides[1].fingerprint;
    expect(wasm.provider).toBe('wasm');
    const page = section(fs.readFileSync(at('wasm.html'), 'utf8'), 1);
    const table = page.slice(page.indexOf('<h3>Fingerprint per side'), page.indexOf('</table>', page.indexOf('<h3>Fingerprint per side')));
    expect(table).toContain(`<th>field<th>${report.sides[0].label}<th>${report.sides[1].label}</thead>`);
    expect(table).toMatch(/<tr><td>provider<td>cpu<td>wasm<tr>/);
    expect(table).toContain(`"simd":${wasm.wasm.simd}`);
    // Not the reference's alone besides.
    expect(page).not.toMatch(/<h3>Fingerprint<\/h3>/);
  }, 60_000);

  test('worst element in full precision and min cosine as "1-2e-5", as the text report prints them', () => {
    const r = run('check', 'examples/models/text_embedder_quantized.onnx', ...sweep, '--html', at('quantized.html'));
    expect(r.code).toBe(1);
    const page = section(fs.readFileSync(at('quantized.html'), 'utf8'), 1);
    const [, expected, actual] = /expected (-?[\d.e+-]+), got (-?[\d.e+-]+)/.exec(r.stdout)!;
    // More digits than three: the difference is in them.
    expect(expected.length).toBeGreaterThan(8);
    expect(page).toMatch(new RegExp(`<tr><th>expected<td class="n">${expected}<tr><th>actual<td class="n">${actual}<tr>`));
    // The text table's min cosine column, row by row, against the page's 7th column.
    const text = [...r.stdout.matchAll(/│\s*(\d+) │[^│]*│[^│]*│[^│]*│[^│]*│[^│]*│\s*(\S+) │/g)].map((m) => [m[1], m[2]]);
    expect(text.some(([, c]) => c.startsWith('1-'))).toBe(true);
    const table = page.slice(page.indexOf('<h3>Per batch size</h3>'));
    const html = [...table.slice(0, table.indexOf('</table>')).matchAll(/<tr><td>(\d+)(?:<td>[^<]*){5}<td>([^<]*)/g)].map((m) => [m[1], m[2]]);
    expect(html).toEqual(text);
  }, 60_000);

  test('compare, per side and output: each output\'s own verdict, not its side\'s (an equal output beside one that differs)', async () => {
    // y and j are bitwise equal alone and in a batch; k (the batch size in it) differs.
    const report = await compareProviders(batchIntegerModel(), [{ provider: 'cpu' }, { provider: 'cpu', batchSize: 1 }]);
    expect(report.comparisons[0].verdict).toBe('different');
    const page = section(await renderPage([{ report, source: 'ints' }]), 1);
    const table = page.slice(page.indexOf('<h3>Per side and output'), page.indexOf('</table>', page.indexOf('<h3>Per side and output')));
    const verdicts = [...table.matchAll(/<tr><td>[^<]*<td>(\w+)<td>([\w-]+)/g)].map((m) => [m[1], m[2]]);
    expect(verdicts).toEqual([['y', 'identical'], ['k', 'different'], ['j', 'identical']]);
  }, 60_000);

  test('check where nothing passes (an integer output changes with the batch): the page gives the text report\'s reason', async () => {
    const report = await checkBatchInvariance(batchIntegerModel(), { batchSizes: [1, 2, 4] });
    expect(report.minimumTolerance).toEqual({ atol: Infinity, rtol: Infinity, ulp: Infinity, cosine: Infinity });
    const line = /^minimum tolerance that passes: (.*)$/m.exec(formatReport(report, { color: false }))![1];
    // Only k, which differs: j is an integer output too, but equal at every batch size.
    expect(line).toBe("none: integer and bool outputs ('k' int64) compare exactly, whatever the tolerance, and it differs");
    const page = section(await renderPage([{ report, source: 'ints' }]), 1);
    expect(page).toContain(`<strong>minimum tolerance that passes:</strong> ${line.replace(/'/g, '&#39;')}`);
  }, 60_000);

  test('the recipe says what the answer says: only batches smaller than padTo are padded; an invariant model needs none', () => {
    const r = run('check', at('drift.onnx'), '--batch-sizes', '1,2,4', '--serve-sizes', '1,4', '--no-color', '--html', at('recipe.html'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/answer: batch 1 and batch 4 differ by at most \S+; pad batches smaller than 2 up to 2 and they are bitwise equal \(verified\)/);
    const page = section(fs.readFileSync(at('recipe.html'), 'utf8'), 1);
    expect(page).toContain('<p><strong>recipe:</strong> pad batches smaller than 2 up to 2 rows with zeros filler rows; makes sizes 1, 4 bitwise equal (verified)</p>');
    expect(page).not.toMatch(/pad every batch/);
    expect(run('report', at('invariant.json'), '-o', at('none.html')).code).toBe(0);
    expect(section(fs.readFileSync(at('none.html'), 'utf8'), 1)).toContain('<p><strong>recipe:</strong> none needed</p>');
  });

  test('check of a text model: the padding table says each run\'s length of the texts, none blank', () => {
    expect(run('report', at('quantized.json'), '-o', at('padding.html')).code).toBe(0);
    const page = section(fs.readFileSync(at('padding.html'), 'utf8'), 1);
    const start = page.indexOf('<th>run<th>against<th>');
    const table = page.slice(start, page.indexOf('</table>', start));
    const lengths = [...table.matchAll(/<tr><td>([a-z-]+)<td>[^<]*<td>([^<]*)/g)].map((m) => [m[1], m[2]]);
    const report = JSON.parse(fs.readFileSync(at('quantized.json'), 'utf8'));
    expect(lengths.map(([run]) => run)).toEqual(report.padding.comparisons.map((c: { run: string }) => c.run));
    expect(lengths).toContainEqual(['pad-ids', `${report.padding.limit} tokens`]);
    expect(lengths).toContainEqual(['unpadded', `${report.padding.lengths.join(', ')} tokens (own lengths)`]);
    expect(lengths.filter(([, length]) => length === '')).toEqual([]);
  });

  test('diff: titled with both files, and the text report\'s summary line (why it fails)', () => {
    const base = embeddings(50, 16);
    const write = (name: string, e: typeof base) => writeBaseline(at(name), e, { format: 1, tolerance: { kind: 'cosine', cosine: 1e-6 }, fingerprint: fingerprintFor({}), created: '2025-01-01T00:00:00.000Z', key: 'rows' });
    write('a.emb', base);
    write('b.emb', nudged(base, [3, 30], 0.3));
    const r = run('diff', at('a.emb'), at('b.emb'), '--no-color', '--html', at('diff.html'));
    expect(r.code).toBe(1);
    const why = r.stdout.split('\n')[0].replace(/^changed: /, '');
    expect(why).toMatch(/^2 of 50 rows moved beyond/);
    const page = section(fs.readFileSync(at('diff.html'), 'utf8'), 1);
    expect(page).toContain(`<h2>#1 diff: <code>${at('a.emb')} [rows] against ${at('b.emb')} [rows]</code></h2>`);
    expect(page).toContain(`<p><strong>summary:</strong> ${why.replace(/</g, '&lt;').replace(/>/g, '&gt;')}</p>`);
    // Rows with NaN or ±Inf have no distance to draw: the cosine chart's caption still counts them, so its rows add up.
    const broken = { ...base, data: base.data.slice() };
    broken.data[7 * 16] = Infinity;
    broken.data[9 * 16 + 1] = NaN;
    write('c.emb', broken);
    expect(run('diff', at('a.emb'), at('c.emb'), '--html', at('diff-nan.html')).code).toBe(1);
    const cosine = figures(fs.readFileSync(at('diff-nan.html'), 'utf8')).find((f) => f.kind === 'cosine')!;
    expect(cosine.caption).toMatch(/48 rows bitwise equal .*; 0 with a distance above 0; 2 with NaN or ±Inf, whose distance is undefined \(not drawn\)\./);
  });
});
