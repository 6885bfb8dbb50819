/**
 * The charts of each report kind, as Vega-Lite specs built from the report's own numbers
 * (nothing recomputed). A chart whose fields the report lacks (an older report) is left out.
 * Each chart says in its caption what its marks mean, so a reader of the SVG alone, a screen
 * reader or a test sees the same facts: the failing sizes, the first diverging node, the floor.
 */
import { fmt, isNum, logFloor, num } from './numbers';

export interface Chart {
  /** data-chart of its figure: drift, classes, padding, profile, errors, stats, cosine, rows. */
  kind: string;
  title: string;
  /** One or two sentences under the chart. */
  caption: string;
  spec: Record<string, unknown>;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const list = (xs: readonly unknown[]) => xs.map((x) => fmt(x)).join(', ');

// Colours that read on white and on a dark background alike.
export const COLORS = { ok: '#2f7ed8', fail: '#d62728', equal: '#2ca02c', mark: '#ff7f0e', muted: '#8c8c8c' };

const WIDTH = 300;
/** Log axes: a few decades labelled, not every 2..9 in between (each a line and a label in the SVG). */
const LOG_AXIS = { format: '~e' };

/** Ticks at powers of ten from `lo` to above the largest value, at most about six of them. */
function decades(lo: number, values: readonly number[]): number[] {
  const finite = values.filter((v) => v > 0 && Number.isFinite(v));
  const top = Math.max(lo * 10, ...finite);
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(top));
  const step = Math.max(1, Math.ceil((b - a) / 6));
  const out: number[] = [];
  for (let k = a; k <= b; k += step) out.push(Number(`1e${k}`));
  return out;
}

/** A log axis with ticks at decades. */
const logAxis = (lo: number, values: readonly number[]) => ({ ...LOG_AXIS, values: decades(lo, values) });
const HEIGHT = 150;

/** What each report kind draws. */
export function chartsFor(report: Obj): Chart[] {
  switch (report.kind) {
    case 'batch-invariance':
      return [...driftCharts(report), ...classesChart(report), ...paddingChart(report)];
    case 'locate':
      return profileChart(report);
    case 'provider-comparison':
      return errorCharts(report);
    case 'running-stats':
      return statsChart(report);
    case 'embedding-diff':
      return [...rowsChart(report), ...cosineChart(report)];
    default:
      return [];
  }
}

/** A log-scale y of `values` with 0 drawn at a floor a decade below the smallest value. */
function floored(values: number[], fallback: number): { floor: number; at: (v: number) => number } {
  const floor = logFloor(values, fallback);
  return { floor, at: (v) => (v > 0 ? v : floor) };
}

// ---- check --------------------------------------------------------------------------------

interface DriftRow {
  size: number;
  maxAbs: number;
  maxUlp: number;
  pass: boolean;
}

/** Per output: rows of batches[i].outputs; a report without them gives one chart of the batch-level numbers. */
function driftRows(report: Obj): Map<string, DriftRow[]> {
  const byOutput = new Map<string, DriftRow[]>();
  const batches = arr(report.batches).map(obj).filter((b): b is Obj => b !== null);
  const perOutput = batches.some((b) => Array.isArray(b.outputs));
  for (const b of batches) {
    const size = num(b.size);
    const rows = perOutput ? arr(b.outputs).map(obj).filter((o): o is Obj => o !== null) : [{ ...b, output: 'all outputs' }];
    for (const o of rows) {
      const name = String(o.output);
      if (!byOutput.has(name)) byOutput.set(name, []);
      byOutput.get(name)!.push({ size, maxAbs: num(o.maxAbs), maxUlp: num(o.maxUlp), pass: o.pass !== false });
    }
  }
  return byOutput;
}

/** The tolerance of one output as a line on the abs or the ULP panel, and in words. */
function toleranceLines(report: Obj, output: string): { abs?: number; ulp?: number; words: string } {
  const spec = obj(obj(report.toleranceSpec)?.[output]);
  const words = String(obj(report.tolerance)?.[output] ?? '');
  if (!spec) return { words };
  if (spec.kind === 'allclose') return { abs: num(spec.atol), words: `${words}${num(spec.rtol) > 0 ? ' (the line is atol; rtol adds rtol × |expected| per element)' : ''}` };
  if (spec.kind === 'ulp') return { ulp: num(spec.ulp), words };
  return { words };
}

