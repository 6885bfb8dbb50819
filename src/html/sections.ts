/**
 * One report as HTML: the statements that answer the question (verdict, causes, summary, the
 * served answer and recipe), then its charts, then its numbers as tables (per kind), then the
 * fingerprint, options and diagnosis every report carries. Fields a report lacks are skipped.
 */
import { esc, escText } from './escape';
import { cosine, exact, minimumToleranceLine } from '../report/format';
import type { EmbeddingReport } from '../snapshot/compare';
import { embeddingSummary } from '../snapshot/text';
import { paddedLengthOf } from './charts';
import { fmt, isNum, num } from './numbers';
import { KINDS } from './validate';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export type Status = 'pass' | 'fail' | 'info';

/** Verdicts that mean the check failed, whatever the kind. */
const FAILING = new Set(['violated', 'nondeterministic', 'different', 'problems', 'changed']);
const INFO_KINDS = new Set(['fingerprint', 'recalibration']);

export function statusOf(report: Obj | null, test?: { status: string }): Status {
  if (test?.status === 'failed') return 'fail';
  const own = reportStatus(report, test);
  // A test's outcome decides: a passing `.not` matcher's report says 'violated' on purpose.
  return own === 'fail' && test?.status === 'passed' ? 'pass' : own;
}

function reportStatus(report: Obj | null, test?: { status: string }): Status {
  if (!report) return test?.status === 'passed' ? 'pass' : 'info';
  if (report.kind === 'locate') return FAILING.has(String(obj(report.check)?.verdict)) ? 'fail' : 'pass';
  // A kind this page does not know: its verdict's words are not known either.
  if (!(String(report.kind) in KINDS)) return test?.status === 'passed' ? 'pass' : 'info';
  if (typeof report.verdict === 'string') return FAILING.has(report.verdict) ? 'fail' : 'pass';
  if (report.pass === false) return 'fail';
  if (INFO_KINDS.has(String(report.kind))) return 'info';
  return test?.status === 'passed' ? 'pass' : 'info';
}

export function kindLabel(report: Obj | null): string {
  if (!report) return 'test';
  return KINDS[String(report.kind)] ?? String(report.kind);
}

/** What the report is about: the model's path, or the baseline's file for a diff. */
export function subjectOf(report: Obj | null): string {
  if (!report) return '';
  const model = obj(report.model);
  if (typeof model?.path === 'string') return model.path;
  // A diff: both files, the baseline first.
  const file = (side: Obj | null) => (typeof side?.file === 'string' ? `${side.file}${side.key ? ` [${String(side.key)}]` : ''}` : '');
  const [baseline, current] = [file(obj(report.baseline)), file(obj(report.current))];
  if (baseline) return current ? `${baseline} against ${current}` : baseline;
  return '';
}

export function verdictOf(report: Obj | null): string {
  if (!report) return '';
  if (report.kind === 'locate') {
    const first = obj(report.firstDivergence);
    return first ? `diverges at ${String(first.node)}` : `no divergence (${String(obj(report.check)?.verdict ?? '')})`;
  }
  const causes = arr(report.causes).map(String);
  return typeof report.verdict === 'string' ? `${report.verdict}${causes.length ? ` (${causes.join(', ')})` : ''}` : '';
}

// ---- tables -------------------------------------------------------------------------------

/**
 * A cell's content: numbers formatted, arrays joined, objects as compact JSON (short). Nothing
 * (null, a field not there) is an empty cell, which the style sheet shows as a muted dash.
 */
function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number' || (isNum(v) && typeof v === 'string')) return escText(fmt(v));
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null)) return escText(v.map((x) => (typeof x === 'number' ? fmt(x) : String(x))).join(', '));
  if (typeof v === 'object') {
    const text = JSON.stringify(v);
    return `<code>${escText(text.length > 300 ? `${text.slice(0, 297)}...` : text)}</code>`;
  }
  return escText(v);
}

const numeric = (v: unknown) => typeof v === 'number' || (typeof v === 'string' && isNum(v));

