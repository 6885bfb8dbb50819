#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.js in its own process (after `npm run build`), each
// printing one markdown section, and writes them all to bench/RESULTS.md with the machine's
// fingerprint. Ratios in a section are always measured side by side in that one run.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { fingerprintFor, describeFingerprint } = require('../dist/src');

// onnxruntime's telemetry (1.29+, on by default outside CI) off in every process the benches
// start, raw loops included, as the CLI turns it off in its own: ratios compare like with like.
process.env.ORT_DISABLE_TELEMETRY ??= '1';
// Node 20 reads and parses the certificates NODE_EXTRA_CA_CERTS names as every process starts,
// before any code runs (35 ms a process on a VM whose sandbox sets it, a 28 ms start becoming
// 63): no bench process makes a TLS connection, and the same cost on both sides of a ratio would
// hide what batchproof itself adds. Unset for every process the benches start.
delete process.env.NODE_EXTRA_CA_CERTS;

const only = process.argv.slice(2);
const benches = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
const sections = [];
for (const file of benches) {
  process.stderr.write(`bench: ${file}\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, file)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  sections.push(r.status === 0 ? r.stdout.trim() : `## ${file}\n\nFAILED (exit ${r.status}):\n\n\`\`\`\n${r.stdout}\n\`\`\``);
}
const today = new Date().toISOString().slice(0, 10);
const machine = describeFingerprint(fingerprintFor({}));
// Each section names the machine and day it ran on: a partial run (npm run bench -- check)
// replaces only its own sections, so one file can hold runs from more than one machine.
const stamp = (section, on, day) => (/\nRan on: /.test(section) ? section : section.replace(/^(## [^\n]*\n)/, `$1\nRan on: ${on}, ${day}.\n`));
const header = [
  '# Benchmarks',
  '',
  `Written by \`npm run bench\` on ${today}; each section names the machine and day it ran on.`,
  'Each ratio is measured side by side in the same run, on that machine; re-run to compare.',
  "Every process a bench starts runs with onnxruntime's telemetry off (`ORT_DISABLE_TELEMETRY=1`, as the CLI runs) and without `NODE_EXTRA_CA_CERTS` (Node parses those certificates as it starts: tens of ms on both sides of every ratio, for no TLS connection).",
  '',
].join('\n');
const fresh = sections.map((s) => stamp(s, machine, today));
const out = path.join(__dirname, 'RESULTS.md');
if (only.length > 0 && fs.existsSync(out)) {
  // A partial run replaces only its own sections, where they were; a new one goes at the end.
  const text = fs.readFileSync(out, 'utf8');
  // Sections from before this stamping ran on the machine the old header named.
  const oldMachine = /\nMachine: (.*)\.\n/.exec(text)?.[1] ?? 'a machine not recorded';
  const oldDay = /Written by `npm run bench` on (\d{4}-\d{2}-\d{2})/.exec(text)?.[1] ?? 'a day not recorded';
  const old = text.split(/\n(?=## )/).slice(1).map((s) => stamp(s.trim(), oldMachine, oldDay));
  const title = (s) => s.split('\n')[0];
  const byTitle = new Map(fresh.map((s) => [title(s), s]));
  const merged = old.map((s) => byTitle.get(title(s)) ?? s);
  for (const s of fresh) if (!old.some((o) => title(o) === title(s))) merged.push(s);
  fs.writeFileSync(out, `${header}\n${merged.map((s) => s.trim()).join('\n\n')}\n`);
} else {
  fs.writeFileSync(out, `${header}\n${fresh.join('\n\n')}\n`);
}
process.stderr.write(`wrote ${path.relative(process.cwd(), out)}\n`);
