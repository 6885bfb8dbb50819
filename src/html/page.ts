/**
 * The whole page: a summary of every entry (pass/fail, kind, model, test), each failure linked
 * to its section, then one section per report with its statements, charts and tables. Charts
 * are inline SVG drawn now, so the page needs no script to show; the entries ride along, packed,
 * so pages merge (`batchproof report a.html b.html -o all.html`). Tables most reports of a run
 * have alike (fingerprint, options) are shown once at the top; a section lists where its own differ.
 */
import { BadInputError } from '../errors';
import { chartsFor, type Chart } from './charts';
import { DATA_ID, embedPacked, esc } from './escape';
import { commonTables, kindLabel, kvRowsTable, statements, statusOf, subjectOf, tableKey, tables, verdictOf, type KvRow, type SharedTables, type Status } from './sections';
import { CSS } from './style';
import { validateReport, type Report } from './validate';
import { renderSpec } from './vega';
import type { PageEntry, PageOptions } from './index';

type Obj = Record<string, unknown>;

interface Prepared {
  entry: PageEntry;
  report: Report | null;
  status: Status;
  n: number;
}

function prepare(entries: PageEntry[]): Prepared[] {
  if (!Array.isArray(entries)) throw new BadInputError('renderPage takes an array of entries ({ report, source?, test? })');
  return entries.map((entry, i) => {
    const where = entry?.source ?? `entry ${i + 1}`;
    if (typeof entry !== 'object' || entry === null) throw new BadInputError(`${where}: an entry must be { report, source?, test? }`);
    // A test with no batchproof report (it called no matcher) is listed, with no section.
    const report = entry.report === undefined || entry.report === null ? (entry.test ? null : validateReport(entry.report, where)) : validateReport(entry.report, where);
    return { entry, report, status: statusOf(report, entry.test), n: i + 1 };
  });
}

const STATUS_WORD: Record<Status, string> = { pass: 'pass', fail: 'FAIL', info: 'info' };

function badge(status: Status): string {
  return `<span class="bp-status ${status}">${STATUS_WORD[status]}</span>`;
}

/** The verdict as the summary shows it: a passing `.not` test's failing verdict was the point. */
function verdictCell(p: Prepared): string {
  const verdict = verdictOf(p.report);
  return p.entry.negated && p.entry.test?.status === 'passed' && verdict ? `${verdict}, as expected (.not)` : verdict;
}

function summary(items: Prepared[]): string {
  // A test counts once, whatever its entries: a failed check and the locate report it brought are one failure.
  const units = new Map<string, Prepared[]>();
  for (const p of items) {
    const key = p.entry.test ? `${p.entry.test.file}\0${p.entry.test.name}` : `#${p.n}`;
    units.set(key, [...(units.get(key) ?? []), p]);
  }
  const counts = { pass: 0, fail: 0, info: 0 };
  const failures: Prepared[] = [];
  for (const unit of units.values()) {
    const status: Status = unit.some((p) => p.status === 'fail') ? 'fail' : unit.some((p) => p.status === 'pass') ? 'pass' : 'info';
    counts[status]++;
    if (status === 'fail') failures.push(unit.find((p) => p.status === 'fail' && p.report) ?? unit[0]);
  }
  const testCount = [...units.values()].filter((u) => u[0].entry.test).length;
  const outside = units.size - testCount;
  const from = testCount ? ` from ${testCount} test${testCount === 1 ? '' : 's'}${outside ? ` and ${outside} report${outside === 1 ? '' : 's'} outside a test` : ''}` : '';
  const tests = testCount > 0;
  const rows = items.map((p) => {
    const test = p.entry.test;
    const label = p.report ? `<a href="#report-${p.n}">${esc(kindLabel(p.report))}</a>` : esc(kindLabel(p.report));
    return `<tr class="bp-${p.status}"><td>${badge(p.status)}</td><td>${label}</td><td><code>${esc(subjectOf(p.report))}</code></td>${tests ? `<td>${test ? `${esc(test.name)} <span class="bp-muted">${esc(test.file)} · ${esc(test.status)}${typeof test.duration === 'number' ? ` · ${Math.round(test.duration)} ms` : ''}</span>` : ''}</td>` : ''}<td>${esc(verdictCell(p))}</td><td>${p.entry.source ? `<code>${esc(p.entry.source)}</code>` : ''}</td></tr>`;
  });
  return `<section id="summary"><h2>Summary</h2>
<p>${items.length} entr${items.length === 1 ? 'y' : 'ies'}${from}: ${counts.fail} failed, ${counts.pass} passed${counts.info ? `, ${counts.info} informational` : ''}.${failures.length ? ` Failures: ${failures.map((p) => (p.report ? `<a href="#report-${p.n}">#${p.n}</a>` : `#${p.n}`)).join(', ')}.` : ''}</p>
<table><thead><tr><th>status</th><th>kind</th><th>model</th>${tests ? '<th>test</th>' : ''}<th>verdict</th><th>source</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></section>`;
}