/** One key/value row: the key, the value's cell and whether it is a number (right-aligned). */
export interface KvRow {
  key: string;
  html: string;
  n: boolean;
}

/** The rows of an object's fields (all, or those named); fields not there are left out. */
export function kvRows(o: Obj | null, keys?: readonly string[]): KvRow[] {
  if (!o) return [];
  return (keys ?? Object.keys(o)).filter((k) => o[k] !== undefined).map((k) => ({ key: k, html: cell(o[k]), n: numeric(o[k]) }));
}

/**
 * Rows as a key/value table. The markup is lean, as a page of hundreds of reports needs: the
 * optional end tags of th, td and tr are left out (HTML closes them at the next cell, row or
 * </tbody>), and only numbers carry a class.
 */
export function kvRowsTable(rows: readonly KvRow[], caption?: string): string {
  if (rows.length === 0) return '';
  return `${caption ? `<h3>${esc(caption)}</h3>` : ''}<table><tbody>${rows.map((r) => `<tr><th>${escText(r.key)}<td${r.n ? ' class="n"' : ''}>${r.html}`).join('')}</tbody></table>`;
}

/** Key/value rows of an object's fields (all, or those named). */
export function kvTable(o: Obj | null, keys?: readonly string[], caption?: string): string {
  return kvRowsTable(kvRows(o, keys), caption);
}

/** A number as a column prints it, where the three digits of fmt would hide what matters. */
type Format = (x: number) => string;

/** A worst element: expected and actual in full, as the text report prints them (3 digits would read equal). */
function worstTable(w: Obj | null, caption = 'Worst element'): string {
  return kvRowsTable(kvRows(w).map((row) => (['expected', 'actual'].includes(row.key) && numeric(w![row.key]) ? { ...row, html: escText(exact(num(w![row.key]))) } : row)), caption);
}

/**
 * Rows of objects as a table; columns: [field, heading, format?] (format: for a number). A column whose every value is a number
 * is named once in the table's class (`n2`: the 2nd column is right-aligned), not in each cell.
 */
export function rowsTable(rows: unknown[], columns: readonly (readonly [string, string, Format?])[], caption?: string, limit = 200): string {
  const items = rows.map(obj).filter((r): r is Obj => r !== null);
  if (items.length === 0) return '';
  const shown = items.slice(0, limit);
  const numbers = columns
    .map(([f], i) => (shown.some((r) => numeric(r[f])) && shown.every((r) => r[f] === null || r[f] === undefined || numeric(r[f])) ? `n${i + 1}` : ''))
    .filter(Boolean);
  const head = `<tr>${columns.map(([, h]) => `<th>${escText(h)}`).join('')}`;
  const body = shown.map((r) => `<tr>${columns.map(([f, , format]) => `<td>${format && numeric(r[f]) ? escText(format(num(r[f]))) : cell(r[f])}`).join('')}`).join('');
  const more = items.length > shown.length ? `<p class="bp-muted">${items.length - shown.length} more rows in the embedded JSON.</p>` : '';
  return `${caption ? `<h3>${esc(caption)}</h3>` : ''}<table${numbers.length ? ` class="${numbers.join(' ')}"` : ''}><thead>${head}</thead><tbody>${body}</tbody></table>${more}`;
}

function paragraph(label: string, text: unknown): string {
  return typeof text === 'string' && text !== '' ? `<p><strong>${esc(label)}:</strong> ${esc(text)}</p>` : '';
}

// ---- per kind -----------------------------------------------------------------------------

/** A diff report holds no summary: the text report's line, from its fields (when a report has them). */
function diffSummary(r: Obj): string | undefined {
  if (r.kind !== 'embedding-diff' || !obj(r.current) || typeof r.rows !== 'number' || typeof r.movedRows !== 'number') return undefined;
  return embeddingSummary(r as unknown as EmbeddingReport);
}

