/**
 * The page's only style sheet, inline: system fonts (nothing fetched), light and dark through
 * prefers-color-scheme, and print. Charts draw text and axes in currentColor, so they follow.
 */
export const CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --muted: #5b6470; --line: #d0d7de; --panel: #f6f8fa; --pass: #1a7f37; --fail: #cf222e; --info: #6e7781; --on-status: #fff; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9da7b3; --line: #30363d; --panel: #161b22; --pass: #3fb950; --fail: #ff7b72; --info: #8b949e; --on-status: #0d1117; }
}
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 1.5rem; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 0; }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
a { color: inherit; }
.bp-meta, .bp-muted { color: var(--muted); }
table { border-collapse: collapse; margin: .3rem 0 .8rem; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: .2rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td:empty::after { content: "-"; color: var(--muted); }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
/* A rows table names its numeric columns once (class="n2 n5": the 2nd and 5th), not every cell. */
${Array.from({ length: 12 }, (_v, i) => `table.n${i + 1} td:nth-child(${i + 1})`).join(', ')} { text-align: right; font-variant-numeric: tabular-nums; }
/*
 * A long name (an output, a node, a path) must not widen its section: the section clips it
 * (content-visibility contains its paint), so what lay past it could be neither seen nor scrolled
 * to. In text it breaks anywhere; a table too wide scrolls on its own (its words kept whole).
 */
body { overflow-wrap: anywhere; }
table { display: block; max-width: 100%; overflow-x: auto; overflow-wrap: normal; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.bp-status { display: inline-block; min-width: 3.4rem; padding: 0 .4rem; border-radius: 3px; font-weight: 600; text-align: center; color: var(--on-status); }
/* --on-status: the badge text, 4.5:1 or more on each badge colour (WCAG AA): white on the light theme's, near-black on the dark theme's bright ones. */
.bp-status.pass { background: var(--pass); }
.bp-status.fail { background: var(--fail); }
.bp-status.info { background: var(--info); }
.bp-report { border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.2rem; margin: 1.2rem 0; break-inside: avoid-page; }
/* Sections off screen are laid out and painted only when scrolled to: a page of hundreds of reports loads in a fraction of the time. */
.bp-report { content-visibility: auto; contain-intrinsic-size: auto 900px; }
.bp-report > header { display: flex; gap: .6rem; align-items: baseline; flex-wrap: wrap; }
.bp-statements { margin: .6rem 0; padding: .5rem .8rem; background: var(--panel); border-radius: 4px; }
.bp-statements p { margin: .15rem 0; }
.bp-problems { border-left: 4px solid var(--fail); padding: .4rem .8rem; background: var(--panel); }
figure.bp-chart { margin: .6rem 0 1rem; color: var(--fg); }
figure.bp-chart figcaption { color: var(--muted); font-size: 12.5px; max-width: 60rem; }
figure.bp-chart .bp-title { font-weight: 600; color: var(--fg); display: block; }
.bp-chart svg { display: block; max-width: 100%; height: auto; color: var(--fg); overflow: visible; }
.bp-chart svg text { fill: currentColor; }
details > summary { cursor: pointer; color: var(--muted); }
@media print {
  :root { --fg: #000; --bg: #fff; --muted: #333; --line: #999; --panel: #f2f2f2; }
  body { max-width: none; padding: 0; font-size: 11px; }
  .bp-report { border: none; padding: 0; break-before: page; content-visibility: visible; contain-intrinsic-size: none; }
  .bp-report:first-of-type { break-before: auto; }
  figure.bp-chart { break-inside: avoid; }
  /* Paper does not scroll: a table too wide breaks its long names instead. */
  table { display: table; overflow-wrap: anywhere; }
  .bp-status { color: #000; border: 1px solid #000; background: none !important; }
  details { display: block; }
  details > summary { display: none; }
  a { text-decoration: none; }
}
`;