const TRANSLATE = /^translate\((-?[\d.e-]+),(-?[\d.e-]+)\)$/;
const tenth = (x: number): string => String(Math.round(x * 10) / 10);

/** A line's translate folded into its end points (x1, y1, x2, y2; those of 0 left out, SVG's default). */
function line(attrs: string): string {
  let dx = 0;
  let dy = 0;
  const at: Record<string, number> = { x1: 0, y1: 0, x2: 0, y2: 0 };
  let rest = '';
  for (const a of attrs.matchAll(/ ([a-z0-9-]+)="([^"]*)"/g)) {
    const t = a[1] === 'transform' ? TRANSLATE.exec(a[2]) : null;
    if (t) [dx, dy] = [Number(t[1]), Number(t[2])];
    else if (a[1] in at && Number.isFinite(Number(a[2]))) at[a[1]] = Number(a[2]);
    else rest += a[0];
  }
  const ends = (['x1', 'y1', 'x2', 'y2'] as const).map((k) => [k, at[k] + (k[0] === 'x' ? dx : dy)] as const).filter(([, v]) => Math.round(v * 10) !== 0);
  return `<line${ends.map(([k, v]) => ` ${k}="${tenth(v)}"`).join('')}${rest}/>`;
}

/**
 * A group of two or more lines drawn alike (an axis's ticks, a grid) as one path of those
 * segments: the same strokes (a segment has no area, so nothing fills), one element, a fifth of the text.
 */