/** The sentences above the charts. */
export function statements(r: Obj): string {
  const parts: string[] = [];
  const verdict = verdictOf(r);
  if (verdict) parts.push(paragraph('verdict', verdict));
  parts.push(paragraph('summary', r.summary ?? diffSummary(r)));
  if (r.kind === 'batch-invariance') {
    const served = obj(r.served);
    if (served) parts.push(paragraph('served sizes', `${arr(served.sizes).join(', ')}: ${served.equal ? 'bitwise equal' : `differ by at most ${fmt(served.maxAbs)}`}`));
    parts.push(paragraph('answer', r.answer));
    const recipe = obj(r.recipe);
    if (recipe) {
      // As the answer says it: only batches smaller than padTo are padded (a batch of 512 is not cut to 2).
      const filler = recipe.filler === 'sample' ? ' with your filler sample' : recipe.filler ? ` with ${String(recipe.filler)} filler rows` : '';
      const how = recipe.padLength !== undefined ? `pad every text to ${fmt(recipe.padLength)} tokens` : recipe.padTo === null ? 'none needed' : `pad batches smaller than ${fmt(recipe.padTo)} up to ${fmt(recipe.padTo)} rows${filler}`;
      const reason = recipe.reason && !(recipe.padTo === null && recipe.reason === 'not needed') ? `; ${String(recipe.reason)}` : '';
      parts.push(paragraph('recipe', `${how}${arr(recipe.covers).length ? `; makes sizes ${arr(recipe.covers).join(', ')} bitwise equal` : ''}${recipe.verified ? ' (verified)' : ''}${reason}`));
    } else parts.push(paragraph('recipe', r.recipeReason ? `none: ${String(r.recipeReason)}` : undefined));
    parts.push(paragraph('stable classes', r.classesText));
    const outlier = obj(r.outlier);
    if (outlier && outlier.bitExact === false) parts.push(paragraph('outlier run', `batch ${fmt(outlier.size)} with batch-mates 100 times larger, against the same batch with ordinary ones: differs by at most ${fmt(outlier.maxAbs)}, ${outlier.pass ? 'within' : 'beyond'} the tolerance`));
  }
  if (r.kind === 'determinism') {
    const first = obj(r.firstCall);
    if (first) {
      const how = first.bitExact ? 'bitwise equal' : `differ by up to ${fmt(first.maxAbs)} (${fmt(first.maxUlp)} ULP), ${first.pass ? 'within' : 'beyond'} the tolerance`;
      parts.push(paragraph('first call', `sample 0 alone, the call that learnt the outputs, against sample 0 alone called again after the runs: ${how}`));
    }
  }
  const min = obj(r.minimumTolerance);
  if (min) parts.push(paragraph('minimum tolerance that passes', minimumToleranceWords(r, min)));
  const tolerance = r.tolerance;
  if (typeof tolerance === 'string') parts.push(paragraph('tolerance', tolerance));
  else if (obj(tolerance) && r.kind !== 'running-stats') parts.push(paragraph('tolerance', Object.entries(tolerance as Obj).map(([k, v]) => `${k}: ${String(v)}`).join('; ')));
  const body = parts.filter(Boolean).join('');
  return body ? `<div class="bp-statements">${body}</div>` : '';
}

/** A table many reports of a run have alike: options, fingerprint. */
export interface CommonTable {
  caption: string;
  rows: KvRow[];
}

/** The page's tables that several reports share, shown once at its top: caption to rows. */
export type SharedTables = Map<string, { rows: KvRow[]; count: number }>;

/** One string per table content: equal strings, equal tables. */
export const tableKey = (rows: readonly KvRow[]): string => rows.map((r) => `${r.key}\u0000${r.html}`).join('\u0001');