function driftPanel(rows: DriftRow[], metric: 'maxAbs' | 'maxUlp', title: string, rule: number | undefined): Obj {
  const values = rows.map((r) => r[metric]);
  const { floor, at } = floored(values.concat(rule && rule > 0 ? [rule] : []), metric === 'maxAbs' ? 1e-9 : 0.1);
  const data = rows.map((r) => ({
    size: r.size,
    value: Number.isFinite(r[metric]) ? at(r[metric]) : null,
    status: !r.pass ? 'fails' : r[metric] === 0 ? 'bitwise equal (at floor)' : 'within tolerance',
  }));
  // Nothing above the floor (bitwise equal at every size, no line): the axis spans a decade from
  // the floor, else its domain is one point and its two ticks are drawn on top of each other.
  const flat = !values.concat(rule ?? []).some((v) => v > floor);
  const y = { field: 'value', type: 'quantitative', title, scale: { type: 'log', domainMin: floor, ...(flat ? { domainMax: floor * 10 } : {}) }, axis: logAxis(floor, values.concat(rule ?? [])) };
  const layers: Obj[] = [
    { mark: { type: 'line', color: COLORS.muted, strokeWidth: 1 }, encoding: { x: { field: 'size', type: 'quantitative', title: 'batch size', scale: { type: 'log', base: 2 }, axis: { tickCount: 6 } }, y } },
    {
      mark: { type: 'point', filled: true, size: 40, opacity: 1 },
      encoding: {
        x: { field: 'size', type: 'quantitative' },
        y: { field: 'value', type: 'quantitative' },
        color: { field: 'status', type: 'nominal', title: null, scale: { domain: ['within tolerance', 'bitwise equal (at floor)', 'fails'], range: [COLORS.ok, COLORS.equal, COLORS.fail] }, legend: { orient: 'bottom', direction: 'horizontal' } },
        shape: { field: 'status', type: 'nominal', scale: { domain: ['within tolerance', 'bitwise equal (at floor)', 'fails'], range: ['circle', 'square', 'diamond'] } },
      },
    },
  ];
  if (rule !== undefined && rule > 0) layers.push({ data: { values: [{ rule }] }, mark: { type: 'rule', strokeDash: [4, 3], color: COLORS.fail }, encoding: { y: { field: 'rule', type: 'quantitative' } } });
  return { width: WIDTH, height: HEIGHT, data: { values: data }, layer: layers };
}

function driftCharts(report: Obj): Chart[] {
  const charts: Chart[] = [];
  for (const [output, rows] of driftRows(report)) {
    if (rows.length === 0) continue;
    const tol = toleranceLines(report, output);
    const failing = rows.filter((r) => !r.pass).map((r) => r.size);
    const equal = rows.filter((r) => r.maxAbs === 0 && r.maxUlp === 0).map((r) => r.size);
    // The outlier run is no batch size of the chart: where it fails, say so beside "no batch size fails".
    const outlier = obj(report.outlier);
    const caption = [
      failing.length ? `Fails at batch sizes ${list(failing)} (red diamonds).` : 'No batch size fails.',
      outlier && outlier.pass === false ? `The outlier run (batch ${fmt(outlier.size)}, batch-mates 100 times larger) fails, by at most ${fmt(outlier.maxAbs)} over the outputs: it is not drawn here.` : '',
      equal.length ? `Bitwise equal at ${equal.length === rows.length ? 'every size' : `sizes ${list(equal)}`}: a log scale cannot show 0, so those are drawn at the floor (green squares).` : '',
      tol.words ? `Tolerance: ${tol.words}${tol.abs !== undefined || tol.ulp !== undefined ? ', the dashed line' : ''}.` : '',
    ].filter(Boolean).join(' ');
    charts.push({
      kind: 'drift',
      title: `Drift per batch size against the reference: ${output}`,
      caption,
      spec: { hconcat: [driftPanel(rows, 'maxAbs', 'max abs difference', tol.abs), driftPanel(rows, 'maxUlp', 'max ULP', tol.ulp)], resolve: { scale: { color: 'shared', shape: 'shared' } } },
    });
  }
  return charts;
}