function linesAsPath(svg: string): string {
  return svg.replace(/<g((?: [a-z0-9-]+="[^"]*")*)>((?:<line(?: [a-z0-9-]+="[^"]*")*\/>){2,})<\/g>/g, (whole, gAttrs: string, lines: string) => {
    let d = '';
    let style: string | null = null;
    for (const l of lines.matchAll(/<line((?: [a-z0-9-]+="[^"]*")*)\/>/g)) {
      const at: Record<string, string> = { x1: '0', y1: '0', x2: '0', y2: '0' };
      let rest = '';
      for (const a of l[1].matchAll(/ ([a-z0-9-]+)="([^"]*)"/g)) {
        if (a[1] in at) at[a[1]] = a[2];
        else rest += a[0];
      }
      if (style !== null && rest !== style) return whole;
      style = rest;
      d += `M${at.x1},${at.y1}${at.x1 === at.x2 ? `V${at.y2}` : at.y1 === at.y2 ? `H${at.x2}` : `L${at.x2},${at.y2}`}`;
    }
    const own = new Set([...(style ?? '').matchAll(/ ([a-z0-9-]+)="/g)].map((m) => m[1]));
    // The group's attributes onto the path, when it is nothing but this path's style.
    if (!/ class="/.test(gAttrs) && !(own.has('transform') && / transform="/.test(gAttrs))) {
      const inherited = [...gAttrs.matchAll(/ ([a-z0-9-]+)="[^"]*"/g)].filter((m) => !own.has(m[1])).map((m) => m[0]).join('');
      return `<path${inherited}${style ?? ''} d="${d}"/>`;
    }
    return `<g${gAttrs}><path${style ?? ''} d="${d}"/></g>`;
  });
}

const NUMBER = /-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?/g;

/**
 * A symbol's path with its translate folded into its absolute coordinates (M, L, H, V and A's end
 * point; relative h, v, l move from there), or null for a path this does not know how to move.
 */
function movedPath(d: string, dx: number, dy: number): string | null {
  let out = '';
  let first = true;
  for (const [, cmd, args] of d.matchAll(/([A-Za-z])([^A-Za-z]*)/g)) {
    const n = (args.match(NUMBER) ?? []).map(Number);
    if (first && cmd !== 'M') return null;
    first = false;
    let moved: number[];
    if (cmd === 'M' || cmd === 'L') moved = n.map((v, i) => v + (i % 2 === 0 ? dx : dy));
    else if (cmd === 'H') moved = n.map((v) => v + dx);
    else if (cmd === 'V') moved = n.map((v) => v + dy);
    else if (cmd === 'A') moved = n.map((v, i) => v + (i % 7 === 5 ? dx : i % 7 === 6 ? dy : 0));
    else if ('hvlaZz'.includes(cmd)) moved = n;
    else return null;
    if ((cmd === 'M' || cmd === 'L') && n.length % 2 !== 0) return null;
    if ((cmd === 'A' || cmd === 'a') && n.length % 7 !== 0) return null;
    out += cmd + moved.map(tenth).join(',');
  }
  return out;
}

/** Attributes that inherit in SVG: a group's value is its children's unless they set their own. */
const INHERITED = ['fill', 'stroke', 'stroke-width', 'stroke-opacity', 'fill-opacity', 'stroke-dasharray', 'font-size', 'font-weight', 'text-anchor'];
const LEAVES = /<g((?: [a-z0-9-]+="[^"]*")*)>((?:<(?:path|text|line)(?: [a-z0-9-]+="[^"]*")*(?:\/>|>[^<]*<\/(?:path|text|line)>)){2,})<\/g>/g;
const LEAF = /<(path|text|line)((?: [a-z0-9-]+="[^"]*")*)(\/>|>[^<]*<\/\1>)/g;

/**
 * In a group of marks that each set an inherited attribute (every point its fill, every label its
 * anchor), the value most of them have moves to the group, once; the others keep their own.
 */
function hoistCommon(svg: string): string {
  return svg.replace(LEAVES, (whole: string, gAttrs: string, children: string) => {
    const leaves = [...children.matchAll(LEAF)].map((l) => ({ tag: l[1], attrs: l[2], end: l[3] }));
    let group = gAttrs;
    for (const name of INHERITED) {
      if (group.includes(` ${name}="`)) continue;
      const values = leaves.map((l) => new RegExp(` ${name}="([^"]*)"`).exec(l.attrs)?.[1]);
      if (values.some((v) => v === undefined)) continue;
      const counts = new Map<string, number>();
      for (const v of values) counts.set(v!, (counts.get(v!) ?? 0) + 1);
      const [best, count] = [...counts].reduce((a, b) => (b[1] > a[1] ? b : a));
      if (count < 2) continue;
      const attr = ` ${name}="${best}"`;
      group += attr;
      for (const l of leaves) l.attrs = l.attrs.replace(attr, '');
    }
    return group === gAttrs ? whole : `<g${group}>${leaves.map((l) => `<${l.tag}${l.attrs}${l.end}`).join('')}</g>`;
  });
}

/** SVG's initial values of inherited attributes, where the page's style sheet sets none. */
const INITIAL: Record<string, string> = { 'stroke-width': '1', 'stroke-opacity': '1', 'fill-opacity': '1', 'text-anchor': 'start' };

/** An inherited attribute an element sets to the value it would inherit anyway, left out. */
function dropInherited(svg: string): string {
  const stack: Record<string, string>[] = [{ ...INITIAL }];
  return svg.replace(/<(\/?)([a-z]+)((?: [a-z0-9-]+="[^"]*")*)(\/?)>/g, (tag, close: string, name: string, attrs: string, self: string) => {
    if (close) {
      stack.pop();
      return tag;
    }
    const inherited = stack[stack.length - 1];
    const mine = { ...inherited };
    let kept = '';
    for (const a of attrs.matchAll(/ ([a-z0-9-]+)="([^"]*)"/g)) {
      if (INHERITED.includes(a[1]) && inherited[a[1]] === a[2]) continue;
      if (INHERITED.includes(a[1])) mine[a[1]] = a[2];
      kept += a[0];
    }
    if (!self) stack.push(mine);
    return `<${name}${kept}${self}>`;
  });
}

/**
 * The chart's SVG without what an inline SVG in an HTML page does not use, and shorter, drawing
 * the same: no namespace declarations (the HTML parser gives svg its namespace); no empty
 * background paths (no fill, no stroke: the root group is fill="none"); a line's or a plain
 * text's or a symbol's translate written as its coordinates; the value most marks of a group set
 * set once on the group; a group of lines drawn alike as one path; no fill on texts (the style
 * sheet paints them all in currentColor); no inherited attribute set to what it inherits; no class on the groups of axis rules and labels
 * (the mark groups of the data, mark-symbol, mark-line, mark-rect..., keep theirs); and groups
 * left with no attribute, or only vega's class="mark-group", unwrapped (they neither style nor
 * move their children). A chart of vega's is about a third smaller and has fewer elements.
 */
export function slimSvg(svg: string): string {
  const out = svg
    .replace(/^<svg([^>]*)>/, (_m, attrs: string) => `<svg${attrs.replace(/ (?:xmlns(?::xlink)?|version)="[^"]*"/g, '')}>`)
    .replace(/<path class="background" d="[^"]*"\/>/g, '')
    .replace(/<line((?: [a-z0-9-]+="[^"]*")*)\/>/g, (_m, attrs: string) => line(attrs))
    // The style sheet paints every chart text in currentColor (.bp-chart svg text), over any fill.
    .replace(/<text((?: [a-z0-9-]+="[^"]*")*)>/g, (_m, attrs: string) => `<text${attrs.replace(/ fill="[^"]*"/, '')}>`)
    // Only a text with no tspan: a tspan's x would be taken from the svg's origin, not the text's.
    .replace(/<text((?: [a-z0-9-]+="[^"]*")*)>([^<]*)<\/text>/g, (whole, attrs: string, body: string) => {
      const m = / transform="translate\((-?[\d.e-]+),(-?[\d.e-]+)\)"/.exec(attrs);
      if (!m || / (?:x|y)="/.test(attrs)) return whole;
      return `<text${attrs.replace(m[0], '')} x="${m[1]}" y="${m[2]}">${body}</text>`;
    })
    .replace(/<path((?: [a-z0-9-]+="[^"]*")*)\/>/g, (whole, attrs: string) => {
      const t = / transform="translate\((-?[\d.e-]+),(-?[\d.e-]+)\)"/.exec(attrs);
      const d = / d="([^"]*)"/.exec(attrs);
      const moved = t && d ? movedPath(d[1], Number(t[1]), Number(t[2])) : null;
      return moved === null ? whole : `<path${attrs.replace(t![0], '').replace(d![0], ` d="${moved}"`)}/>`;
    })
    .replace(/<g class="mark-(?:text|rule)"/g, '<g');
  // Unwrap bare groups: each <g> opened says whether its </g> is kept.
  const kept: boolean[] = [];
  return dropInherited(hoistCommon(linesAsPath(out))).replace(/<g(?: class="mark-group")?>|<g\b[^>]*>|<\/g>/g, (tag) => {
    if (tag === '</g>') return kept.pop() === false ? '' : tag;
    const bare = tag === '<g>' || tag === '<g class="mark-group">';
    kept.push(!bare);
    return bare ? '' : tag;
  });
}

/** A chart and its caption; the svg (role="img") is named by the caption, for screen readers. */
async function figure(chart: Chart, id: string): Promise<string> {
  const svg = slimSvg(await renderSpec(chart.spec)).replace(/^<svg /, `<svg aria-labelledby="${id}" `);
  return `<figure class="bp-chart" data-chart="${esc(chart.kind)}">${svg}<figcaption id="${id}"><span class="bp-title">${esc(chart.title)}</span>${esc(chart.caption)}</figcaption></figure>`;
}

async function section(p: Prepared, shared: SharedTables): Promise<string> {
  const r = p.report as Obj;
  const test = p.entry.test;
  const figures = await Promise.all(chartsFor(r).map((chart, i) => figure(chart, `chart-${p.n}-${i + 1}`)));
  return `<section class="bp-report bp-${p.status}" id="report-${p.n}" data-kind="${esc(r.kind)}">
<header>${badge(p.status)}<h2>#${p.n} ${esc(kindLabel(r))}: <code>${esc(subjectOf(r))}</code></h2>${test ? `<span class="bp-meta">${esc(test.file)} › ${esc(test.name)} (${esc(test.status)})</span>` : ''}${p.entry.source ? `<span class="bp-meta">from <code>${esc(p.entry.source)}</code></span>` : ''}</header>
${statements(r)}
${figures.join('\n')}
${tables(r, shared)}
</section>`;
}

/**
 * Per caption, the table most reports have alike, when at least two and two thirds of the page's
 * reports do: one only a few share is no more the page's than any other, so each shows its own.
 */
function chooseShared(items: Prepared[]): SharedTables {
  const reports = items.filter((p) => p.report).length;
  const seen = new Map<string, Map<string, { rows: KvRow[]; count: number }>>();
  for (const p of items) {
    if (!p.report) continue;
    for (const t of commonTables(p.report as Obj)) {
      const byKey = seen.get(t.caption) ?? new Map<string, { rows: KvRow[]; count: number }>();
      seen.set(t.caption, byKey);
      const key = tableKey(t.rows);
      const had = byKey.get(key);
      if (had) had.count++;
      else byKey.set(key, { rows: t.rows, count: 1 });
    }
  }
  const shared: SharedTables = new Map();
  for (const [caption, byKey] of seen) {
    const best = [...byKey.values()].reduce((a, b) => (b.count > a.count ? b : a));
    if (best.count >= 2 && best.count * 3 >= reports * 2) shared.set(caption, best);
  }
  return shared;
}

function sharedSection(shared: SharedTables, items: Prepared[]): string {
  if (shared.size === 0) return '';
  const reports = items.filter((p) => p.report).length;
  const parts = [...shared].map(([caption, t]) => `${kvRowsTable(t.rows, caption)}<p class="bp-meta">${t.count} of ${reports} reports; a report whose own differs lists where in its section.</p>`);
  return `<section id="shared"><h2>Shared by the reports</h2>
${parts.join('\n')}
</section>`;
}

export async function buildPage(entries: PageEntry[], options: PageOptions & { problems?: string[] } = {}): Promise<string> {
  const items = prepare(entries);
  const title = options.title ?? 'batchproof report';
  const generated = options.generated ?? new Date().toISOString();
  const shared = chooseShared(items);
  const sections: string[] = [];
  // One at a time: a page of hundreds of reports keeps one chart's scenegraph in memory, not all.
  for (const p of items) if (p.report) sections.push(await section(p, shared));
  const problems = options.problems ?? [];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><meta name="generator" content="batchproof">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>
<header><h1>${esc(title)}</h1><p class="bp-meta">generated ${esc(generated)} by batchproof</p></header>
${problems.length ? `<div class="bp-problems"><strong>Left out (${problems.length}):</strong><ul>${problems.map((m) => `<li>${esc(m)}</li>`).join('')}</ul></div>` : ''}
${summary(items)}
${sharedSection(shared, items)}
${sections.join('\n')}
<script type="application/json" id="${DATA_ID}">${embedPacked({ schema: 1, generated }, items.map((p) => p.entry))}</script>
</body></html>
`;
}