/** The report's options (per kind) and fingerprint tables, which a run's reports mostly share. */
export function commonTables(r: Obj): CommonTable[] {
  const out: CommonTable[] = [];
  if (r.kind === 'batch-invariance') out.push({ caption: 'Options and plan', rows: kvRows({ ...(obj(r.plan) ?? {}), samples: r.samples, dims: obj(r.model)?.dims, defaultedDims: obj(r.model)?.defaultedDims }) });
  if (r.kind === 'provider-comparison') out.push({ caption: 'Options', rows: kvRows({ samples: r.samples, dims: obj(r.model)?.dims }) });
  const fingerprint = obj(r.fingerprint);
  if (fingerprint && typeof fingerprint.baseline === 'string') out.push({ caption: 'Fingerprint (what differs)', rows: kvRows(fingerprint) });
  // A comparison with a fingerprint per side shows them side by side (tables), not the reference's alone.
  else if (fingerprint && !sideFingerprints(r)) out.push({ caption: 'Fingerprint', rows: kvRows(flatFingerprint(fingerprint)) });
  return out.filter((t) => t.rows.length > 0);
}

/** A fingerprint with its cpu as one line: the model and its flags. */
function flatFingerprint(fingerprint: Obj): Obj {
  const cpu = obj(fingerprint.cpu);
  return { ...fingerprint, cpu: cpu ? `${String(cpu.model)} [${arr(cpu.flags).join(' ')}]` : fingerprint.cpu };
}

/** A comparison's sides with their fingerprints (label, fingerprint), or null when a side has none. */
function sideFingerprints(r: Obj): { label: string; fingerprint: Obj }[] | null {
  if (r.kind !== 'provider-comparison') return null;
  const sides = arr(r.sides).map(obj);
  if (sides.length === 0 || sides.some((side) => !obj(side?.fingerprint))) return null;
  return sides.map((side, i) => ({ label: String(side!.label ?? `side ${i + 1}`), fingerprint: flatFingerprint(obj(side!.fingerprint)!) }));
}

/** One fingerprint per side: a row per field, a column per side (the first the reference). */
function sideFingerprintTable(r: Obj): string {
  const sides = sideFingerprints(r);
  if (!sides) return '';
  const fields = [...new Set(sides.flatMap((side) => Object.keys(side.fingerprint)))];
  const rows = fields.map((f) => ({ field: f, ...Object.fromEntries(sides.map((side, i) => [`s${i}`, side.fingerprint[f]])) }));
  return rowsTable(rows, [['field', 'field'], ...sides.map((side, i) => [`s${i}`, side.label] as const)], 'Fingerprint per side (the first is the reference)');
}

/**
 * A common table in a report's section: whole when the page shares none of its caption; one line
 * pointing to the top when it is the shared one; else only the fields where it differs from the
 * shared one (or whole, headed so, when most of them differ).
 */
function commonTable(t: CommonTable, shared: SharedTables | undefined, same: string[]): string {
  const top = shared?.get(t.caption);
  if (!top) return kvRowsTable(t.rows, t.caption);
  if (tableKey(top.rows) === tableKey(t.rows)) {
    same.push(t.caption);
    return '';
  }
  const mine = new Map(t.rows.map((r) => [r.key, r]));
  const theirs = new Set(top.rows.map((r) => r.key));
  const differ = [
    ...t.rows.filter((r) => !theirs.has(r.key) || top.rows.find((x) => x.key === r.key)!.html !== r.html),
    ...top.rows.filter((r) => !mine.has(r.key)).map((r) => ({ key: r.key, html: '', n: false })),
  ];
  if (differ.length * 2 > t.rows.length) return kvRowsTable(t.rows, `${t.caption} (not the one the page shares at the top)`);
  return kvRowsTable(differ, `${t.caption}: ${differ.length === 1 ? 'the field' : `the ${differ.length} fields`} where it differs from the one the page shares at the top (the others as there)`);
}

