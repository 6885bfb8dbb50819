/**
 * The whole page: a summary of every entry (pass/fail, kind, model, test), each failure linked
 * to its section, then one section per report with its statements, charts and tables. Charts
 * are inline SVG drawn now, so the page needs no script to show; the entries ride along as JSON
 * so pages merge (`batchproof report a.html b.html -o all.html`).
 */
import { BadInputError } from '../errors';
import { chartsFor, type Chart } from './charts';
import { DATA_ID, embedJson, esc } from './escape';
import { kindLabel, statements, statusOf, subjectOf, tables, verdictOf, type Status } from './sections';
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

function summary(items: Prepared[]): string {
  const counts = { pass: 0, fail: 0, info: 0 };
  for (const p of items) counts[p.status]++;
  const tests = items.some((p) => p.entry.test);
  const rows = items.map((p) => {
    const test = p.entry.test;
    const label = p.report ? `<a href="#report-${p.n}">${esc(kindLabel(p.report))}</a>` : esc(kindLabel(p.report));
    return `<tr class="bp-${p.status}"><td>${badge(p.status)}</td><td>${label}</td><td><code>${esc(subjectOf(p.report))}</code></td>${tests ? `<td>${test ? `${esc(test.name)} <span class="bp-muted">${esc(test.file)} · ${esc(test.status)}${typeof test.duration === 'number' ? ` · ${Math.round(test.duration)} ms` : ''}</span>` : ''}</td>` : ''}<td>${esc(verdictOf(p.report))}</td><td>${p.entry.source ? `<code>${esc(p.entry.source)}</code>` : ''}</td></tr>`;
  });
  const failures = items.filter((p) => p.status === 'fail');
  return `<section id="summary"><h2>Summary</h2>
<p>${items.length} entr${items.length === 1 ? 'y' : 'ies'}: ${counts.fail} failed, ${counts.pass} passed${counts.info ? `, ${counts.info} informational` : ''}.${failures.length ? ` Failures: ${failures.map((p) => (p.report ? `<a href="#report-${p.n}">#${p.n}</a>` : `#${p.n}`)).join(', ')}.` : ''}</p>
<table><thead><tr><th>status</th><th>kind</th><th>model</th>${tests ? '<th>test</th>' : ''}<th>verdict</th><th>source</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></section>`;
}

async function figure(chart: Chart): Promise<string> {
  const svg = await renderSpec(chart.spec);
  return `<figure class="bp-chart" data-chart="${esc(chart.kind)}">${svg}<figcaption><span class="bp-title">${esc(chart.title)}</span>${esc(chart.caption)}</figcaption></figure>`;
}

async function section(p: Prepared): Promise<string> {
  const r = p.report as Obj;
  const test = p.entry.test;
  const figures = await Promise.all(chartsFor(r).map(figure));
  return `<section class="bp-report bp-${p.status}" id="report-${p.n}" data-kind="${esc(r.kind)}">
<header>${badge(p.status)}<h2>#${p.n} ${esc(kindLabel(r))}: <code>${esc(subjectOf(r))}</code></h2>${test ? `<span class="bp-meta">${esc(test.file)} › ${esc(test.name)} (${esc(test.status)})</span>` : ''}${p.entry.source ? `<span class="bp-meta">from <code>${esc(p.entry.source)}</code></span>` : ''}</header>
${statements(r)}
${figures.join('\n')}
${tables(r)}
</section>`;
}

export async function buildPage(entries: PageEntry[], options: PageOptions & { problems?: string[] } = {}): Promise<string> {
  const items = prepare(entries);
  const title = options.title ?? 'batchproof report';
  const generated = options.generated ?? new Date().toISOString();
  const sections: string[] = [];
  // One at a time: a page of hundreds of reports keeps one chart's scenegraph in memory, not all.
  for (const p of items) if (p.report) sections.push(await section(p));
  const problems = options.problems ?? [];
  const data = { schema: 1, generated, entries: items.map((p) => p.entry) };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><meta name="generator" content="batchproof">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>
<header><h1>${esc(title)}</h1><p class="bp-meta">generated ${esc(generated)} by batchproof</p></header>
${problems.length ? `<div class="bp-problems"><strong>Left out (${problems.length}):</strong><ul>${problems.map((m) => `<li>${esc(m)}</li>`).join('')}</ul></div>` : ''}
${summary(items)}
${sections.join('\n')}
<script type="application/json" id="${DATA_ID}">${embedJson(data)}</script>
</body></html>
`;
}
