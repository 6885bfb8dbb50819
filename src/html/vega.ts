/**
 * Vega-Lite specs compiled by vega-lite and drawn by vega, in Node, into SVG strings. Both are
 * ES modules only: they load through the project's ES importer the first time a page is built,
 * never on check's path (and the CLI bundle leaves them out, see scripts/bundle-cli.js).
 */
import * as path from 'path';
import { pathToFileURL } from 'url';
import { BadInputError } from '../errors';

type Spec = Record<string, unknown>;
interface Libraries {
  compile(spec: Spec): { spec: unknown };
  render(vegaSpec: unknown): Promise<string>;
}

let loading: Promise<Libraries> | null = null;

/** import-esm's importer, required from beside the compiled sources (dist/src/html) or the bundle (dist/). */
function esmImporter(): (url: string) => Promise<Record<string, unknown>> {
  for (const candidate of [path.join(__dirname, '..', 'runtime', 'import-esm'), path.join(__dirname, 'src', 'runtime', 'import-esm')]) {
    try {
      // A computed path: the bundler leaves it to Node's require at run time.
      return (require(candidate) as typeof import('../runtime/import-esm')).importEsm;
    } catch {
      // Not there: the next place.
    }
  }
  throw new BadInputError('cannot load the charting library (import-esm.js is missing from the installed package); reinstall batchproof');
}

function libraries(): Promise<Libraries> {
  loading ??= (async () => {
    const importEsm = esmImporter();
    const url = (name: string): string => {
      try {
        return pathToFileURL(require.resolve(name)).href;
      } catch {
        throw new BadInputError(`the HTML page needs the package '${name}', which is not installed; run npm install (it is a dependency of batchproof)`);
      }
    };
    const [vega, vl] = (await Promise.all([importEsm(url('vega')), importEsm(url('vega-lite'))])) as [any, any]; // eslint-disable-line @typescript-eslint/no-explicit-any
    return {
      compile: (spec) => vl.compile(spec),
      render: async (vegaSpec) => {
        const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none' });
        try {
          return (await view.toSVG()) as string;
        } finally {
          view.finalize();
        }
      },
    };
  })();
  loading.catch(() => (loading = null));
  return loading;
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
  const lib = await libraries();
  const full = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', background: null, ...spec, config: { ...CONFIG, ...(spec.config as object) } };
  return compactSvg(await lib.render(lib.compile(full).spec));
}

/**
 * Vega's SVG without what a static page does not use (scenegraph classes and roles, empty
 * backgrounds, hidden foregrounds, pointer-events) and with coordinates to 0.1 px: a chart
 * shrinks to about a third, which is what keeps a page of hundreds of reports small.
 */
export function compactSvg(svg: string): string {
  const slim = svg
    .replace(/<path class="(?:background|foreground)"[^>]*(?:d="M0,0h0v0h0Z"|display="none")[^>]*\/>/g, '')
    .replace(/ (?:role|aria-roledescription|aria-hidden|aria-label|pointer-events|font-family)="[^"]*"/g, '')
    // The mark type stays (class="mark-symbol"): it is what says marks were drawn.
    .replace(/ class="(mark-[a-z]+)[^"]*"/g, ' class="$1"')
    .replace(/ class="role-[^"]*"/g, '')
    .replace(/ stroke-miterlimit="4"/g, '')
    .replace(/ opacity="1"/g, '')
    .replace(/ transform="translate\(0,0\)"/g, '')
    // Only inside geometry attributes: a label's text ("0.025") is a number to keep as it is.
    .replace(/ (d|transform|x|y|x1|x2|y1|y2|width|height)="([^"]*)"/g, (_m, name: string, value: string) => ` ${name}="${value.replace(/\d+\.\d{2,}/g, (n) => String(Math.round(Number(n) * 10) / 10))}"`)
    .replace(/^<svg ([^>]*?)class="marks" /, '<svg class="bp-svg" role="img" $1');
  return hoistShared(slim).replace(/<g><\/g>/g, '');
}

/** Attributes that inherit in SVG, so a group's children may share them from the group. */
const INHERITED = new Set(['fill', 'stroke', 'stroke-width', 'stroke-opacity', 'fill-opacity', 'stroke-dasharray', 'font-size', 'font-weight', 'text-anchor', 'stroke-linecap', 'stroke-linejoin']);
const LEAF = /<(path|text|line|rect|circle)((?: [a-z0-9-]+="[^"]*")*)(\/>|>[^<]*<\/\1>)/g;
const ATTR = / ([a-z0-9-]+)="([^"]*)"/g;

/**
 * A group of marks repeats the same fill, stroke and font on every child (hundreds of times in a
 * grid or a profile): attributes every child shares move to the group, once.
 */
function hoistShared(svg: string): string {
  return svg.replace(/<g((?: [a-z0-9-]+="[^"]*")*)>((?:<(?:path|text|line|rect|circle)(?: [a-z0-9-]+="[^"]*")*(?:\/>|>[^<]*<\/(?:path|text|line|rect|circle)>)){2,})<\/g>/g, (whole, gAttrs: string, children: string) => {
    const leaves = [...children.matchAll(LEAF)].map((m) => ({ tag: m[1], attrs: new Map([...m[2].matchAll(ATTR)].map((a) => [a[1], a[2]] as [string, string])), end: m[3] }));
    const own = new Set([...gAttrs.matchAll(ATTR)].map((a) => a[1]));
    const shared = [...leaves[0].attrs].filter(([k, v]) => INHERITED.has(k) && !own.has(k) && leaves.every((l) => l.attrs.get(k) === v));
    if (shared.length === 0) return whole;
    for (const l of leaves) for (const [k] of shared) l.attrs.delete(k);
    const body = leaves.map((l) => `<${l.tag}${[...l.attrs].map(([k, v]) => ` ${k}="${v}"`).join('')}${l.end}`).join('');
    return `<g${gAttrs}${shared.map(([k, v]) => ` ${k}="${v}"`).join('')}>${body}</g>`;
  });
}