/** The report's own numbers as tables, per kind; every report then gets diagnosis, options, fingerprint (or a pointer to the page's shared ones). */
export function tables(r: Obj, shared?: SharedTables): string {
  const out: string[] = [];
  switch (r.kind) {
    case 'batch-invariance': {
      out.push(rowsTable(arr(r.batches), [['size', 'batch'], ['positions', 'positions'], ['maxAbs', 'max abs'], ['maxRel', 'max rel'], ['maxUlp', 'max ULP'], ['maxL1', 'L1 (max/probe)'], ['minCosine', 'min cosine', cosine], ['equalRows', 'bitwise equal rows'], ['comparedRows', 'rows'], ['pass', 'pass'], ['causes', 'causes']], 'Per batch size'));
      const perOutput = arr(r.batches).flatMap((b) => arr(obj(b)?.outputs).map((o) => ({ size: obj(b)?.size, ...(obj(o) ?? {}) })));
      if (perOutput.length > 0 && new Set(perOutput.map((o) => (o as Obj).output)).size > 1) out.push(rowsTable(perOutput, [['size', 'batch'], ['output', 'output'], ['maxAbs', 'max abs'], ['maxUlp', 'max ULP'], ['pass', 'pass']], 'Per batch size and output'));
      out.push(rowsTable(arr(r.reruns), [['run', 'same batch run twice'], ['size', 'batch'], ['bitExact', 'bitwise equal'], ['maxAbs', 'max abs']], 'Reruns'));
      out.push(worstTable(obj(r.worst)));
      const padding = obj(r.padding);
      if (padding) {
        out.push(kvTable(padding, ['tested', 'axis', 'mask', 'padId', 'side', 'limit', 'lengths', 'reason'], 'Padding'));
        // The length is in no comparison: from the run, the limit and the probes' lengths, as the chart labels it.
        const comparisons = arr(padding.comparisons).map(obj).filter((c): c is Obj => c !== null).map((c) => ({ ...c, length: paddedLengthOf(padding, c) }));
        out.push(rowsTable(comparisons, [['run', 'run'], ['against', 'against'], ['length', 'length of the texts'], ['maxAbs', 'max abs'], ['bitExact', 'bitwise equal'], ['pass', 'pass'], ['skipped', 'outputs skipped']]));
      }
      out.push(rowsTable(arr(r.nonFinite), [['output', 'output'], ['count', 'NaN or Inf']], 'Non-finite outputs'));
      out.push(rowsTable(arr(obj(r.model)?.inputs), [['name', 'input'], ['dtype', 'dtype'], ['shape', 'shape'], ['batchAxis', 'batch axis'], ['synthesis', 'samples']], 'Inputs'));
      out.push(rowsTable(arr(obj(r.model)?.outputs), [['name', 'output'], ['dtype', 'dtype'], ['shape', 'shape'], ['batchAxis', 'batch axis']], 'Outputs'));
      break;
    }
    case 'determinism':
      out.push(kvTable(r, ['repeats', 'batchSize', 'differingRuns', 'maxAbs', 'maxUlp'], 'Runs'));
      if (obj(r.worst)) out.push(worstTable(obj(r.worst)));
      if (obj(r.firstCall)) {
        const first = obj(r.firstCall)!;
        out.push(kvTable(first, ['bitExact', 'pass', 'maxAbs', 'maxUlp'], 'First call (sample 0 alone, which learnt the outputs) against sample 0 alone again'));
        if (obj(first.worst)) out.push(worstTable(obj(first.worst), 'Worst element of the first call'));
      }
      // Each output's minimum tolerance, for a tolerance per output (outputTolerances).
      out.push(rowsTable(arr(r.outputs).map((o) => ({ ...(obj(o) ?? {}), ...(obj(obj(o)?.minimumTolerance) ?? {}) })), [['output', 'output'], ['dtype', 'dtype'], ['maxAbs', 'max abs'], ['maxUlp', 'max ULP'], ['bitExact', 'bitwise equal'], ['pass', 'pass'], ['atol', 'minimum atol'], ['rtol', 'minimum rtol'], ['ulp', 'minimum ulp'], ['cosine', 'minimum cosine distance']], 'Per output, over every comparison (the minimum tolerance that passes)'));
      break;
    case 'provider-comparison':
      out.push(rowsTable(arr(r.sides), [['label', 'side'], ['repeatable', 'repeatable'], ['inferenceMs', 'inference ms'], ['batchSize', 'batch size'], ['settings', 'settings']], 'Sides (the first is the reference)'));
      // Each output's own verdict (compare's verdictOf, for one output): the side's would call an
      // output that is bitwise equal 'different' because another output of that side differs.
      out.push(rowsTable(arr(r.comparisons).flatMap((c) => arr(obj(c)?.outputs).map((o) => ({ side: obj(c)?.side, verdict: outputVerdict(obj(o)) ?? obj(c)?.verdict, ...(obj(o) ?? {}) }))), [['side', 'side'], ['output', 'output'], ['verdict', 'verdict'], ['maxAbs', 'max abs'], ['maxRel', 'max rel'], ['maxUlp', 'max ULP'], ['minCosine', 'min cosine', cosine], ['equalRows', 'bitwise equal rows'], ['comparedRows', 'rows'], ['pass', 'pass'], ['shapeMismatch', 'shape mismatch']], 'Per side and output'));
      if (obj(r.worst)) out.push(worstTable(obj(r.worst)));
      out.push(sideFingerprintTable(r));
      break;
    case 'running-stats':
      out.push(kvTable({ z: obj(r.tolerance)?.z, ratio: obj(r.tolerance)?.ratio, reference: obj(r.reference)?.kind, data: obj(r.reference)?.data }, undefined, 'Thresholds and reference'));
      out.push(rowsTable(arr(r.problems), [['kind', 'problem'], ['node', 'node'], ['detail', 'detail']], 'Problems'));
      out.push(rowsTable(arr(r.layers), [['node', 'BatchNorm'], ['against', 'against'], ['channels', 'channels'], ['maxZ', 'max z'], ['varRatio', 'variance ratio'], ['pass', 'pass'], ['trainingMode', 'training mode'], ['epsilon', 'epsilon'], ['momentum', 'momentum']], 'Layers, in topological order'));
      break;
    case 'recalibration':
      out.push(rowsTable(arr(r.layers), [['node', 'BatchNorm'], ['channels', 'channels'], ['wave', 'wave'], ['maxShift', 'max shift'], ['varRatio', 'variance ratio']], 'Recalibrated layers'));
      out.push(rowsTable(arr(r.skipped), [['node', 'skipped'], ['reason', 'reason']]));
      out.push(kvTable(obj(r.data), undefined, 'Data'));
      break;
    case 'locate':
      out.push(kvTable(obj(r.firstDivergence), undefined, 'First divergence (beyond the tolerance)'));
      out.push(kvTable(obj(r.firstBitwise), undefined, 'First node not bitwise equal'));
      out.push(kvTable(obj(r.compared), undefined, 'Runs compared'));
      out.push(kvTable({ ...(obj(r.guard) ?? {}), compared: obj(r.values)?.compared, skipped: obj(r.values)?.skipped, profileNodes: arr(r.profile).length || undefined, profileTruncated: r.profileTruncated }, undefined, 'Search'));
      break;
    case 'embedding-diff':
      out.push(kvTable(r, ['rows', 'movedRows', 'changedRows', 'nonFiniteRows', 'shapeMismatch'], 'Rows'));
      out.push(rowsTable(arr(r.worst), [['row', 'row'], ['cosineDistance', 'cosine distance'], ['maxAbs', 'max abs'], ['maxUlp', 'max ULP'], ['pass', 'pass'], ['nonFinite', 'non-finite']], 'Worst rows'));
      if (obj(r.neighbors)) out.push(rowsTable(arr(obj(r.neighbors)!.examples), [['row', 'row'], ['baseline', 'baseline neighbours'], ['current', 'current neighbours']], 'Neighbour-order changes (first few)'));
      out.push(rowsTable([{ side: 'baseline', ...(obj(r.baseline) ?? {}) }, { side: 'current', ...(obj(r.current) ?? {}) }], [['side', 'side'], ['dtype', 'dtype'], ['rows', 'rows'], ['dim', 'dim'], ['nanRows', 'NaN rows'], ['nonFiniteRows', 'non-finite rows'], ['file', 'file'], ['created', 'created'], ['fingerprint', 'fingerprint']], 'Sides'));
      break;
    case 'fingerprint':
      out.push(rowsTable(arr(r.providers), [['name', 'provider'], ['available', 'available'], ['detail', 'detail'], ['reason', 'reason']], 'Providers'));
      break;
    default:
      // A kind this page does not know: its scalar fields, then every list of records.
      out.push(kvTable(Object.fromEntries(Object.entries(r).filter(([k, v]) => !['schema', 'kind', 'tool', 'fingerprint'].includes(k) && (typeof v !== 'object' || v === null))), undefined, 'Fields'));
      for (const [k, v] of Object.entries(r)) if (Array.isArray(v) && v.some((x) => obj(x))) out.push(rowsTable(v, Object.keys(obj(v.find(obj)) ?? {}).slice(0, 10).map((f) => [f, f] as const), k));
  }
  out.push(rowsTable(arr(r.diagnosis), [['kind', 'diagnosis'], ['confirmed', 'confirmed'], ['nodes', 'nodes'], ['detail', 'detail'], ['fix', 'fix']], 'Diagnosis'));
  const same: string[] = [];
  for (const t of commonTables(r)) out.push(commonTable(t, shared, same));
  if (same.length) out.push(`<p class="bp-meta">${esc(same.join(', '))}: as the page shares at the top (<a href="#shared">shared tables</a>).</p>`);
  const notes = arr(r.notes).map(String);
  if (notes.length) out.push(`<h3>Notes</h3><ul>${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
  const timing = obj(r.timing);
  const tool = obj(r.tool);
  out.push(`<p class="bp-meta">${tool ? `${esc(tool.name)} ${esc(tool.version)}` : ''}${timing ? `; ${esc(fmt(timing.totalMs))} ms total, ${esc(fmt(timing.inferenceMs))} ms inference` : ''}${arr(r.runs).length ? `; ${arr(r.runs).length} run groups (in the embedded JSON)` : ''}</p>`);
  return out.filter(Boolean).join('\n');
}

/** Each kind's minimum, or, where none passes ("Infinity" throughout), why: as the text report says it. */
function minimumToleranceWords(r: Obj, min: Obj): string {
  const m = { atol: num(min.atol), rtol: num(min.rtol), ulp: num(min.ulp), cosine: num(min.cosine) };
  if (!Object.values(m).every((v) => v === Infinity)) return Object.entries(min).map(([k, v]) => `${k}=${fmt(v)}`).join(', ');
  // A determinism report lists its outputs, with their dtypes and differences, in `outputs`.
  if (r.kind === 'determinism') {
    const rows = arr(r.outputs).map(obj);
    const outputs = rows.map((o) => ({ name: String(o?.output), dtype: String(o?.dtype) }));
    const compared = rows.map((o) => ({ output: String(o?.output), maxAbs: num(o?.maxAbs), shapeMismatch: o?.shapeMismatch || undefined }));
    return minimumToleranceLine(m, outputs, compared).replace(/^minimum tolerance that passes: /, '');
  }
  const outputs = arr(obj(r.model)?.outputs).map(obj).map((o) => ({ name: String(o?.name), dtype: String(o?.dtype) }));
  // check's per-output rows are in its batches (as the text report reads them), compare's in its comparisons.
  const rows = r.kind === 'batch-invariance' ? arr(r.batches).flatMap((b) => arr(obj(b)?.outputs)) : arr(r.comparisons).flatMap((c) => arr(obj(c)?.outputs));
  const compared = rows.map(obj).map((o) => ({ output: String(o?.output), maxAbs: num(o?.maxAbs), shapeMismatch: o?.shapeMismatch ?? undefined }));
  return minimumToleranceLine(m, outputs, compared).replace(/^minimum tolerance that passes: /, '');
}

/** One compared output's verdict from its own fields; undefined when a report lacks them. */
function outputVerdict(o: Obj | null): string | undefined {
  if (typeof o?.bitExact !== 'boolean' || typeof o.pass !== 'boolean') return undefined;
  return o.bitExact ? 'identical' : o.pass ? 'within-tolerance' : 'different';
}