const SLOTS = ['first', 'middle', 'last'];

function classesChart(report: Obj): Chart[] {
  const batches = arr(report.batches).map(obj).filter((b): b is Obj => b !== null && Array.isArray(b.positions));
  if (batches.length === 0 || !Array.isArray(report.classes)) return [];
  const classes = arr(report.classes).map(obj).filter((c): c is Obj => c !== null);
  const label = (k: number) => `class ${k + 1}`;
  const cells: Obj[] = [];
  for (const b of batches) {
    const size = num(b.size);
    const positions = arr(b.positions).map(num);
    positions.forEach((p, i) => {
      const k = classes.findIndex((c) => arr(c.sizes).map(num).includes(size) && (c.positions === 'all' || arr(c.positions).map(num).includes(p)));
      const slot = positions.length <= SLOTS.length ? SLOTS[positions.length === 1 ? 0 : positions.length === 2 && i === 1 ? 2 : i] : `#${i + 1}`;
      cells.push({ size: String(size), slot, position: `row ${p}`, cls: k >= 0 ? label(k) : 'in no class' });
    });
  }
  const domain = [...classes.map((_c, k) => label(k)), 'in no class'];
  return [
    {
      kind: 'classes',
      title: 'Stable classes: (batch size, position) pairs whose outputs are bitwise identical',
      caption: `${classes.length === 0 ? 'No stable class: no two (size, position) pairs give bitwise identical outputs.' : `${classes.length} class${classes.length === 1 ? '' : 'es'}: ${String(report.classesText ?? '')}.`} Each cell is a probe's place in a batch; its colour is its class, its text the row it sat in.`,
      spec: {
        data: { values: cells },
        width: { step: 60 },
        height: { step: 16 },
        encoding: {
          x: { field: 'slot', type: 'ordinal', title: 'position in the batch', sort: [...SLOTS], axis: { orient: 'top', labelAngle: 0 } },
          y: { field: 'size', type: 'ordinal', title: 'batch size', sort: batches.map((b) => String(num(b.size))) },
        },
        layer: [
          // "in no class" reads as grey, not as one more class.
          { mark: { type: 'rect', stroke: 'currentColor', strokeOpacity: 0.2 }, encoding: { color: { field: 'cls', type: 'nominal', title: null, scale: { domain, range: [...classes.map((_c, k) => PALETTE[k % PALETTE.length]), '#d9d9d9'] }, legend: { orient: 'right' } } } },
          { mark: { type: 'text', fontSize: 9, color: '#000' }, encoding: { text: { field: 'position' } } },
        ],
      },
    },
  ];
}
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#edc948', '#b07aa1', '#76b7b2', '#ff9da7', '#9c755f', '#e15759', '#bab0ac'];

/** The length a padding run's texts had: reports hold it per run only as the run's name, the limit and the probes' lengths. */
export function paddedLengthOf(padding: Obj, c: Obj): string {
  const lengths = arr(padding.lengths).map(num);
  const limit = num(padding.limit);
  const own = num(c.paddedLength ?? c.length);
  if (Number.isFinite(own)) return `${own} tokens`;
  if (c.run === 'unpadded') return lengths.length ? `${list(lengths)} tokens (own lengths)` : 'own length';
  if (c.run === 'served') return 'padded to the longest';
  return Number.isFinite(limit) ? `${limit} tokens` : '';
}

