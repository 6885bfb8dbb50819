/**
 * Vega-Lite specs compiled by vega-lite and drawn by vega, in Node, into SVG strings. Both are
 * ES modules only: they load through the project's ES importer the first time a page is built,
 * never on check's path (and the CLI bundle leaves them out, see scripts/bundle-cli.js).
 */
import { pathToFileURL } from 'url';
import { BadInputError } from '../errors';
import { importEsm } from '../runtime/esm';

type Spec = Record<string, unknown>;
/** vega's View, as far as this file uses it. */
interface View {
  data(name: string, values: unknown[]): View;
  toSVG(): Promise<string>;
  finalize(): void;
}
interface Libraries {
  /** vega-lite's compile and vega's parse: the runtime spec a View is made from. */
  parse(spec: Spec): unknown;
  view(runtime: unknown): View;
}

let loading: Promise<Libraries> | null = null;

function libraries(): Promise<Libraries> {
  loading ??= (async () => {
    const url = (name: string): string => {
      try {
        return pathToFileURL(require.resolve(name)).href;
      } catch {
        throw new BadInputError(`the HTML page needs the package '${name}', which is not installed; run npm install (it is a dependency of batchproof)`);
      }
    };
    const [vega, vl] = (await Promise.all([importEsm(url('vega')), importEsm(url('vega-lite'))])) as [any, any]; // eslint-disable-line @typescript-eslint/no-explicit-any
    let expr: unknown;
    return {
      parse: (spec) => vega.parse(vl.compile(spec).spec),
      view: (runtime) => {
        const view = new vega.View(runtime, { renderer: 'none', expr });
        expr ??= cachedCodegen(view._runtime?.expr);
        return view as View;
      },
    };
  })();
  loading.catch(() => (loading = null));
  return loading;
}

type Codegen = Record<string, unknown> & { [method: string]: (ctx: { functions?: object } | null, spec: { code?: string }) => (...args: unknown[]) => unknown };

const EXPRESSIONS_KEPT = 50_000;

/**
 * vega's expression code generator (the one its first View used) with each expression compiled
 * once: every View compiles its encoders and expressions anew with Function(), the same few
 * hundred code strings for every chart of a shape. The compiled function is bound, as vega binds
 * it, to each View's own function context. Where vega keeps it elsewhere, vega's own is used.
 */
function cachedCodegen(base: Codegen | undefined): Codegen | undefined {
  if (!base || typeof base.encode !== 'function') return undefined;
  const compiled = new Map<string, (...args: unknown[]) => unknown>();
  const out: Codegen = { ...base };
  for (const method of ['operator', 'parameter', 'event', 'handler', 'encode']) {
    const make = base[method];
    if (typeof make !== 'function') continue;
    out[method] = (ctx, spec) => {
      const key = `${method}\0${typeof spec.code === 'string' ? spec.code : JSON.stringify(spec)}`;
      let fn = compiled.get(key);
      if (!fn) {
        if (compiled.size >= EXPRESSIONS_KEPT) compiled.clear();
        compiled.set(key, (fn = make(null, spec)));
      }
      return fn.bind(ctx?.functions);
    };
  }
  return out;
}

/**
 * Charts of one shape (same marks, encodings, scales and axes; other numbers) compile and parse
 * once: vega-lite's compile and vega's parse were two thirds of a chart's time, and a page of
 * hundreds of reports draws the same few shapes again and again. Keyed by the spec with its
 * inline data taken out; a View is made from the parsed spec and given the data.
 */
const SHAPES_KEPT = 256;
const shapes = new Map<string, unknown>();

/** The spec with every `data: { values }` replaced by a named source, and those values in order. */
function withoutValues(spec: unknown, values: unknown[][]): unknown {
  if (Array.isArray(spec)) return spec.map((s) => withoutValues(s, values));
  if (typeof spec !== 'object' || spec === null) return spec;
  const out: Spec = {};
  for (const [k, v] of Object.entries(spec)) {
    const data = k === 'data' && typeof v === 'object' && v !== null ? (v as Spec) : null;
    if (data && Array.isArray(data.values) && Object.keys(data).length === 1) {
      out.data = { name: `bp_${values.length}` };
      values.push(data.values as unknown[]);
    } else out[k] = withoutValues(v, values);
  }
  return out;
}

