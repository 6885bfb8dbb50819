import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import type { BrowserContext, Page } from 'playwright-core';
import { buildModel } from '../helpers/models';

// The report pages in a real browser: Debian's headless Chromium through playwright-core, each
// page opened from file:// as a CI artifact is. The examples' page (every chart kind, from
// real runs of the bundled models) and a page batchproof/reporter wrote from real matcher runs.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { launchChromium, missingChromium } = require('../../scripts/chromium.js');
const root = path.join(__dirname, '..', '..');

/** A page from scripts/example-pages.js, in a process of its own (the charting library is ES modules, which Jest's sandbox cannot import). */
function makePage(args: string[]): void {
  execFileSync(process.execPath, [path.join(root, 'scripts', 'example-pages.js'), ...args], { cwd: root, stdio: 'pipe', timeout: 170_000 });
}

// The browser's globals, used in the functions page.evaluate runs there (this project's types are Node's).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any, window: any, location: any, innerHeight: number, SVGElement: any;
declare function getComputedStyle(element: any): any;
type Element = any;
const MARKS = 'g.mark-symbol > path, g.mark-line > path, g.mark-rect > path, g.mark-area > path, g.mark-arc > path, g.mark-trail > path';

interface Opened {
  page: Page;
  problems: string[];
}