function paddingChart(report: Obj): Chart[] {
  const padding = obj(report.padding);
  const comparisons = arr(padding?.comparisons).map(obj).filter((c): c is Obj => c !== null);
  if (!padding || padding.tested !== true || comparisons.length === 0) return [];
  const lengths = arr(padding.lengths).map(num);
  const limit = num(padding.limit);
  const lengthOf = (c: Obj): string => paddedLengthOf(padding, c);
  const values = comparisons.map((c) => num(c.maxAbs));
  const { floor, at } = floored(values, 1e-9);
  // A bar on a log axis needs a baseline above 0 (from 0 it has no width): a decade below the
  // floor, so a bitwise equal run is a decade long, ending at the floor.
  const base = floor / 10;
  const data = comparisons.map((c) => ({
    run: `${String(c.run)}: ${lengthOf(c)}`,
    value: Number.isFinite(num(c.maxAbs)) ? at(num(c.maxAbs)) : null,
    status: c.pass === false ? 'fails' : c.bitExact === true ? 'bitwise equal (at floor)' : 'within tolerance',
    against: String(c.against ?? ''),
  }));
  const failing = comparisons.filter((c) => c.pass === false).map((c) => String(c.run));
  return [
    {
      kind: 'padding',
      title: `Padding: drift of each padding run against padded length (probes' own lengths ${list(lengths)}, limit ${fmt(limit)})`,
      caption: `${failing.length ? `Fails: ${failing.join(', ')} (red).` : 'No padding run fails.'} Each bar is a padding run's max abs difference from ${data[0]?.against || 'its reference'}; bitwise equal runs are drawn at the floor ${fmt(floor)}.`,
      spec: {
        data: { values: data },
        width: WIDTH,
        height: { step: 18 },
        mark: { type: 'bar' },
        encoding: {
          y: { field: 'run', type: 'nominal', title: null, sort: null, axis: { labelLimit: 260 } },
          x: { field: 'value', type: 'quantitative', title: 'max abs difference', scale: { type: 'log', domainMin: base }, axis: logAxis(base, values) },
          x2: { datum: base },
          color: { field: 'status', type: 'nominal', title: null, scale: { domain: ['within tolerance', 'bitwise equal (at floor)', 'fails'], range: [COLORS.ok, COLORS.equal, COLORS.fail] }, legend: { orient: 'bottom', direction: 'horizontal' } },
        },
      },
    },
  ];
}

// ---- locate -------------------------------------------------------------------------------

/** Profiles of thousands of nodes: points only past this many (a line and points would double the marks). */
const POINTS_UP_TO = 300;

function profileChart(report: Obj): Chart[] {
  const profile = arr(report.profile).map(obj).filter((p): p is Obj => p !== null);
  if (profile.length === 0) return [];
  const first = obj(report.firstDivergence);
  const values = profile.map((p) => num(p.maxAbs));
  const { floor, at } = floored(values, 1e-9);
  const firstIndex = first ? profile.findIndex((p) => p.node === first.node) : -1;
  const data = profile.map((p, i) => ({ i, value: Number.isFinite(num(p.maxAbs)) ? at(num(p.maxAbs)) : null, node: String(p.node), op: String(p.op) }));
  const layers: Obj[] = [
    { mark: { type: profile.length > POINTS_UP_TO ? 'line' : 'line', color: COLORS.ok, strokeWidth: 1, point: profile.length <= POINTS_UP_TO ? { filled: true, size: 16, color: COLORS.ok } : false }, encoding: { x: { field: 'i', type: 'quantitative', title: 'compared node, in topological order' }, y: { field: 'value', type: 'quantitative', title: 'max abs difference (probe)', scale: { type: 'log', domainMin: floor }, axis: logAxis(floor, values) } } },
  ];
  if (firstIndex >= 0) {
    layers.push(
      { data: { values: [{ i: firstIndex, label: `first divergence: ${String(first!.node)} (${String(first!.op)})` }] }, mark: { type: 'rule', color: COLORS.fail, strokeDash: [4, 3] }, encoding: { x: { field: 'i', type: 'quantitative' } } },
      { data: { values: [{ i: firstIndex, value: at(num(profile[firstIndex].maxAbs)) }] }, mark: { type: 'point', shape: 'diamond', filled: true, size: 90, color: COLORS.fail }, encoding: { x: { field: 'i', type: 'quantitative' }, y: { field: 'value', type: 'quantitative' } } },
      { data: { values: [{ i: firstIndex, label: `${String(first!.node)} (${String(first!.op)})` }] }, mark: { type: 'text', align: 'left', dx: 4, dy: -4, baseline: 'top', fontSize: 10, color: COLORS.fail }, encoding: { x: { field: 'i', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } } },
    );
  }
  return [
    {
      kind: 'profile',
      title: 'Divergence profile: the probe\'s max abs difference at every compared node',
      caption: `${profile.length} node${profile.length === 1 ? '' : 's'}${report.profileTruncated === true ? ' (the profile was capped; the first divergence is always kept)' : ''}. ${firstIndex >= 0 ? `First diverging node: ${String(first!.node)} (${String(first!.op)}), node ${firstIndex + 1}, max abs ${fmt(first!.maxAbs)} (red).` : 'No node diverges beyond the tolerance.'} Bitwise equal nodes are drawn at the floor ${fmt(floor)}.`,
      spec: { width: 2 * WIDTH, height: HEIGHT, data: { values: data }, layer: layers },
    },
  ];
}

