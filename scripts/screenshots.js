#!/usr/bin/env node
// Regenerates the PNG screenshots of the report pages in examples/ (the README shows one):
//
//   npm run -s build && node scripts/screenshots.js
//
// The pages come from real runs of the bundled models (scripts/example-pages.js); Debian's
// headless Chromium draws them (scripts/chromium.js).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { launchChromium } = require('./chromium');

const root = path.join(__dirname, '..');
const out = path.join(root, 'examples');
// Taller sections are cut here: a screenshot is a glance, the page has the rest.
const MAX_HEIGHT = 1300;

(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-shots-'));
  const gallery = path.join(dir, 'examples.html');
  const jest = path.join(dir, 'reporter.html');
  const make = (...args) => execFileSync(process.execPath, [path.join(__dirname, 'example-pages.js'), ...args], { cwd: root, stdio: 'inherit' });
  make(gallery);
  make('--reporter', jest);
  const browser = await launchChromium();
  try {
    const shots = [];
    const page = await browser.context.newPage();
    await page.emulateMedia({ colorScheme: 'light' });

    // The Jest reporter's page: the run's tests, the failure linked to its charts.
    await page.goto(`file://${jest}`);
    shots.push(await shoot(page, 'report-jest.png', null));

    // The examples' page, one screenshot per kind of report, the first of each kind.
    await page.goto(`file://${gallery}`);
    const kinds = { 'report-check.png': 'drift', 'report-locate.png': 'profile', 'report-compare.png': 'errors', 'report-stats.png': 'stats', 'report-diff.png': 'cosine' };
    for (const [name, chart] of Object.entries(kinds)) {
      const id = await page.evaluate((c) => {
        const figure = document.querySelector(`figure.bp-chart[data-chart="${c}"]`);
        const section = figure && figure.closest('[id^="report-"]');
        return section ? section.id : null;
      }, chart);
      if (!id) throw new Error(`the examples' page has no ${chart} chart`);
      shots.push(await shoot(page, name, `#${id}`));
    }
    for (const s of shots) console.log(`${path.relative(process.cwd(), s.file)}: ${s.width}x${s.height}, ${(s.bytes / 1024).toFixed(0)} KiB`);
  } finally {
    await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(`screenshots: ${e && e.message ? e.message.split('\n')[0] : e}`);
  process.exitCode = 1;
});

/** A PNG of one element (or the top of the page), at most MAX_HEIGHT pixels tall. */
async function shoot(page, name, selector) {
  const file = path.join(out, name);
  let clip;
  if (selector) {
    const el = page.locator(selector);
    await el.scrollIntoViewIfNeeded();
    const box = await page.evaluate((sel) => {
      const r = document.querySelector(sel).getBoundingClientRect();
      return { x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height };
    }, selector);
    const pad = 8;
    clip = { x: Math.max(0, box.x - pad), y: Math.max(0, box.y - pad), width: box.width + 2 * pad, height: Math.min(box.height + 2 * pad, MAX_HEIGHT) };
  } else {
    const width = page.viewportSize().width;
    const height = Math.min(MAX_HEIGHT, await page.evaluate(() => document.documentElement.scrollHeight));
    clip = { x: 0, y: 0, width, height };
  }
  await page.screenshot({ path: file, clip, fullPage: true });
  return { file, width: Math.round(clip.width), height: Math.round(clip.height), bytes: fs.statSync(file).size };
}