describe('the report pages in headless Chromium', () => {
  let browser: { context: BrowserContext; close(): Promise<void> };
  let dir: string;
  let examples: string;
  let reporterPage: string;
  let longNames: string;

  beforeAll(async () => {
    // No browser is a failure with the cure, never a silent pass.
    const missing = missingChromium();
    if (missing) throw new Error(missing);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-browser-'));
    examples = path.join(dir, 'examples.html');
    makePage([examples]);
    reporterPage = path.join(dir, 'reporter.html');
    makePage(['--reporter', reporterPage]);
    // A check of a model whose output and file have long names (a path-like node name, as exporters write them).
    const long = `/encoder/${'layer.11/attention/output/'.repeat(12)}LayerNorm_output_0`;
    const model = path.join(dir, `${'a_model_with_a_long_file_name_'.repeat(8)}.onnx`);
    fs.writeFileSync(model, buildModel({ inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 8] }], outputs: [{ name: long, dtype: 'float32', shape: ['N', 8] }, { name: 'y', dtype: 'float32', shape: ['N', 8] }], nodes: [{ op: 'Relu', inputs: ['x'], outputs: [long] }, { op: 'Neg', inputs: ['x'], outputs: ['y'] }] }));
    longNames = path.join(dir, 'long.html');
    execFileSync(process.execPath, [path.join(root, 'dist', 'src', 'cli', 'bin.js'), 'check', model, '--batch-sizes', '1,2', '--html', longNames], { stdio: 'pipe', timeout: 120_000, env: { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') } });
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Opens a page from file://, recording console errors, page errors and any request that leaves the file. */
  async function open(file: string, media: { colorScheme?: 'light' | 'dark'; media?: 'screen' | 'print' } = {}): Promise<Opened> {
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) problems.push(`fetched: ${r.url()}`);
    });
    await page.emulateMedia({ colorScheme: media.colorScheme ?? 'light', media: media.media ?? 'screen' });
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    return { page, problems };
  }

  /**
   * Each chart's kind, whether it holds an svg with a box, its drawn data marks, and its flat
   * marks: a bar, point or area with no width or no height (a line may be flat; nothing else).
   */
  function charts(page: Page) {
    return page.evaluate((marks) => {
      return [...document.querySelectorAll('figure.bp-chart')].map((f: any) => {
        const svg = f.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        const all = svg ? [...svg.querySelectorAll(marks)].filter((m: any) => (m.getAttribute('d') ?? '') !== '') : [];
        const drawn = all.filter((m: any) => {
          const b = m.getBBox();
          return b.width > 0 || b.height > 0;
        }).length;
        const flat = all.filter((m: any) => {
          const b = m.getBBox();
          return !m.parentElement.matches('g.mark-line') && !(b.width > 0 && b.height > 0);
        }).length;
        return { kind: f.dataset.chart ?? '', svg: !!svg && !!box && box.width > 0 && box.height > 0, drawn, flat };
      });
    }, MARKS);
  }

  /**
   * Text that cannot be read: an element whose computed colour equals the background it sits on
   * (the nearest painted background above it; SVG text by its fill). Returns what failed.
   */
  function unreadable(page: Page) {
    return page.evaluate(() => {
      const rgba = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
      const painted = (c: string) => c !== '' && c !== 'transparent' && !(rgba(c).length === 4 && rgba(c)[3] === 0);
      const background = (el: Element): string => {
        for (let e: any = el; e; e = e.parentElement) {
          const bg = getComputedStyle(e).backgroundColor;
          if (painted(bg)) return bg;
        }
        return 'rgb(255, 255, 255)'; // the canvas default
      };
      const luminance = (c: string) => {
        const [r, g, b] = rgba(c).map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const contrast = (a: string, b: string) => {
        const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
        return (x + 0.05) / (y + 0.05);
      };
      const bad: string[] = [];
      const seen = new Set<string>();
      const texts: any[] = [...document.querySelectorAll('h1, h2, h3, p, td, th, li, a, figcaption, summary, dt, dd, code, svg text')];
      for (const el of texts) {
        if (!(el.textContent ?? '').trim()) continue;
        const style = getComputedStyle(el);
        if (style.display === 'none' || style.visibility === 'hidden') continue;
        const color = el instanceof SVGElement ? style.fill : style.color;
        const bg = background(el);
        // 1.5: far below any legible pairing; equal colours score 1.
        if (!painted(color) || contrast(color, bg) < 1.5) {
          const key = `${el.tagName} ${color} on ${bg}`;
          if (!seen.has(key)) bad.push(`${key}: ${(el.textContent ?? '').trim().slice(0, 40)}`);
          seen.add(key);
        }
      }
      // The pass/FAIL badges: their text against their own colour, at WCAG AA's 4.5:1.
      const badges = [...document.querySelectorAll('.bp-status')].map((el: any) => ({ badge: el.className, contrast: Math.round(contrast(getComputedStyle(el).color, background(el)) * 100) / 100 }));
      const weak = [...new Map(badges.filter((b) => b.contrast < 4.5).map((b) => [b.badge, b])).values()];
      return { checked: texts.length, bad, badges: badges.length, weak, body: getComputedStyle(document.body).backgroundColor };
    });
  }

  test('the examples page: no error, nothing fetched, every chart kind drawn', async () => {
    const { page, problems } = await open(examples);
    const found = await charts(page);
    // check (drift, classes, padding), locate, compare, stats, diff.
    const kinds = ['drift', 'classes', 'padding', 'profile', 'errors', 'stats', 'rows', 'cosine'];
    for (const kind of kinds) expect(found.filter((c) => c.kind === kind).length).toBeGreaterThan(0);
    const empty = found.filter((c) => !c.svg || c.drawn === 0);
    expect(empty).toEqual([]);
    // Every bar and point has an area: a bar from 0 on a log axis has no width.
    expect(found.filter((c) => c.flat > 0)).toEqual([]);
    expect(problems).toEqual([]);
    // Negative control for the mark count: a chart whose marks are removed reads as empty.
    await page.evaluate((marks) => document.querySelectorAll('figure.bp-chart[data-chart="drift"]')[0].querySelectorAll(marks).forEach((m: any) => m.remove()), MARKS);
    expect((await charts(page)).filter((c) => c.drawn === 0).map((c) => c.kind)).toEqual(['drift']);
    // And for the flat check: the padding chart's bars squashed to no width read as flat.
    await page.evaluate(() => document.querySelectorAll('figure.bp-chart[data-chart="padding"] g.mark-rect > path').forEach((m: any) => m.setAttribute('d', m.getAttribute('d').replace(/h-?[\d.]+/g, 'h0'))));
    expect((await charts(page)).filter((c) => c.flat > 0).map((c) => c.kind)).toEqual(['padding']);
    await page.close();
  }, 60_000);

  test('the reporter page: the failed test links to its charts; the link lands on them', async () => {
    const { page, problems } = await open(reporterPage);
    const found = await charts(page);
    expect(found.some((c) => c.kind === 'drift')).toBe(true);
    expect(found.some((c) => c.kind === 'profile')).toBe(true);
    expect(found.filter((c) => !c.svg || c.drawn === 0)).toEqual([]);
    // Every in-page link resolves to an element on the page.
    const targets = await page.evaluate(() => [...document.querySelectorAll('a[href^="#"]')].map((a: any) => a.getAttribute('href').slice(1)).filter((id: string) => !document.getElementById(id)));
    expect(targets).toEqual([]);
    const summary = await page.evaluate(() => document.body.innerText);
    expect(summary).toMatch(/leaks between samples/);
    expect(summary).toMatch(/is deterministic/);
    // The failed test's row says so; the passed one's does not (negative control).
    const row = page.locator('tr', { hasText: 'the training-mode CNN leaks between samples' }).first();
    expect(await row.innerText()).toMatch(/fail/i);
    expect(await page.locator('tr', { hasText: 'the eval-mode CNN is deterministic' }).first().innerText()).not.toMatch(/fail/i);
    // The link in the failed test's row: clicking it brings its report into view.
    const link = row.locator('a[href^="#report-"]').first();
    const href = (await link.getAttribute('href'))!;
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await link.click();
    const landed = await page.evaluate((id) => {
      const el = document.getElementById(id);
      if (!el) return null;
      const r = el.getBoundingClientRect();
      return { hash: location.hash, top: r.top, height: r.height, inView: r.top < innerHeight && r.bottom > 0, text: el.innerText.slice(0, 2000) };
    }, href.slice(1));
    expect(landed).not.toBeNull();
    expect(landed!.hash).toBe(href);
    expect(landed!.inView).toBe(true);
    expect(landed!.height).toBeGreaterThan(0);
    expect(landed!.text).toMatch(/violated/);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  test.each([
    ['dark mode', { colorScheme: 'dark' as const }],
    ['print', { media: 'print' as const }],
    ['light mode', {}],
  ])('text stays readable in %s', async (_name, media) => {
    for (const file of [examples, reporterPage]) {
      const { page, problems } = await open(file, media);
      const result = await unreadable(page);
      expect(result.checked).toBeGreaterThan(20);
      expect(result.bad).toEqual([]);
      expect(result.badges).toBeGreaterThan(0);
      expect(result.weak).toEqual([]);
      expect(problems).toEqual([]);
      await page.close();
    }
  }, 60_000);

  test('no two labels of a chart are drawn over each other (an axis of one point puts its ticks together)', async () => {
    const { page } = await open(examples);
    const clashes = await page.evaluate(() => [...document.querySelectorAll('figure.bp-chart')].flatMap((f: any) => {
      // A label vega hid (opacity 0: it would overlap its neighbour) is not drawn.
      const labels = [...f.querySelectorAll('svg text')].filter((t: any) => getComputedStyle(t).opacity !== '0').map((t: any) => ({ text: t.textContent, box: t.getBoundingClientRect() }));
      const out: string[] = [];
      labels.forEach((a: any, i: number) => labels.slice(i + 1).forEach((b: any) => {
        const overlap = Math.min(a.box.right, b.box.right) - Math.max(a.box.left, b.box.left) > 1 && Math.min(a.box.bottom, b.box.bottom) - Math.max(a.box.top, b.box.top) > 1;
        if (overlap && a.text !== b.text) out.push(`${f.dataset.chart}: ${a.text} over ${b.text}`);
      }));
      return out;
    }));
    expect(clashes).toEqual([]);
    // The case this is about is on the page: a drift chart of an output bitwise equal at every size.
    expect(await page.locator('figure.bp-chart[data-chart="drift"] figcaption', { hasText: 'Bitwise equal at every size' }).count()).toBeGreaterThan(0);
    await page.close();
  }, 60_000);

  test('each chart (an svg of role img) is named by its own figure\'s caption', async () => {
    const { page } = await open(examples);
    const named = await page.evaluate(() => [...document.querySelectorAll('figure.bp-chart')].map((f: any) => {
      const svg = f.querySelector('svg');
      const label = document.getElementById(svg.getAttribute('aria-labelledby') ?? '');
      return { role: svg.getAttribute('role'), own: !!label && label.tagName === 'FIGCAPTION' && label.parentElement === f, text: (label?.textContent ?? '').length > 20 };
    }));
    expect(named.length).toBeGreaterThan(8);
    expect(named.filter((n: any) => !(n.role === 'img' && n.own && n.text))).toEqual([]);
    // As the accessibility tree names it: the caption's title and sentences.
    expect(await page.getByRole('img', { name: /^Drift per batch size against the reference: .*(fails|Bitwise equal)/ }).count()).toBeGreaterThan(0);
    await page.close();
  }, 60_000);

  test('long names never widen a section past its edge, which clips them: text wraps, a wide table scrolls to its last column', async () => {
    const { page, problems } = await open(longNames);
    /** What sticks out of its section (clipped by its content-visibility) and whether each wide table scrolls to its last column. */
    const layout = () => page.evaluate(() => {
      const out: string[] = [];
      for (const section of [...document.querySelectorAll('section')]) {
        const edge = section.getBoundingClientRect().right + 1;
        for (const el of [...section.querySelectorAll('*')]) {
          // Inside a table that scrolls, cells lie past its edge until scrolled to.
          if (el.closest('table') && el.tagName !== 'TABLE') continue;
          if (el.closest('svg') && el.tagName !== 'svg') continue;
          if (el.getBoundingClientRect().right > edge) out.push(`${el.tagName} ${(el.textContent ?? '').slice(0, 40)}`);
        }
      }
      const wide = [...document.querySelectorAll('table')].filter((t: any) => t.scrollWidth > t.clientWidth + 1);
      const unreachable = wide.filter((t: any) => {
        t.scrollLeft = t.scrollWidth;
        const cells = t.querySelectorAll('tr:first-child > *');
        const last = cells[cells.length - 1].getBoundingClientRect();
        const box = t.getBoundingClientRect();
        t.scrollLeft = 0;
        return last.right > box.right + 1;
      });
      return { out, wide: wide.length, unreachable: unreachable.length };
    });
    const text = await page.evaluate(() => document.body.innerText);
    expect(text).toContain('LayerNorm_output_0');
    const screen = await layout();
    expect(screen.out).toEqual([]);
    expect(screen.wide).toBeGreaterThan(0);
    expect(screen.unreachable).toBe(0);
    // Print: nothing scrolls on paper, so nothing sticks out and no table is wider than its page.
    await page.emulateMedia({ media: 'print' });
    expect(await layout()).toEqual({ out: [], wide: 0, unreachable: 0 });
    // Negative control: tables laid out as they were, the wide ones stick out of the section.
    await page.emulateMedia({ media: 'screen' });
    await page.addStyleTag({ content: 'body { overflow-wrap: normal; } table { display: table; }' });
    expect((await layout()).out.some((o) => o.startsWith('TABLE'))).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  test('negative control: the readability check catches text painted in its background colour', async () => {
    const { page } = await open(examples, { colorScheme: 'dark' });
    await page.addStyleTag({ content: 'td { color: rgb(1, 2, 3) !important; background: rgb(1, 2, 3) !important; }' });
    expect((await unreadable(page)).bad.some((b) => b.startsWith('TD '))).toBe(true);
    await page.close();
  }, 60_000);
});