async function draw(spec: Spec): Promise<string> {
  const lib = await libraries();
  const values: unknown[][] = [];
  const shape = withoutValues(spec, values) as Spec;
  // NaN and Infinity are not null: the key tells them apart.
  const key = JSON.stringify(shape, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `${v}n` : v));
  let runtime = shapes.get(key);
  if (runtime === undefined) {
    runtime = lib.parse(shape);
    if (shapes.size >= SHAPES_KEPT) shapes.delete(shapes.keys().next().value as string);
  } else shapes.delete(key); // most recently used last
  shapes.set(key, runtime);
  // A View of its own each time: one reused with new data draws the same chart with its items in another order.
  const view = lib.view(runtime);
  try {
    values.forEach((v, i) => view.data(`bp_${i}`, v));
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const INK = 'currentColor';
/** Text and lines in currentColor, so the page's light and dark themes (and print) both show them. */
const CONFIG = {
  aria: false,
  font: 'system-ui, sans-serif',
  axis: { labelColor: INK, titleColor: INK, domainColor: INK, tickColor: INK, gridColor: INK, gridOpacity: 0.15, labelFontSize: 10, titleFontSize: 11, labelLimit: 260 },
  legend: { labelColor: INK, titleColor: INK, labelFontSize: 10, titleFontSize: 11, labelLimit: 0 },
  header: { labelColor: INK, titleColor: INK, labelFontSize: 11, titleFontSize: 11 },
  title: { color: INK, subtitleColor: INK, fontSize: 12 },
  text: { color: INK },
  rule: { color: INK },
  view: { stroke: null },
};

/** One chart: a Vega-Lite spec (without data source or config) rendered to an SVG string. */
export async function renderSpec(spec: Spec): Promise<string> {
  const full = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', background: null, ...spec, config: { ...CONFIG, ...(spec.config as object) } };
  return compactSvg(await draw(full));
}

const round = (n: string): string => String(Math.round(Number(n) * 10) / 10);

/**
 * Vega's SVG without what a static page does not use (scenegraph classes and roles, empty
 * backgrounds, hidden foregrounds, pointer-events) and with coordinates to 0.1 px: a chart
 * shrinks to about a third, which is what keeps a page of hundreds of reports small. Each pass
 * matches only what it changes: a replacement called for every attribute was most of the time.
 */
export function compactSvg(svg: string): string {
  const slim = svg
    .replace(/<path class="(?:background|foreground)"[^>]*(?:d="M0,0h0v0h0Z"|display="none")[^>]*\/>/g, '')
    .replace(/ (?:role|aria-roledescription|aria-hidden|aria-label|pointer-events|font-family)="[^"]*"/g, '')
    // The mark type stays (class="mark-symbol"): it is what says marks were drawn.
    .replace(/ class="(mark-[a-z]+)[^"]*"/g, ' class="$1"')
    .replace(/ class="role-[^"]*"| stroke-miterlimit="4"| opacity="1"| transform="translate\(0,0\)"/g, '')
    // Only inside geometry attributes, and only those with a number to round: a label's text ("0.025") is a number to keep as it is.
    .replace(/ (d|transform|x|y|x1|x2|y1|y2|width|height)="([^"]*\d\.\d\d[^"]*)"/g, (_m, name: string, value: string) => ` ${name}="${value.replace(/\d+\.\d{2,}/g, round)}"`)
    .replace(/^<svg ([^>]*?)class="marks" /, '<svg class="bp-svg" role="img" $1');
  return hoistShared(slim).replace(/<g><\/g>/g, '');
}

/** Attributes that inherit in SVG, so a group's children may share them from the group. */
const INHERITED = new Set(['fill', 'stroke', 'stroke-width', 'stroke-opacity', 'fill-opacity', 'stroke-dasharray', 'font-size', 'font-weight', 'text-anchor', 'stroke-linecap', 'stroke-linejoin']);
const GROUP = /<g((?: [a-z0-9-]+="[^"]*")*)>((?:<(?:path|text|line|rect|circle)(?: [a-z0-9-]+="[^"]*")*(?:\/>|>[^<]*<\/(?:path|text|line|rect|circle)>)){2,})<\/g>/g;
const LEAF = /<(path|text|line|rect|circle)((?: [a-z0-9-]+="[^"]*")*)(\/>|>[^<]*<\/\1>)/g;
const ATTR = / ([a-z0-9-]+)="([^"]*)"/g;

/**
 * A group of marks repeats the same fill, stroke and font on every child (hundreds of times in a
 * grid or a profile): attributes every child shares move to the group, once. An attribute is
 * shared when its whole text (` fill="#d62728"`) is in every child's attributes: values hold no
 * quote, so that text is that attribute and nothing else.
 */
function hoistShared(svg: string): string {
  return svg.replace(GROUP, (whole: string, gAttrs: string, children: string) => {
    const leaves = [...children.matchAll(LEAF)];
    const shared: string[] = [];
    for (const a of leaves[0][2].matchAll(ATTR)) {
      if (!INHERITED.has(a[1]) || gAttrs.includes(` ${a[1]}="`)) continue;
      if (leaves.every((l) => l[2].includes(a[0]))) shared.push(a[0]);
    }
    if (shared.length === 0) return whole;
    let body = '';
    for (const l of leaves) {
      let attrs = l[2];
      for (const s of shared) attrs = attrs.replace(s, '');
      body += `<${l[1]}${attrs}${l[3]}`;
    }
    return `<g${gAttrs}${shared.join('')}>${body}</g>`;
  });
}