// ---- compare and diff: log histograms -----------------------------------------------------

interface Histogram {
  zero: number;
  nonFinite?: number;
  edges: number[];
  counts: number[];
}

function histogramOf(v: unknown): Histogram | null {
  const h = obj(v);
  if (!h || !Array.isArray(h.edges) || !Array.isArray(h.counts)) return null;
  return { zero: num(h.zero) || 0, nonFinite: num(h.nonFinite) || 0, edges: arr(h.edges).map(num), counts: arr(h.counts).map(num) };
}

/** Bars over decades on a log x axis; zeros (exactly equal) as a bar a decade below, named so. */
function histogramSpec(h: Histogram, xTitle: string, unit: string, rule: { value: number; label: string } | null): Obj {
  const lowest = h.edges.length ? h.edges[0] : rule && rule.value > 0 ? 10 ** Math.floor(Math.log10(rule.value)) : 1e-9;
  const bars: Obj[] = h.counts.map((count, k) => ({ lo: h.edges[k], hi: h.edges[k + 1], count, what: `${unit} in [${fmt(h.edges[k])}, ${fmt(h.edges[k + 1])})`, status: 'differs' }));
  if (h.zero > 0) bars.unshift({ lo: lowest / 100, hi: lowest / 10, count: h.zero, what: 'exactly equal', status: 'exactly equal (at floor)' });
  const layers: Obj[] = [
    {
      mark: { type: 'rect', stroke: 'currentColor', strokeOpacity: 0.3 },
      encoding: {
        x: { field: 'lo', type: 'quantitative', title: xTitle, scale: { type: 'log' }, axis: logAxis(lowest / 100, [...h.edges, rule?.value ?? 0]) },
        x2: { field: 'hi' },
        y: { field: 'count', type: 'quantitative', title: 'count' },
        color: { field: 'status', type: 'nominal', title: null, scale: { domain: ['differs', 'exactly equal (at floor)'], range: [COLORS.ok, COLORS.equal] }, legend: { orient: 'bottom', direction: 'horizontal' } },
      },
    },
  ];
  if (rule && rule.value > 0 && Number.isFinite(rule.value)) {
    layers.push({ data: { values: [{ x: rule.value, label: rule.label }] }, mark: { type: 'rule', color: COLORS.fail, strokeDash: [4, 3], strokeWidth: 1.5 }, encoding: { x: { field: 'x', type: 'quantitative' } } });
  }
  return { width: WIDTH, height: HEIGHT, data: { values: bars }, layer: layers };
}

function errorCharts(report: Obj): Chart[] {
  const charts: Chart[] = [];
  const atol = num(obj(report.minimumTolerance)?.atol);
  for (const comparison of arr(report.comparisons).map(obj)) {
    for (const output of arr(comparison?.outputs).map(obj)) {
      const h = histogramOf(output?.errorHistogram);
      if (!h || !output) continue;
      const total = h.zero + (h.nonFinite ?? 0) + h.counts.reduce((a, b) => a + b, 0);
      const outputMax = num(output.maxAbs);
      charts.push({
        kind: 'errors',
        title: `Element errors |a − b|: ${String(comparison!.side)} against the reference, output ${String(output.output)}`,
        caption: `${total} elements: ${h.zero} exactly equal${h.zero ? ' (green, drawn a decade below the smallest error: a log scale cannot show 0)' : ''}${h.nonFinite ? `, ${h.nonFinite} NaN or Inf (not drawn)` : ''}; largest error ${fmt(outputMax)}. ${Number.isFinite(atol) ? `The minimum atol that passes every comparison is ${fmt(atol)} (dashed line).` : 'No atol passes every comparison (an integer output differs, dims do, or NaN or Infinity on one side meets another value).'}`,
        spec: histogramSpec(h, 'element error |a − b| (log)', 'errors', Number.isFinite(atol) ? { value: atol, label: `minimum atol that passes: ${fmt(atol)}` } : null),
      });
    }
  }
  return charts;
}

function cosineChart(report: Obj): Chart[] {
  const h = histogramOf(report.cosineHistogram);
  if (!h) return [];
  const spec = obj(report.toleranceSpec);
  const cosine = spec?.kind === 'cosine' ? num(spec.cosine) : NaN;
  return [
    {
      kind: 'cosine',
      title: 'Per-row cosine distance (1 − cos) against the baseline',
      caption: `${h.zero} row${h.zero === 1 ? '' : 's'} bitwise equal${h.zero ? ' (green, drawn a decade below: a log scale cannot show 0)' : ''}; ${h.counts.reduce((a, b) => a + b, 0)} with a distance above 0${h.nonFinite ? `; ${h.nonFinite} with NaN or ±Inf, whose distance is undefined (not drawn)` : ''}. ${Number.isFinite(cosine) ? `Tolerance: cosine distance ${fmt(cosine)} (dashed line).` : `Tolerance: ${String(report.tolerance ?? '')}.`}`,
      spec: histogramSpec(h, 'cosine distance (log)', 'rows', Number.isFinite(cosine) ? { value: cosine, label: 'tolerance' } : null),
    },
  ];
}

function rowsChart(report: Obj): Chart[] {
  if (!isNum(report.rows) || !isNum(report.movedRows) || !isNum(report.changedRows)) return [];
  const rows = num(report.rows);
  const moved = num(report.movedRows);
  const changed = num(report.changedRows);
  const data: Obj[] = [
    { what: 'rows', state: 'bitwise equal', count: rows - changed },
    { what: 'rows', state: 'changed, within tolerance', count: Math.max(0, changed - moved) },
    { what: 'rows', state: 'moved (beyond tolerance)', count: moved },
  ];
  const neighbors = obj(report.neighbors);
  if (neighbors) {
    const compared = num(neighbors.comparedRows);
    const changedOrder = num(neighbors.changedRows);
    data.push({ what: `neighbour order (k = ${fmt(neighbors.k)})`, state: 'same order', count: compared - changedOrder }, { what: `neighbour order (k = ${fmt(neighbors.k)})`, state: 'order changed', count: changedOrder });
  }
  return [
    {
      kind: 'rows',
      title: 'Rows moved, and neighbour-order changes',
      caption: `${moved} of ${rows} rows moved beyond the tolerance, ${changed} are not bitwise equal.${neighbors ? ` Neighbour order (k = ${fmt(neighbors.k)}) changed for ${fmt(neighbors.changedRows)} of ${fmt(neighbors.comparedRows)} rows.` : ''}`,
      spec: {
        // A segment of 0 rows is a bar of no width: left out (the legend still names its state).
        data: { values: data.filter((d) => num(d.count) > 0) },
        width: WIDTH,
        height: { step: 22 },
        mark: { type: 'bar' },
        encoding: {
          y: { field: 'what', type: 'nominal', title: null, sort: null },
          x: { field: 'count', type: 'quantitative', title: 'rows', stack: 'zero' },
          color: {
            field: 'state',
            type: 'nominal',
            title: null,
            scale: { domain: ['bitwise equal', 'changed, within tolerance', 'moved (beyond tolerance)', 'same order', 'order changed'], range: [COLORS.equal, COLORS.ok, COLORS.fail, COLORS.muted, COLORS.mark] },
            legend: { orient: 'bottom', direction: 'horizontal', columns: 3 },
          },
          order: { field: 'state' },
        },
      },
    },
  ];
}

// ---- stats --------------------------------------------------------------------------------

function statsChart(report: Obj): Chart[] {
  const layers = arr(report.layers).map(obj).filter((l): l is Obj => l !== null && (isNum(l.maxZ) || Array.isArray(l.varRatio)));
  if (layers.length === 0) return [];
  const tolerance = obj(report.tolerance);
  const zTol = num(tolerance?.z);
  const ratioTol = arr(tolerance?.ratio).map(num);
  const first = obj(report.firstMismatch);
  const label = (l: Obj, i: number) => `${i + 1}. ${String(l.node)}${l.against ? ` (${String(l.against)})` : ''}`;
  const order = layers.map(label);
  const firstLabel = first ? layers.findIndex((l) => l.node === first.node && l.against === first.against) : -1;
  const status = (l: Obj, i: number) => (i === firstLabel ? 'first mismatch' : l.pass === false ? 'fails' : 'passes');
  const colors = { scale: { domain: ['passes', 'fails', 'first mismatch'], range: [COLORS.ok, COLORS.fail, COLORS.mark] }, legend: { orient: 'bottom', direction: 'horizontal' }, title: null };
  const zData = layers.map((l, i) => ({ layer: label(l, i), z: isNum(l.maxZ) ? num(l.maxZ) : null, status: status(l, i) })).filter((d) => d.z !== null);
  const rData = layers.map((l, i) => ({ layer: label(l, i), lo: num(arr(l.varRatio)[0]), hi: num(arr(l.varRatio)[1]), status: status(l, i) })).filter((d) => d.lo > 0 && d.hi > 0);
  const y = { field: 'layer', type: 'nominal', title: null, sort: order, axis: { labelLimit: 200 } };
  const zPanel: Obj = {
    width: 220,
    height: { step: 16 },
    data: { values: zData },
    layer: [
      { mark: { type: 'bar' }, encoding: { y, x: { field: 'z', type: 'quantitative', title: 'max z (mean shift in stored std)' }, color: { field: 'status', type: 'nominal', ...colors } } },
      ...(Number.isFinite(zTol) ? [{ data: { values: [{ t: zTol }] }, mark: { type: 'rule', strokeDash: [4, 3], color: COLORS.fail }, encoding: { x: { field: 't', type: 'quantitative' } } }] : []),
    ],
  };
  const rPanel: Obj = {
    width: 220,
    height: { step: 16 },
    data: { values: rData },
    layer: [
      { mark: { type: 'rule', strokeWidth: 3 }, encoding: { y: { ...y, axis: null }, x: { field: 'lo', type: 'quantitative', title: 'variance ratio (data / stored), range', scale: { type: 'log' }, axis: { tickCount: 5, format: '~g' } }, x2: { field: 'hi' }, color: { field: 'status', type: 'nominal', ...colors } } },
      { mark: { type: 'tick', thickness: 2 }, encoding: { y: { ...y, axis: null }, x: { field: 'lo', type: 'quantitative' }, color: { field: 'status', type: 'nominal', ...colors } } },
      { mark: { type: 'tick', thickness: 2 }, encoding: { y: { ...y, axis: null }, x: { field: 'hi', type: 'quantitative' }, color: { field: 'status', type: 'nominal', ...colors } } },
      ...ratioTol.filter((t) => t > 0).map((t) => ({ data: { values: [{ t }] }, mark: { type: 'rule', strokeDash: [4, 3], color: COLORS.fail }, encoding: { x: { field: 't', type: 'quantitative' } } })),
    ],
  };
  return [
    {
      kind: 'stats',
      title: 'BatchNorm layers: max z and the variance-ratio range against the thresholds',
      caption: `${first ? `First mismatching layer: ${String(first.node)} (orange); later layers inherit its shift.` : 'No layer mismatches.'} Thresholds (dashed): z ${fmt(zTol)}, ratio ${ratioTol.map(fmt).join(' to ')}.`,
      spec: { hconcat: rData.length ? [zPanel, rPanel] : [zPanel], resolve: { scale: { color: 'shared' } } },
    },
  ];
}
